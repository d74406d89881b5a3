"""Dashboards, Prometheus rules and the status board against a running Efir.

One Efir (``efir run``, SQLite, a private Mosquitto configured as
docs/daemon.md asks: queues unbounded, since Efir acknowledges only after
commit and the default 1000-message queue drops a catch-up burst) is fed by ``efir
simulate`` (a week of history, then live at 60x) and scraped every second by a
real Prometheus (Debian package) that also loads ``deploy/prometheus``'s rules.

- Every query of every dashboard panel and variable is evaluated through
  Prometheus's HTTP API: each returns data, with the labels its legend names.
- Headless Chromium (Debian's, driven by chromedriver through Selenium) opens
  the status board, checks the tiles, sees a published event appear without a
  reload, and saves screenshots at desktop and phone sizes to
  ``artifacts/board/`` (or ``$EFIR_TEST_ARTIFACTS/board/``).

Prometheus and Chromium are installed by ``./scripts/test``; missing, they fail.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.dashboards import ROOT, Target, targets, variable_queries
from tests.integration.live import Daemon, payloads, publish
from tests.receiver import Receiver
from tests.services import Mosquitto, free_port, unique_prefix

pytestmark = pytest.mark.integration

ALMATY = ZoneInfo("Asia/Almaty")
SIMULATED = ("qaz-tv", "qaz-radio")
QUIET = "board-tv"  # configured, never simulated: the browser test feeds it by hand
RATE_INTERVAL = "30s"
ARTIFACTS = Path(os.environ.get("EFIR_TEST_ARTIFACTS", ROOT / "artifacts")) / "board"


def tool(name: str, package: str) -> str:
    found = shutil.which(name) or (
        f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None
    )
    if found is None:
        pytest.fail(f"{name} is missing: apt-get install {package} (./scripts/test does)")
    return found


@dataclass
class Stack:
    efir: str
    prometheus: str
    prefix: str
    log: Path
    mqtt_url: str
    simulate_log: Path


def wait_http(url: str, timeout: float, ok: Any = lambda r: r.status_code == 200) -> httpx.Response:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url, timeout=2)
            if ok(r):
                return r
            last = r.text[:300]
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.2)
    msg = f"{url} not ready after {timeout} s: {last}"
    raise AssertionError(msg)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus_bin = tool("prometheus", "prometheus")
    tmp = tmp_path_factory.mktemp("observability")
    broker = Mosquitto(free_port(), tmp)
    broker.start()
    mqtt_url = broker.url
    prefix = unique_prefix()
    receiver = Receiver()
    config = tmp / "efir.yaml"
    config.write_text(
        "channels:\n"
        "  - {id: qaz-tv, name: Qazaq TV, media: tv}\n"
        "  - {id: qaz-radio, name: Qazaq Radio, media: radio}\n"
        f"  - {{id: {QUIET}, name: Board TV, media: tv}}\n"
        "alerts:\n"
        f"  receivers:\n    - {{name: desk, type: webhook, url: '{receiver.url}'}}\n"
    )
    port = free_port()
    env = {
        **os.environ,
        "EFIR_CONFIG": str(config),
        "EFIR_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'efir.db'}",
        "EFIR_MQTT_URL": mqtt_url,
        "EFIR_MQTT__TOPIC_PREFIX": prefix,
        "EFIR_MQTT__CLIENT_ID": f"efir-{prefix}",
        "EFIR_HTTP_PORT": str(port),
        "EFIR_DATA_DIR": str(tmp / "data"),
        "EFIR_TICK_S": "0.5",
    }
    log = tmp / "efir.log"
    daemon = Daemon(env, log)
    daemon.start()
    efir = f"http://127.0.0.1:{port}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        wait_http(f"{efir}/readyz", 60)
        # A week of history so the per-interval panels have their bars, then live at 60x
        # so counters move between scrapes.
        since = (datetime.now(ALMATY) - timedelta(days=6)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        with (tmp / "simulate.log").open("ab") as out:
            processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "efir",
                        "simulate",
                        "--mqtt-url",
                        mqtt_url,
                        "--since",
                        since.isoformat(),
                        "--speed",
                        "60",
                    ],
                    env=env,
                    stdout=out,
                    stderr=out,
                )
            )
        prom_port = free_port()
        (tmp / "prometheus.yml").write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            f"rule_files: ['{ROOT / 'deploy' / 'prometheus' / 'efir-rules.yml'}']\n"
            "scrape_configs:\n"
            "  - job_name: efir\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        )
        with (tmp / "prometheus.log").open("ab") as out:
            processes.append(
                subprocess.Popen(
                    [
                        prometheus_bin,
                        f"--config.file={tmp / 'prometheus.yml'}",
                        f"--storage.tsdb.path={tmp / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{prom_port}",
                    ],
                    stdout=out,
                    stderr=out,
                )
            )
        prometheus = f"http://127.0.0.1:{prom_port}"
        wait_http(f"{prometheus}/-/ready", 60)
        yield Stack(efir, prometheus, prefix, log, mqtt_url, tmp / "simulate.log")
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        daemon.stop()
        receiver.close()
        broker.stop()


# ----------------------------------------------------------------- Prometheus
def prom(stack: Stack, path: str, **params: str) -> Any:
    r = httpx.get(f"{stack.prometheus}/api/v1/{path}", params=params, timeout=10)
    body = r.json()
    assert body["status"] == "success", body
    return body["data"]


def instant(stack: Stack, expr: str) -> list[dict[str, Any]]:
    return list(prom(stack, "query", query=expr)["result"])


@pytest.fixture(scope="module")
def scraped(stack: Stack) -> Stack:
    """Until Prometheus holds 40 s of scrapes of a caught-up Efir with events flowing."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        samples = instant(stack, 'count_over_time(up{job="efir"}[1m])')
        channels = {s["metric"]["channel"] for s in instant(stack, "efir_window_share")}
        flowing = instant(stack, f"sum(rate(efir_events_ingested_total[{RATE_INTERVAL}])) > 0")
        if (
            samples
            and float(samples[0]["value"][1]) >= 40
            and channels >= set(SIMULATED)
            and flowing
        ):
            return stack
        time.sleep(1)
    pytest.fail(f"Prometheus never saw a caught-up Efir; see {stack.log}")


def values(stack: Stack, target: Target, expr: str) -> list[tuple[dict[str, str], list[float]]]:
    if target.instant:
        result = prom(stack, "query", query=expr)["result"]
        return [(s["metric"], [float(s["value"][1])]) for s in result]
    end = time.time()
    result = prom(stack, "query_range", query=expr, start=str(end - 60), end=str(end), step="5")[
        "result"
    ]
    return [(s["metric"], [float(v) for _, v in s["values"]]) for s in result]


def cases() -> list[tuple[Target, dict[str, str]]]:
    out = []
    for t in targets():
        if t.dashboard == "efir-channel":
            out += [(t, {"channel": c, "rule": ".*"}) for c in SIMULATED]
        else:
            out.append((t, {"channel": ".*", "rule": ".*"}))
    return out


def _no_deadline_due(stack: Stack, target: Target, expr: str, variables: dict[str, str]) -> bool:
    """A deadline panel may be blank: no share rule had a live deadline at the time.

    A deadline exists only while a share-minimum window is ``on_track``,
    ``at_risk`` or ``critical``; near a window's end the simulated feed may
    have ``secured`` it (or made it ``unavoidable``), depending on the hour.
    """
    if "efir_rule_deadline_timestamp_seconds" not in expr:
        return False
    rule = 'rule="lang_6h"' if 'rule="lang_6h"' in expr else f'rule=~"{variables["rule"]}"'
    due = (
        f'efir_rule_status{{channel=~"{variables["channel"]}", {rule}, '
        'status=~"on_track|at_risk|critical"} == 1 '
        "and on(channel, rule) efir_rule_needed_seconds"
    )
    return not values(stack, target, due)


def test_every_panel_query_returns_data_with_its_labels(scraped: Stack) -> None:
    blank = []
    checked = 0
    for target, variables in cases():
        expr = target.substitute(variables, RATE_INTERVAL)
        series = values(scraped, target, expr)
        where = f"{target.dashboard} / {target.panel} [{variables['channel']}]: {expr}"
        finite = [v for _, vs in series for v in vs if math.isfinite(v)]
        if not finite and not _no_deadline_due(scraped, target, expr, variables):
            blank.append(where)
            continue
        if not finite:
            continue
        for labels, _ in series:
            missing = target.labels() - set(labels)
            assert not missing, f"{where}: series {labels} lacks {missing} for its legend"
            if target.panel_type == "table":
                assert {"channel", "rule"} <= set(labels), f"{where}: table rows need both"
        checked += 1
    assert not blank, "panels with no data on a working install:\n" + "\n".join(blank)
    assert checked >= 40


def test_no_event_of_the_catch_up_is_lost(scraped: Stack) -> None:
    """Every event the simulator published while catching up was committed."""
    deadline = time.monotonic() + 120
    while "simulator caught up" not in scraped.simulate_log.read_text():
        assert time.monotonic() < deadline, "the simulator never caught up"
        time.sleep(0.5)
    line = next(
        x for x in scraped.simulate_log.read_text().splitlines() if "simulator caught up" in x
    )
    # Committed by the time Prometheus scrapes again.
    time.sleep(3)
    published = int(line.split("caught up: ")[1].split()[0])
    counted = sum(float(s["value"][1]) for s in instant(scraped, "efir_events_ingested_total"))
    assert counted >= published, (counted, published)


def test_template_variables_list_the_channels_and_rules(scraped: Stack) -> None:
    for uid, name, query in variable_queries():
        inner = query.removeprefix("label_values(").removesuffix(")")
        metric, label = (p.strip() for p in inner.rsplit(",", 1))
        metric = metric.replace("$channel", ".*")
        found = prom(scraped, f"label/{label}/values", **{"match[]": metric})
        if name == "channel":
            assert set(SIMULATED) <= set(found), (uid, found)
        else:
            assert {"lang_6h", "lang_week", "ads_evening_hour"} <= set(found), (uid, found)


def test_the_fleet_table_shows_a_status_for_every_rule(scraped: Stack) -> None:
    ranks = instant(scraped, "efir_rule_status_rank")
    by_channel: dict[str, set[str]] = {}
    for s in ranks:
        by_channel.setdefault(s["metric"]["channel"], set()).add(s["metric"]["rule"])
        assert 0 <= float(s["value"][1]) <= 9
    assert set(SIMULATED) <= set(by_channel)
    assert "domestic_tv_week" in by_channel["qaz-tv"]
    assert "domestic_radio_week" in by_channel["qaz-radio"]
    # The 2027 step is visible beside the threshold in force.
    step = instant(scraped, 'efir_rule_next_threshold{rule="lang_6h"}')
    assert {float(s["value"][1]) for s in step} == {0.6}


def test_health_rules_load_and_stay_quiet_on_a_working_install(scraped: Stack) -> None:
    groups = prom(scraped, "rules")["groups"]
    (group,) = [g for g in groups if g["name"] == "efir-health"]
    assert len(group["rules"]) == 14
    assert all(r["health"] == "ok" for r in group["rules"]), group["rules"]
    firing = [a for a in prom(scraped, "alerts")["alerts"] if a["state"] == "firing"]
    assert not firing, firing


# --------------------------------------------------------------------- browser
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver  # noqa: PLC0415 - only this test needs a browser
    from selenium.webdriver.chrome.service import Service as ChromeService  # noqa: PLC0415

    options = webdriver.ChromeOptions()
    options.binary_location = tool("chromium", "chromium")
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--lang=en-US",
        "--window-size=1600,1000",
    ):
        options.add_argument(arg)
    service = ChromeService(executable_path=tool("chromedriver", "chromium-driver"))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: Any, condition: Any, timeout: float = 30) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    wait = WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition)


#: One tile read in one script: the page re-renders tiles on every update, so
#: element handles kept across calls would go stale.
READ_TILE = """
const t = document.querySelector(`article.tile[data-channel="${arguments[0]}"]`);
if (!t) return null;
const q = (sel) => { const n = t.querySelector(sel); return n ? n.textContent.trim() : null; };
return {
  status: t.dataset.status, name: q("h2"), title: q(".onair .title"),
  onair_label: q(".onair .label"), share: q(".share-value"), language: q(".language"),
  budget: q(".budget-value"), feed: t.querySelector(".feed").dataset.state,
};
"""


def tile(driver: Any, channel: str) -> dict[str, str]:
    found = driver.execute_script(READ_TILE, channel)
    assert found is not None, f"no tile for {channel}"
    return dict(found)


def screenshot(driver: Any, name: str, width: int, height: int) -> Path:
    driver.set_window_size(width, height)
    time.sleep(0.5)  # let the layout settle after the resize
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    path.unlink(missing_ok=True)
    assert driver.save_screenshot(str(path))
    assert path.stat().st_size > 10_000, path
    return path


def caught_up(board: dict[str, Any]) -> bool:
    recent = datetime.now(ALMATY) - timedelta(hours=1)
    return all(
        t["on_air"] is not None
        and t["on_air"]["kind"] is not None
        and datetime.fromisoformat(t["on_air"]["start"]) >= recent
        and t["language"]["share"] is not None
        for t in board["tiles"]
        if t["channel"] in SIMULATED
    )


def test_status_board_in_a_browser(stack: Stack, browser: Any) -> None:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    driver = browser
    # Wait until the simulator has caught up: what is on air started within the hour
    # (mid catch-up, an item of days ago is still open and figures jump).
    wait_http(f"{stack.efir}/api/v1/board", 180, lambda r: caught_up(r.json()))
    driver.get(f"{stack.efir}/?lang=en")
    wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "article.tile")) == 3)
    wait_for(driver, lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "live")
    for channel in SIMULATED:
        t = tile(driver, channel)
        assert t["status"] not in ("", "none"), t
        assert t["title"], t
        assert t["share"].endswith("%"), t
        assert "threshold 55.0 %" in t["language"], t
        assert t["budget"], t
    assert tile(driver, "qaz-tv")["name"] == "Qazaq TV"
    # The 2027 view: every channel under the thresholds in force from 1 January 2027.
    wait_for(driver, lambda d: d.find_element(By.ID, "whatif").is_displayed())
    view = driver.find_element(By.ID, "whatif").text
    assert "Under the 2027 thresholds, last four weeks" in view, view
    assert "Qazaq TV" in view, view
    quiet = tile(driver, QUIET)
    assert quiet["title"] == "Nothing on air", quiet
    assert quiet["feed"] == "unknown", quiet

    # Live: an item starts on the quiet channel; the open page shows it without a reload.
    marker = driver.execute_script("return window.performance.timeOrigin")
    now = datetime.now(ALMATY).replace(microsecond=0)
    event = {
        "schema": "efir.asrun/1",
        "channel": QUIET,
        "event_id": f"live-{stack.prefix}",
        "phase": "start",
        "start": now.isoformat(),
        "kind": "program",
        "language": "kk",
        "title": "Kesh: live check",
    }
    asyncio.run(publish(stack.mqtt_url, stack.prefix, payloads([event])))
    wait_for(driver, lambda d: tile(d, QUIET)["title"] == "Kesh: live check")
    assert driver.execute_script("return window.performance.timeOrigin") == marker  # no reload
    assert tile(driver, QUIET)["feed"] == "online"

    desktop = screenshot(driver, "board-desktop", 1600, 1000)
    phone = screenshot(driver, "board-phone", 390, 844)
    # One column on a phone, nothing wider than the screen.
    widths = driver.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth,"
        " ...[...document.querySelectorAll('article.tile')].map(t => t.offsetLeft)]"
    )
    assert widths[0] <= widths[1], widths
    assert len(set(widths[2:])) == 1, widths

    # Labels switch language in place.
    driver.find_element(By.CSS_SELECTOR, 'nav.langs button[data-lang="kk"]').click()
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, "h1").text == "Efir мәртебе тақтасы")
    assert tile(driver, QUIET)["onair_label"] == "Эфирде"
    kazakh = screenshot(driver, "board-phone-kk", 390, 844)
    driver.find_element(By.CSS_SELECTOR, 'nav.langs button[data-lang="ru"]').click()
    wait_for(driver, lambda d: d.find_element(By.CSS_SELECTOR, "h1").text == "Efir: табло статусов")
    assert tile(driver, QUIET)["onair_label"] == "В эфире"
    driver.find_element(By.CSS_SELECTOR, 'nav.langs button[data-lang="en"]').click()
    (ARTIFACTS / "board.json").write_text(
        json.dumps(httpx.get(f"{stack.efir}/api/v1/board", timeout=5).json(), indent=2)
    )
    for path in (desktop, phone, kazakh):
        assert path.exists()
