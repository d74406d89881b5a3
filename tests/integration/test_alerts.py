"""Alerts end to end: MQTT in, signed webhooks out, through restarts and a failover.

* The risky simulator feed warns about the six-hour Kazakh share while there
  is still time (``slack`` > 0), with the deadline in the text.
* ``kill -9`` while notifications are pending and while an alert resolves:
  after restarts every notification arrives under one ``webhook-id`` and the
  all-clear is not lost.
* Two instances on one PostgreSQL: one sends; kill it and the other takes over.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from efir.config.alerts import AlertsConfig, WebhookReceiver
from efir.config.settings import parse_mqtt_url
from efir.core.timebase import US_PER_S, to_us
from efir.sim.publish import SimOptions, simulate
from tests.integration.live import Daemon, running, settings_for, wait_ready
from tests.receiver import Receiver
from tests.services import create_database, drop_database, free_port, require_port, unique_prefix

pytestmark = pytest.mark.integration

MQTT_URL = "mqtt://127.0.0.1:1883"
SECRET = "whsec_" + base64.b64encode(b"efir-test-secret-0123456789abcdef").decode()
ALMATY = ZoneInfo("Asia/Almaty")
FAST = {
    "for_s": {"warning": 0, "error": 0, "critical": 0},
    "keep_firing_s": 0,
    "group_wait_s": 0,
    "group_interval_s": 0,
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def firing(bodies: list[dict[str, Any]], alertname: str, rule: str) -> list[dict[str, Any]]:
    return [
        a
        for b in bodies
        for a in b["alerts"]
        if a["labels"]["alertname"] == alertname
        and a["labels"]["rule"] == rule
        and a["status"] == "firing"
    ]


async def test_risky_feed_warns_while_there_is_still_time(
    receiver: Receiver, tmp_path: Path
) -> None:
    require_port("127.0.0.1", 1883, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    # 12:05 local on a Monday, an accelerated clock shared by Efir and the simulator.
    base = to_us(datetime(2026, 11, 16, 12, 5, tzinfo=ALMATY))
    speed = 300.0
    t0 = time.monotonic()

    def clock() -> int:
        return base + round((time.monotonic() - t0) * speed * US_PER_S)

    alerts = AlertsConfig(
        **FAST,
        receivers=[WebhookReceiver(type="webhook", name="ops", url=receiver.url, secrets=[SECRET])],
    )
    settings = settings_for(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'efir.db'}",
        mqtt_url=MQTT_URL,
        prefix=prefix,
        data_dir=tmp_path,
        alerts=alerts,
    )
    options = SimOptions(
        channels=(("qaz-tv", "tv"),),
        speed=speed,
        scenario="risky",
        topic_prefix=prefix,
        since=datetime(2026, 11, 16, 12, 0, tzinfo=ALMATY),
        duration_s=80,
        heartbeat_s=0.5,
    )
    async with running(settings, now_us=clock) as service:
        sim = asyncio.create_task(simulate(parse_mqtt_url(MQTT_URL), options, wall_us=clock))
        try:
            async with asyncio.timeout(80):
                while not firing(receiver.bodies(), "EfirQuotaRisk", "lang_6h"):
                    await asyncio.sleep(0.05)
        finally:
            sim.cancel()
        alert = firing(receiver.bodies(), "EfirQuotaRisk", "lang_6h")[0]
        fp = alert["fingerprint"]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.http_port}") as http:
            listed = (await http.get(f"/api/v1/alerts/{fp}")).json()
        assert listed["state"] == "firing"
    assert alert["labels"]["severity"] == "warning", alert
    assert alert["labels"]["window"].startswith("2026-11-16T12:00:00+05:00/")
    values = alert["values"]
    assert values["status"] == "at_risk", values
    assert values["slack_s"] > 0, values
    deadline = values["deadline"][11:16]
    assert f"by {deadline}" in alert["annotations"]["description"], alert["annotations"]
    assert "min more" in alert["annotations"]["description"]
    first = next(r for r in receiver.received if fp in r.body.decode())
    Webhook(SECRET).verify(first.body, first.headers)


def write_config(path: Path, receiver_url: str) -> Path:
    path.write_text(
        # The count rules (idents per day, the signed newscast 16:00-22:00) alert by
        # the time of day the test runs at; these tests follow lang_6h alone.
        "channels:\n  - {id: qaz-tv, media: tv, disable: [channel_id_day, sign_news_day]}\n"
        "alerts:\n"
        "  for_s: {warning: 0, error: 0, critical: 0}\n"
        "  keep_firing_s: 0\n  group_wait_s: 0\n  group_interval_s: 0\n"
        "  delivery: {backoff_min_s: 0.2, backoff_max_s: 1}\n"
        "  receivers:\n"
        f"    - {{name: ops, type: webhook, url: '{receiver_url}', secrets: ['{SECRET}']}}\n"
    )
    return path


#: Deliveries reveal bodies and receivers' errors: reading them takes a token.
READ_TOKEN = "read-token"  # noqa: S105 - a test token


def env_for(
    tmp: Path, config: Path, db_url: str, prefix: str, client: str, port: int
) -> dict[str, str]:
    return {
        **os.environ,
        "EFIR_CONFIG": str(config),
        "EFIR_DATABASE_URL": db_url,
        "EFIR_MQTT_URL": MQTT_URL,
        "EFIR_MQTT__TOPIC_PREFIX": prefix,
        "EFIR_MQTT__CLIENT_ID": client,
        "EFIR_HTTP_PORT": str(port),
        "EFIR_DATA_DIR": str(tmp / "data"),
        "EFIR_TICK_S": "0.5",
        "EFIR_API_READ_TOKEN": READ_TOKEN,
    }


def six_hour_start(now: datetime) -> datetime:
    local = now.astimezone(ALMATY)
    return local.replace(hour=local.hour - local.hour % 6, minute=0, second=0, microsecond=0)


async def loss_event(prefix: str, event_id: str, *, cancel: bool = False) -> None:
    """A Russian programme from the six-hour window's start to now (the window is lost), or its cancel."""
    now = datetime.now(UTC)
    ws = six_hour_start(now)
    if (now - ws).total_seconds() < 30:  # not at the very start of a window
        await asyncio.sleep(31 - (now - ws).total_seconds())
        now = datetime.now(UTC)
    if cancel:
        payload = {
            "schema": "efir.asrun/1",
            "channel": "qaz-tv",
            "event_id": event_id,
            "phase": "cancel",
        }
    else:
        payload = {
            "schema": "efir.asrun/1",
            "channel": "qaz-tv",
            "event_id": event_id,
            "phase": "complete",
            "kind": "program",
            "language": "ru",
            "title": "Series",
            "start": ws.isoformat(),
            "duration": round((now - ws).total_seconds() - 5, 3),
        }
    async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"pub-{prefix}") as client:
        await client.publish(f"{prefix}/qaz-tv/event", json.dumps(payload).encode(), qos=1)


def notifications(receiver: Receiver) -> dict[str, list[dict[str, Any]]]:
    """Bodies per webhook-id, every copy."""
    out: dict[str, list[dict[str, Any]]] = {}
    for r in receiver.received:
        out.setdefault(r.headers["webhook-id"], []).append(r.json())
    return out


def lang_6h(bodies: dict[str, list[dict[str, Any]]], status: str) -> list[str]:
    return [
        mid
        for mid, copies in bodies.items()
        if any(
            a["labels"]["rule"] == "lang_6h"
            and a["labels"]["alertname"] == "EfirQuotaRisk"
            and a["status"] == status
            and a["change"] != "unchanged"
            for a in copies[0]["alerts"]
        )
    ]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    require_port("127.0.0.1", 5432, "PostgreSQL", "pg_ctlcluster 15 main start")
    name, url = await create_database()
    try:
        yield url
    finally:
        await drop_database(name)


async def test_kill_9_with_pending_and_resolving_notifications_loses_none(
    receiver: Receiver, tmp_path: Path, pg_url: str
) -> None:
    require_port("127.0.0.1", 1883, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    port = free_port()
    config = write_config(tmp_path / "efir.yaml", receiver.url)
    daemon = Daemon(
        env_for(tmp_path, config, pg_url, prefix, f"efir-{prefix}", port), tmp_path / "d.log"
    )
    receiver.default = 500  # the receiver is down: notifications stay pending
    try:
        daemon.start()
        await wait_ready(f"http://127.0.0.1:{port}")
        await loss_event(prefix, "loss-1")
        async with asyncio.timeout(30):
            while not lang_6h(notifications(receiver), "firing"):
                await asyncio.sleep(0.05)
        daemon.kill9()  # the firing notification is pending (500s so far)
        await loss_event(prefix, "loss-1", cancel=True)  # waits in Efir's MQTT session
        daemon.start()
        await wait_ready(f"http://127.0.0.1:{port}")
        async with asyncio.timeout(30):
            while not lang_6h(notifications(receiver), "resolved"):
                await asyncio.sleep(0.05)
        daemon.kill9()  # the all-clear is pending too
        receiver.default = 200
        daemon.start()
        await wait_ready(f"http://127.0.0.1:{port}")
        async with (
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                headers={"authorization": f"Bearer {READ_TOKEN}"},
            ) as http,
            asyncio.timeout(30),
        ):
            while (await http.get("/api/v1/deliveries", params={"status": "pending"})).json():
                await asyncio.sleep(0.1)
            rows = (await http.get("/api/v1/deliveries")).json()
        assert daemon.terminate() == 0
    finally:
        daemon.stop()
    bodies = notifications(receiver)
    fired, cleared = lang_6h(bodies, "firing"), lang_6h(bodies, "resolved")
    assert len(fired) == 1, fired
    assert len(cleared) == 1, cleared
    for copies in bodies.values():  # every retry of an id carries the same body
        assert all(c == copies[0] for c in copies)
    assert all(r["status"] == "delivered" for r in rows), rows
    assert {r["id"] for r in rows} == set(bodies)


async def test_two_instances_send_once_and_the_standby_takes_over(
    receiver: Receiver, tmp_path: Path, pg_url: str
) -> None:
    require_port("127.0.0.1", 1883, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    config = write_config(tmp_path / "efir.yaml", receiver.url)
    ports = free_port(), free_port()
    pair = [
        Daemon(
            env_for(tmp_path, config, pg_url, prefix, f"efir-{prefix}-{i}", ports[i]),
            tmp_path / f"d{i}.log",
        )
        for i in (0, 1)
    ]
    try:
        pair[0].start()
        await wait_ready(f"http://127.0.0.1:{ports[0]}")
        pair[1].start()
        await wait_ready(f"http://127.0.0.1:{ports[1]}")
        async with httpx.AsyncClient() as http:
            leaders = [
                "efir_leader 1.0" in (await http.get(f"http://127.0.0.1:{p}/metrics")).text
                for p in ports
            ]
        assert leaders == [True, False]
        await loss_event(prefix, "loss-2")
        async with asyncio.timeout(30):
            while not lang_6h(notifications(receiver), "firing"):
                await asyncio.sleep(0.05)
        await asyncio.sleep(2)  # time for a second sender to show itself, if there were one
        assert len(lang_6h(notifications(receiver), "firing")) == 1
        assert len(receiver.received) == len(notifications(receiver))  # no id sent twice
        pair[0].kill9()
        t_kill = time.monotonic()
        async with httpx.AsyncClient() as http, asyncio.timeout(20):
            while (
                "efir_leader 1.0"
                not in (await http.get(f"http://127.0.0.1:{ports[1]}/metrics")).text
            ):
                await asyncio.sleep(0.1)
        takeover = time.monotonic() - t_kill
        await loss_event(prefix, "loss-2", cancel=True)
        async with asyncio.timeout(30):
            while not lang_6h(notifications(receiver), "resolved"):
                await asyncio.sleep(0.05)
        assert takeover < 10, takeover
        assert (
            len(lang_6h(notifications(receiver), "firing")) == 1
        )  # the new leader did not repeat it
        assert pair[1].terminate() == 0
    finally:
        for d in pair:
            d.stop()
