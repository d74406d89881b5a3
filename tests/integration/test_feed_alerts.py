"""Feed and delivery alerts end to end: MQTT in, webhooks out, through the running daemon.

* An adapter's retained ``offline`` raises ``EfirFeedOffline``; its next event
  clears it.
* A silent channel goes stale only while it should be on air: with on-air
  hours 06:00-01:00 it is stale before 01:00, all-clear (``off_air``) after,
  and stale again from 06:05.
* A receiver that answers ``410 Gone`` is disabled and ``EfirReceiverGone``
  reaches the other receiver; enabling it through the API clears that alert.

Clocks are accelerated (the daemon's clock is injected); receivers are real
HTTP servers; the broker is the machine's Mosquitto.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from efir.config.alerts import AlertsConfig, WebhookReceiver
from efir.config.settings import ChannelConfig
from efir.core.timebase import US_PER_S, to_us
from tests.integration.live import api, running, settings_for, until
from tests.receiver import Receiver
from tests.services import require_port, unique_prefix

pytestmark = pytest.mark.integration
#: The test daemon's token (tests/integration/live.py); it also reads receivers.
AUTH = {"authorization": "Bearer test-token"}

ALMATY = ZoneInfo("Asia/Almaty")
FAST = {
    "for_s": {"warning": 0, "error": 0, "critical": 0},
    "keep_firing_s": 0,
    "group_wait_s": 0,
    "group_interval_s": 0,
    "delivery": {"backoff_min_s": 0.2, "backoff_max_s": 1},
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def gone() -> Iterator[Receiver]:
    r = Receiver(default=410)
    yield r
    r.close()


def accelerated(start: datetime, speed: float) -> Callable[[], int]:
    base, t0 = to_us(start), time.monotonic()
    return lambda: base + round((time.monotonic() - t0) * speed * US_PER_S)


def told(r: Receiver, alertname: str, channel: str) -> list[tuple[str, dict[str, Any]]]:
    """``(status, alert)`` of every notification about ``alertname`` on ``channel``, in order."""
    return [
        (a["status"], a)
        for b in r.bodies()
        for a in b["alerts"]
        if a["labels"]["alertname"] == alertname
        and a["labels"]["channel"] == channel
        and a["change"] != "unchanged"
    ]


def local_hhmm(clock: Callable[[], int]) -> str:
    return datetime.fromtimestamp(clock() / US_PER_S, UTC).astimezone(ALMATY).strftime("%H:%M")


async def test_offline_adapter_and_stale_feed_by_on_air_hours(
    receiver: Receiver, tmp_path: Path
) -> None:
    require_port("127.0.0.1", 1883, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    # Monday 00:00 local; 1 s of test is 20 min of the daemon's day.
    clock = accelerated(datetime(2026, 11, 16, 0, 0, tzinfo=ALMATY), speed=1200)
    settings = settings_for(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'efir.db'}",
        mqtt_url="mqtt://127.0.0.1:1883",
        prefix=prefix,
        data_dir=tmp_path,
        alerts=AlertsConfig.model_validate(
            FAST | {"receivers": [{"name": "ops", "type": "webhook", "url": receiver.url}]}
        ),
        stale_after_s=300,
    ).model_copy(
        update={
            "channels": [
                ChannelConfig(id="qaz-tv"),
                ChannelConfig(id="night-radio", media="radio", on_air=["06:00-01:00"]),
            ],
            "tick_s": 0.05,
        }
    )
    async with (
        running(settings, now_us=clock) as service,
        aiomqtt.Client("127.0.0.1", 1883, identifier=f"adapter-{prefix}") as adapter,
    ):
        # The TV adapter's Last Will (or a retained status) says offline.
        await adapter.publish(f"{prefix}/qaz-tv/status", b"offline", qos=1, retain=True)
        await until(lambda: bool(told(receiver, "EfirFeedOffline", "qaz-tv")), timeout=30)
        status, alert = told(receiver, "EfirFeedOffline", "qaz-tv")[0]
        assert status == "firing"
        assert alert["labels"]["severity"] == "error"
        assert "adapter offline" in alert["annotations"]["summary"]
        assert "Quota alerts for this channel are held back" in alert["annotations"]["description"]
        # An event proves the adapter is back: the all-clear follows.
        start = datetime.fromtimestamp(clock() / US_PER_S, UTC).astimezone(ALMATY)
        event = {
            "schema": "efir.asrun/1",
            "channel": "qaz-tv",
            "event_id": "p1",
            "phase": "start",
            "start": start.isoformat(timespec="seconds"),
            "kind": "program",
            "language": "kk",
        }
        await adapter.publish(f"{prefix}/qaz-tv/event", json.dumps(event).encode(), qos=1)
        await until(lambda: len(told(receiver, "EfirFeedOffline", "qaz-tv")) >= 2, timeout=30)
        assert told(receiver, "EfirFeedOffline", "qaz-tv")[1][0] == "resolved"

        # The radio is never heard. On air until 01:00: stale 5 min after Efir started.
        await until(lambda: bool(told(receiver, "EfirFeedStale", "night-radio")), timeout=30)
        status, alert = told(receiver, "EfirFeedStale", "night-radio")[0]
        assert status == "firing"
        fired_at = alert["starts_at"]
        assert "T19:" in fired_at, fired_at  # 00:05..00:59 local (UTC+5)
        # Off air from 01:00: the silence is expected, the alert resolves.
        await until(lambda: len(told(receiver, "EfirFeedStale", "night-radio")) >= 2, timeout=30)
        status, alert = told(receiver, "EfirFeedStale", "night-radio")[1]
        assert status == "resolved"
        assert "T20:0" in alert["ends_at"], alert["ends_at"]  # 01:00..01:09 local
        async with api(service) as http:
            feed = (await http.get("/api/v1/channels/night-radio/status")).json()["feed"]
        assert feed["state"] == "off_air", (feed, local_hhmm(clock))
        # Back on air at 06:00 and still silent: stale again from 06:05, a new episode.
        await until(lambda: len(told(receiver, "EfirFeedStale", "night-radio")) >= 3, timeout=60)
        status, alert = told(receiver, "EfirFeedStale", "night-radio")[2]
        assert status == "firing"
        assert "T01:0" in alert["starts_at"], alert["starts_at"]  # 06:05..06:09 local
        async with api(service) as http:
            feed = (await http.get("/api/v1/channels/night-radio/status")).json()["feed"]
        assert feed["state"] == "stale"
        # A channel never heard from raises feed alerts only: no gap, no quota alarm.
        assert {
            a["labels"]["alertname"]
            for b in receiver.bodies()
            for a in b["alerts"]
            if a["labels"]["channel"] == "night-radio"
        } == {"EfirFeedStale"}
        await adapter.publish(f"{prefix}/qaz-tv/status", b"", qos=1, retain=True)  # clean up


async def test_a_gone_receiver_is_disabled_and_the_other_one_is_told(
    receiver: Receiver, gone: Receiver, tmp_path: Path
) -> None:
    require_port("127.0.0.1", 1883, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    settings = settings_for(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'efir.db'}",
        mqtt_url="mqtt://127.0.0.1:1883",
        prefix=prefix,
        data_dir=tmp_path,
        alerts=AlertsConfig(
            **FAST,
            receivers=[
                WebhookReceiver(type="webhook", name="ops", url=receiver.url),
                WebhookReceiver(type="webhook", name="old-hook", url=gone.url),
            ],
        ),
    )
    async with (
        running(settings) as service,
        aiomqtt.Client("127.0.0.1", 1883, identifier=f"adapter-{prefix}") as adapter,
    ):
        await adapter.publish(f"{prefix}/qaz-tv/status", b"offline", qos=1, retain=True)
        await until(lambda: bool(told(receiver, "EfirReceiverGone", "efir")), timeout=30)
        status, alert = told(receiver, "EfirReceiverGone", "efir")[0]
        assert status == "firing"
        assert alert["labels"]["window"] == "old-hook"
        assert "/api/v1/receivers/old-hook/enable" in alert["annotations"]["description"]
        assert "410" in alert["annotations"]["description"]
        assert len(gone.received) == 1  # one attempt, no retries after 410
        # The feed alert that old-hook refused reached ops as well.
        await until(lambda: bool(told(receiver, "EfirFeedOffline", "qaz-tv")), timeout=30)
        assert [a["labels"]["alertname"] for b in gone.bodies() for a in b["alerts"]] == [
            "EfirFeedOffline"
        ]
        async with api(service) as http:
            listed = {
                r["name"]: r for r in (await http.get("/api/v1/receivers", headers=AUTH)).json()
            }
            assert not listed["old-hook"]["enabled"]
            assert listed["ops"]["enabled"]
            # Fixed on the other side; an operator enables it again.
            gone.default = 200
            resp = await http.post(
                "/api/v1/receivers/old-hook/enable",
                json={"by": "aigerim"},
                headers=AUTH,
            )
            assert resp.status_code == 200, resp.text
            await until(lambda: len(told(receiver, "EfirReceiverGone", "efir")) >= 2, timeout=30)
            assert told(receiver, "EfirReceiverGone", "efir")[1][0] == "resolved"
            listed = {
                r["name"]: r for r in (await http.get("/api/v1/receivers", headers=AUTH)).json()
            }
            assert listed["old-hook"]["enabled"]
            journal = (await http.get("/api/v1/alerts/journal")).json()
        assert any("old-hook" in json.dumps(e) and "aigerim" in json.dumps(e) for e in journal)
        await adapter.publish(f"{prefix}/qaz-tv/status", b"", qos=1, retain=True)  # clean up
