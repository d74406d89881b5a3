"""A day of events through real Mosquitto into PostgreSQL (and SQLite): live == audit.

Duplicates, out-of-order arrival, a restart that must show the same status to
the second, and a late correction that changes a closed window's verdict and
says so (revision, revised_from, metric).
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from efir.core.timebase import to_us
from efir.sim.feed import FeedSpec, generate
from tests.integration.live import api, audit_day, payloads, publish, running, settings_for, until
from tests.services import (
    MQTT_HOST,
    MQTT_PORT,
    require_port,
    unique_prefix,
)

pytestmark = pytest.mark.integration

ALMATY = ZoneInfo("Asia/Almaty")
DAY = datetime(2026, 11, 16, tzinfo=ALMATY)  # a Monday
NEXT = datetime(2026, 11, 17, tzinfo=ALMATY)
NOW = to_us(datetime(2026, 11, 17, 2, 0, tzinfo=ALMATY))
FIGURES = ("numerator_s", "base_s", "unknown_s", "gap_s", "share", "threshold", "verdict", "count")


def _day() -> list[dict[str, object]]:
    return list(generate(FeedSpec("qaz-tv", phases="start_end", seed=7), DAY, NEXT))


def _audit(
    events: list[dict[str, object]], tmp_path: Path
) -> dict[tuple[str, str], dict[str, object]]:
    return audit_day(events, tmp_path, day="2026-11-16", now_us=NOW)


def _figures(windows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in w.items() if k not in {"revision", "revised_from"}} for w in windows]


def _inside_day(w: dict[str, object]) -> bool:
    start = datetime.fromisoformat(str(w["window_start"]))
    end = datetime.fromisoformat(str(w["window_end"]))
    return start >= DAY and end <= NEXT


async def test_a_day_live_equals_audit_survives_restart_and_revises(
    db_url: str, tmp_path: Path
) -> None:
    require_port(MQTT_HOST, MQTT_PORT, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    mqtt_url = f"mqtt://{MQTT_HOST}:{MQTT_PORT}"
    settings = settings_for(db_url=db_url, mqtt_url=mqtt_url, prefix=prefix, data_dir=tmp_path)
    events = _day()
    rng = random.Random(3)
    # Out of order (shuffled in blocks of 40) and 300 identical re-deliveries.
    wire = [*events, *rng.sample(events, 300)]
    blocks = [wire[i : i + 40] for i in range(0, len(wire), 40)]
    for block in blocks:
        rng.shuffle(block)
    wire = [e for block in blocks for e in block]

    expected = _audit(events, tmp_path)
    async with running(settings, lambda: NOW) as service:
        await publish(mqtt_url, prefix, payloads(wire), service=service)
        await until(lambda: service.ingest.processed >= len(wire))
        assert await service.store.count_events() == len(events)  # each version once
        async with api(service) as http:
            live = (
                await http.get(
                    "/api/v1/channels/qaz-tv/windows",
                    params={"from": DAY.isoformat(), "to": NEXT.isoformat()},
                )
            ).json()["windows"]
            status_before = (await http.get("/api/v1/channels/qaz-tv/status")).json()
            windows_before = live
        compared = 0
        for w in live:
            if not _inside_day(w):
                continue
            audit = expected[w["rule"], w["window_start"]]
            for key in FIGURES:
                assert w.get(key) == audit.get(key), (w["rule"], w["window_start"], key)
            compared += 1
        # Every window of the day the audit reports (six-hour intervals, evening
        # hours, the day's counts and item rules) was compared.
        assert compared == sum(1 for w in expected.values() if _inside_day(w))
        assert compared >= 15

    # Restart on the same store: the same status, to the second.
    async with running(settings, lambda: NOW) as service, api(service) as http:
        assert (await http.get("/api/v1/channels/qaz-tv/status")).json() == status_before
        again = (
            await http.get(
                "/api/v1/channels/qaz-tv/windows",
                params={"from": DAY.isoformat(), "to": NEXT.isoformat()},
            )
        ).json()["windows"]
        # Same figures and verdicts (the revision counter may have moved at shutdown).
        assert _figures(again) == _figures(windows_before)

        # A late correction: every Kazakh programme of 06:00-12:00 was in fact Russian.
        target = next(
            w
            for w in windows_before
            if w["rule"] == "lang_6h" and w["window_start"].startswith("2026-11-16T06:00")
        )
        assert target["verdict"] == "complies"
        six, noon = to_us(DAY.replace(hour=6)), to_us(DAY.replace(hour=12))
        fixes = []
        for e in events:
            start = to_us(datetime.fromisoformat(str(e["start"])))
            if e["phase"] == "start" and e.get("language") == "kk" and six <= start < noon:
                fixes.append({**e, "phase": "correction", "language": "ru"})
        await publish(mqtt_url, prefix, payloads(fixes), service=service)
        await until(lambda: service.ingest.processed >= len(fixes))
        await until(
            lambda: service.metrics.window_revisions.labels("qaz-tv", "lang_6h")._value.get() >= 1
        )
        revised = (
            await http.get(
                "/api/v1/channels/qaz-tv/windows",
                params={"rule": "lang_6h", "from": DAY.isoformat(), "to": NEXT.isoformat()},
            )
        ).json()["windows"]
        window = next(w for w in revised if w["window_start"] == target["window_start"])
        assert window["verdict"] == "violation"
        assert window["revision"] >= 1
        assert window["revised_from"] == "complies"
