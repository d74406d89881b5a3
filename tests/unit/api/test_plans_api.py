"""Plans in the daemon: uploaded, versioned, forecast in the status, replaced, restored."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings
from tests.unit.api.inprocess import AUTH, NOW, TOKEN, event, in_process, writing


def _aired() -> list[dict[str, object]]:
    """12:00-13:00 in Kazakh (NOW is 13:00): the pace is on track."""
    return [
        event("a1", start="2025-11-16T12:00:00+05:00", duration=1800, language="kk"),
        event("a2", start="2025-11-16T12:30:00+05:00", duration=1800, language="kk"),
    ]


def _plan(*items: tuple[str, str, int, str]) -> bytes:
    lines = [
        event(
            eid,
            start=f"2025-11-16T{start}:00+05:00",
            duration=seconds,
            language=language,
            title=eid,
        )
        for eid, start, seconds, language in items
    ]
    return "".join(json.dumps(x) + "\n" for x in lines).encode()


def _six(status: dict[str, object]) -> dict[str, object]:
    return next(r for r in status["rules"] if r["rule"] == "lang_6h")  # type: ignore[attr-defined, index]


async def test_a_plan_forecasts_the_window_and_suggests_the_fix(tmp_path: Path) -> None:
    async with in_process(tmp_path) as (http, service):
        assert (await http.post("/api/v1/events", json=_aired(), headers=AUTH)).status_code == 200
        url = "/api/v1/channels/qaz-tv/plan"
        before = _six((await http.get("/api/v1/channels/qaz-tv/status")).json())
        assert before["forecast_share"] is None  # no plan yet
        body = _plan(("kk-show", "13:00", 7200, "kk"), ("ru-film", "15:00", 10800, "ru"))
        assert (await http.post(url, content=body)).status_code == 401
        got = await http.post(url, content=body, headers=AUTH)
        assert got.status_code == 200, got.text
        receipt = got.json()
        assert (receipt["items"], receipt["span_from"], receipt["span_to"]) == (
            2,
            "2025-11-16T13:00:00+05:00",
            "2025-11-16T18:00:00+05:00",
        )
        six = _six((await http.get("/api/v1/channels/qaz-tv/status")).json())
        # (60 + 120) / 360 min = 50 %: under 55 %; swapping the film gives 100 %.
        assert six["forecast_share"] == pytest.approx(180 / 360)
        assert six["forecast_status"] == "violation"
        assert [f["event_id"] for f in six["fix"]] == ["ru-film"]
        assert six["fixable"] is True
        # The pace says on track; the plan says the window fails: the alert says what to swap.
        assert six["status"] == "on_track"
        ch = service.monitor.channels["qaz-tv"]
        (risk,) = [
            c
            for c in service.alerter.conditions(ch, NOW)
            if c.alertname == "EfirPlanRisk" and c.rule == "lang_6h"
        ]
        assert risk.active
        assert "the plan ends at 50.0 %" in risk.summary
        assert "Replace ru-film at 15:00" in risk.description
        (tile,) = (await http.get("/api/v1/board")).json()["tiles"]
        assert tile["language"]["forecast_status"] == "violation"
        assert tile["language"]["fix"] == ["ru-film 15:00"]
        metrics = (await http.get("/metrics")).text
        assert 'efir_rule_forecast_share{channel="qaz-tv",rule="lang_6h"} 0.5' in metrics
        # A new version over 15:00-18:00 puts Kazakh content there (sent on MQTT the same way).
        again = await service.planning.receive_events(
            "qaz-tv", _plan(("kk-film", "15:00", 10800, "kk")), NOW
        )
        assert again.version == receipt["version"] + 1
        six = _six((await http.get("/api/v1/channels/qaz-tv/status")).json())
        assert six["forecast_status"] == "complies"
        assert six["fix"] == []
        (risk,) = [
            c
            for c in service.alerter.conditions(ch, NOW)
            if c.alertname == "EfirPlanRisk" and c.rule == "lang_6h"
        ]
        assert not risk.active  # the new version keeps the window: the alert resolves
        view = (await http.get(url)).json()
        assert [i["event_id"] for i in view["items"]] == ["kk-show", "kk-film"]
        assert len(view["versions"]) == 2
        # Plan against as-run so far: the 12:00-13:00 items were not planned; nothing planned aired yet.
        rec = (
            await http.get(url + "/reconciliation", params={"from": "2025-11-16T12:00:00+05:00"})
        ).json()
        assert rec["counts"]["insertion"] == 2
        assert rec["counts"]["as_planned"] == 0
        bad = await http.post(url, content=b"hello", headers=AUTH)
        assert bad.status_code == 422
        assert "cannot detect" in bad.json()["detail"]
    # A restart applies the stored versions again.
    restarted = build(
        Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
            mqtt_url="mqtt://127.0.0.1:1",
            channels=[ChannelConfig(id="qaz-tv")],
            api_token=TOKEN,
        ),
        now_us=lambda: NOW,
    )
    async with writing(restarted):
        transport = httpx.ASGITransport(app=restarted.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://efir") as http:
            six = _six((await http.get("/api/v1/channels/qaz-tv/status")).json())
            assert six["forecast_status"] == "complies"
            assert six["forecast_share"] == pytest.approx(1.0)


async def test_plans_in_other_formats_and_hostile_ones(tmp_path: Path) -> None:
    async with in_process(tmp_path) as (http, _):
        url = "/api/v1/channels/qaz-tv/plan"
        playlist = {"date": "2025-11-16", "program": [{"in": 0, "out": 3600, "source": "/m/a.mp4"}]}
        got = await http.post(
            url, content=json.dumps(playlist).encode(), headers=AUTH, params={"day_start": "14:00"}
        )
        assert got.status_code == 200, got.text
        assert got.json()["span_from"] == "2025-11-16T14:00:00+05:00"
        deep = b"[" * 200_000 + b"]" * 200_000
        assert (await http.post(url, content=deep, headers=AUTH)).status_code == 422
        huge = b"{" + b" " * (9 << 20)
        assert (await http.post(url, content=huge, headers=AUTH)).status_code == 413
        bad_zone = await http.post(
            url, content=b"{}", headers=AUTH, params={"source_timezone": "Mars/X"}
        )
        assert bad_zone.status_code == 422
        assert (
            await http.post("/api/v1/channels/nope/plan", content=b"{}", headers=AUTH)
        ).status_code == 404


async def test_the_live_plan_reconciles_with_what_aired(tmp_path: Path) -> None:
    async with in_process(tmp_path) as (http, _):
        aired = [
            event("a1", start="2025-11-16T12:00:00+05:00", duration=1800, title="News"),
            event("a2", start="2025-11-16T12:30:00+05:00", duration=1800, title="Film"),
        ]
        assert (await http.post("/api/v1/events", json=aired, headers=AUTH)).status_code == 200
        plan = _plan(("News", "12:00", 1800, "kk"), ("Show", "12:30", 1800, "kk"))
        url = "/api/v1/channels/qaz-tv/plan"
        assert (await http.post(url, content=plan, headers=AUTH)).status_code == 200
        got = (await http.get(url + "/reconciliation")).json()
        assert {k: v for k, v in got["counts"].items() if v} == {
            "as_planned": 1,
            "replaced": 1,
            "insertion": 1,
        }
        outcomes = {(i["planned_title"], i["aired_title"]): i["outcome"] for i in got["items"]}
        assert outcomes == {
            ("News", "News"): "as_planned",
            ("Show", None): "replaced",
            (None, "Film"): "insertion",
        }
