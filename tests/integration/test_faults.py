"""Faults: kill -9 of the daemon, a broker restart, PostgreSQL stopped for 30 s.

In every case every published event ends up in the store exactly once and the
counters equal an audit of the published stream. The daemon runs as a real
process (``efir run``) against a private Mosquitto (queues unlimited, as Efir's
deployment guide asks) and a fresh PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import aiomqtt
import asyncpg
import httpx
import pytest

from tests.integration.live import (
    Daemon,
    assert_windows_match_audit,
    past_days,
    stored_events,
    wait_ready,
)
from tests.services import Mosquitto, create_database, drop_database, free_port

pytestmark = pytest.mark.integration

CHANNELS = (("qaz-tv", "tv"), ("qaz-radio", "radio"))
PG_CTL = ["pg_ctlcluster", "--skip-systemctl-redirect"]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[Mosquitto, str, Daemon, str]]:
    name, url = await create_database()
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    port = free_port()
    config = tmp_path / "efir.yaml"
    config.write_text(
        "channels:\n" + "".join(f"  - {{id: {c}, media: {m}}}\n" for c, m in CHANNELS)
    )
    env = {
        **os.environ,
        "EFIR_CONFIG": str(config),
        "EFIR_DATABASE_URL": url,
        "EFIR_MQTT_URL": broker.url,
        "EFIR_HTTP_PORT": str(port),
        "EFIR_DATA_DIR": str(tmp_path / "data"),
        "EFIR_MQTT__CLIENT_ID": f"efir-{name}",
        "EFIR_MQTT__RECONNECT_MAX_S": "1",
        "EFIR_TICK_S": "0.5",
        # Checkpoints all the time, so every restart restores one and replays
        # only the rows after it (one instance: no lookback needed).
        "EFIR_CHECKPOINT_EVERY_S": "0.5",
        "EFIR_CHECKPOINT_LOOKBACK_S": "0",
    }
    daemon = Daemon(env, tmp_path / "daemon.log")
    try:
        yield broker, url, daemon, f"http://127.0.0.1:{port}"
    finally:
        daemon.stop()
        broker.stop()
        subprocess.run([*PG_CTL, _pg_version(), "main", "start"], check=False, capture_output=True)
        await drop_database(name)


def _pg_version() -> str:
    return max(p.name for p in Path("/etc/postgresql").iterdir())


async def _publish(
    broker: Mosquitto,
    items: list[tuple[str, bytes]],
    progress: list[int],
) -> None:
    """Full speed, QoS 1; reconnects and re-sends the chunk in flight if the broker goes away."""
    i = 0
    while i < len(items):
        try:
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, identifier="fault-publisher"
            ) as client:
                client.pending_calls_threshold = 100_000
                while i < len(items):
                    chunk = items[i : i + 200]
                    await asyncio.gather(
                        *(client.publish(f"asrun/{c}/event", p, qos=1) for c, p in chunk)
                    )
                    i += len(chunk)
                    progress[0] = i
        except aiomqtt.MqttError:
            await asyncio.sleep(0.3)


async def _a_third_published(
    broker: Mosquitto,
    daemon: Daemon,
    base: str,
    items: list[tuple[str, bytes]],
) -> asyncio.Task[None]:
    """Start the daemon and the publisher; return once a third of the stream is out."""
    daemon.start()
    await wait_ready(base)
    progress = [0]
    publisher = asyncio.create_task(_publish(broker, items, progress))
    while progress[0] < len(items) // 3:
        await asyncio.sleep(0.05)
    return publisher


async def _all_stored(
    db_url: str, expected: int, timeout: float = 120
) -> list[tuple[str, str, str]]:
    async with asyncio.timeout(timeout):
        while True:
            try:
                rows = await stored_events(db_url)
            except (OSError, asyncpg.PostgresError):
                rows = []
            if len(rows) >= expected:
                return rows
            await asyncio.sleep(0.5)


async def _check(
    base: str,
    db_url: str,
    items: list[tuple[str, bytes]],
    start: datetime,
    end: datetime,
    tmp: Path,
) -> None:
    distinct = {(c, json.loads(p)["event_id"], p) for c, p in items}
    rows = await _all_stored(db_url, len(distinct))
    assert len(rows) == len(set(rows)) == len(distinct)  # every event once, none twice
    await wait_ready(base)
    for cid, media in CHANNELS:
        await assert_windows_match_audit(
            base, cid, media, [p for c, p in items if c == cid], (start, end), tmp
        )


async def test_kill_9_three_times_while_publishing(
    setup: tuple[Mosquitto, str, Daemon, str], tmp_path: Path
) -> None:
    broker, db_url, daemon, base = setup
    start, end, items = past_days(CHANNELS, days=7, seed=11)
    assert len(items) >= 20_000
    daemon.start()
    await wait_ready(base)
    progress = [0]
    publisher = asyncio.create_task(_publish(broker, items, progress))
    rng = random.Random(5)
    for _ in range(3):
        await asyncio.sleep(rng.uniform(0.5, 2.5))  # a random instant mid-stream
        daemon.kill9()
        daemon.start()
    await publisher
    await _check(base, db_url, items, start, end, tmp_path)
    assert daemon.terminate() == 0  # graceful: SIGTERM -> exit 0


async def test_broker_restart_mid_stream(
    setup: tuple[Mosquitto, str, Daemon, str], tmp_path: Path
) -> None:
    broker, db_url, daemon, base = setup
    start, end, items = past_days(CHANNELS, days=2, seed=11)
    # The broker keeps Efir's session (persistence): what was queued for Efir at
    # the restart, and what is published after it, before Efir is back, all
    # arrives. The publisher goes on as soon as the broker takes connections.
    publisher = await _a_third_published(broker, daemon, base, items)
    broker.stop()
    await asyncio.sleep(1)
    broker.start()
    async with asyncio.timeout(90):
        await publisher
    await _check(base, db_url, items, start, end, tmp_path)
    async with httpx.AsyncClient(base_url=base, timeout=5) as http:
        metrics = (await http.get("/metrics")).text
    assert "efir_mqtt_sessions_lost_total 0.0" in metrics
    assert daemon.terminate() == 0


async def test_postgresql_stopped_for_30_s_mid_stream(
    setup: tuple[Mosquitto, str, Daemon, str], tmp_path: Path
) -> None:
    broker, db_url, daemon, base = setup
    start, end, items = past_days(CHANNELS, days=2, seed=11)
    publisher = await _a_third_published(broker, daemon, base, items)
    subprocess.run(
        [*PG_CTL, _pg_version(), "main", "stop", "-m", "fast"], check=True, capture_output=True
    )
    try:
        await asyncio.sleep(5)
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["store"].startswith("unavailable")
        await asyncio.sleep(25)
    finally:
        subprocess.run([*PG_CTL, _pg_version(), "main", "start"], check=True, capture_output=True)
    await publisher
    await _check(base, db_url, items, start, end, tmp_path)
    assert daemon.terminate() == 0
