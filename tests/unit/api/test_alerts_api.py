"""The alert API end to end in one process: alerts from real figures, ack, silences, journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from efir.config.alerts import AlertsConfig, WebhookReceiver
from efir.daemon.service import Service
from tests.unit.api.inprocess import AUTH, event, in_process

RUSSIAN_HOUR = event("ru-hour", duration=3600, language="ru")


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    alerts = AlertsConfig(
        for_s={"warning": 0, "error": 0, "critical": 0},
        receivers=[WebhookReceiver(type="webhook", name="desk", url="http://127.0.0.1:1/")],
    )
    async with in_process(tmp_path, alerts=alerts) as pair:
        yield pair


async def firing_risk(http: httpx.AsyncClient, service: Service) -> dict[str, object]:
    """A Russian hour from 12:00 puts the 12:00-18:00 interval at risk: the alert fires."""
    assert (await http.post("/api/v1/events", json=RUSSIAN_HOUR, headers=AUTH)).status_code == 200
    await service.alerter.lead(leader=True)
    service.alerter.primed = True
    await service.alerter.evaluate()
    alerts = (await http.get("/api/v1/alerts", params={"state": "firing"})).json()
    assert alerts["active"] is True
    (risk,) = [
        a
        for a in alerts["alerts"]
        if a["labels"]["alertname"] == "EfirQuotaRisk" and a["labels"]["rule"] == "lang_6h"
    ]
    return risk


async def test_a_standby_refuses_changes_and_lists_nothing(
    live: tuple[httpx.AsyncClient, Service],
) -> None:
    http, _ = live
    assert (await http.get("/api/v1/alerts")).json() == {"active": False, "alerts": []}
    body = {"matchers": [{"name": "channel", "value": "qaz-tv"}], "duration_s": 60}
    body |= {"created_by": "aigerim", "comment": "maintenance"}
    refused = await http.post("/api/v1/silences", json=body, headers=AUTH)
    assert refused.status_code == 503


async def test_acknowledge_is_authorised_recorded_and_shown(
    live: tuple[httpx.AsyncClient, Service],
) -> None:
    http, service = live
    risk = await firing_risk(http, service)
    fp = risk["fingerprint"]
    assert risk["acknowledged"] is None
    assert "12:00-18:00" in str(risk["description"])
    ack = {"by": "aigerim", "comment": "Kazakh film moved to 14:00"}
    assert (await http.post(f"/api/v1/alerts/{fp}/ack", json=ack)).status_code == 401
    assert (await http.post("/api/v1/alerts/nope/ack", json=ack, headers=AUTH)).status_code == 404
    done = await http.post(f"/api/v1/alerts/{fp}/ack", json=ack, headers=AUTH)
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged"]["by"] == "aigerim"
    again = (await http.get(f"/api/v1/alerts/{fp}")).json()
    assert again["acknowledged"]["comment"] == "Kazakh film moved to 14:00"
    journal = (await http.get("/api/v1/alerts/journal", params={"fingerprint": fp})).json()
    acks = [e for e in journal if e["kind"] == "ack"]
    assert len(acks) == 1
    assert acks[0]["actor"] == "aigerim"
    assert acks[0]["detail"] == {"comment": "Kazakh film moved to 14:00"}


async def test_silence_mutes_matching_alerts_until_expired(
    live: tuple[httpx.AsyncClient, Service],
) -> None:
    http, service = live
    risk = await firing_risk(http, service)
    fp = risk["fingerprint"]
    base = {"created_by": "aigerim", "comment": "studio rehearsal"}
    bad_regex = {"matchers": [{"name": "rule", "op": "=~", "value": "("}], "duration_s": 60}
    assert (
        await http.post("/api/v1/silences", json=bad_regex | base, headers=AUTH)
    ).status_code == 422
    no_end = {"matchers": [{"name": "rule", "value": "lang_6h"}]}
    assert (
        await http.post("/api/v1/silences", json=no_end | base, headers=AUTH)
    ).status_code == 422
    backwards = {
        "matchers": [{"name": "rule", "value": "lang_6h"}],
        "starts_at": "2025-11-16T14:00:00+05:00",
        "ends_at": "2025-11-16T13:30:00+05:00",
    }
    assert (
        await http.post("/api/v1/silences", json=backwards | base, headers=AUTH)
    ).status_code == 422
    other = {"matchers": [{"name": "channel", "value": "other-tv"}], "duration_s": 3600}
    assert (await http.post("/api/v1/silences", json=other | base, headers=AUTH)).status_code == 201
    body = {
        "matchers": [
            {"name": "alertname", "value": "EfirQuota.*", "op": "=~"},
            {"name": "channel", "value": "qaz-tv"},
        ],
        "duration_s": 3600,
    }
    created = await http.post("/api/v1/silences", json=body | base, headers=AUTH)
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["ends_at"] == "2025-11-16T09:00:00Z"  # 14:00 in Almaty
    muted = (await http.get(f"/api/v1/alerts/{fp}")).json()
    assert muted["silenced_by"] == [silence["id"]]  # the other-tv silence does not match
    listed = (await http.get("/api/v1/silences")).json()
    assert {s["id"] for s in listed} >= {silence["id"]}
    url = f"/api/v1/silences/{silence['id']}"
    assert (await http.delete(url, params={"by": "aigerim"})).status_code == 401  # no token
    assert (await http.delete(url, headers=AUTH)).status_code == 422  # who ends it?
    ended = await http.delete(
        f"/api/v1/silences/{silence['id']}", params={"by": "aigerim"}, headers=AUTH
    )
    assert ended.status_code == 200, ended.text
    assert (await http.get(f"/api/v1/alerts/{fp}")).json()["silenced_by"] == []
    assert silence["id"] not in {s["id"] for s in (await http.get("/api/v1/silences")).json()}
    expired = (await http.get("/api/v1/silences", params={"include_expired": True})).json()
    assert silence["id"] in {s["id"] for s in expired}
    missing = await http.delete("/api/v1/silences/nope", params={"by": "aigerim"}, headers=AUTH)
    assert missing.status_code == 404
    kinds = [(e["kind"], e["actor"]) for e in (await http.get("/api/v1/alerts/journal")).json()]
    assert ("silence_created", "aigerim") in kinds
    assert ("silence_expired", "aigerim") in kinds
