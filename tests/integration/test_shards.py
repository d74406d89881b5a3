"""Two shards and a standby on one PostgreSQL and the real Mosquitto (docs/scaling.md).

Three ``efir run`` processes read one configuration: ``north-a`` and
``north-b`` (an active/standby pair) serve shard ``north``, ``south-a``
serves shard ``south``. Whole past days of events for every channel are
published while ``north-a``, the north leader, is killed with SIGKILL. Then:

- every channel's events are counted by the instances of its shard and by
  no other (the metrics of each instance), and stored exactly once;
- ``north-b`` took the north sender lease; the fleet says so, and the
  south instance now sends north's channels to it;
- the figures of every closed window, asked of the instance serving the
  channel, equal an audit of what was published: nothing was lost;
- any instance answers for a channel of another shard with 421 and the
  instance that serves it, in the channel list and on the board too; an
  event posted to the wrong shard is dead-lettered with that reason.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
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

#: (channel, media, shard): the first shard listed answers for unknown channels.
CHANNELS = (
    ("north-tv", "tv", "north"),
    ("north-radio", "radio", "north"),
    ("south-tv", "tv", "south"),
)
TOKEN = "shard-test-token"  # noqa: S105 - this test's own token


@dataclass
class Instance:
    name: str
    shard: str
    daemon: Daemon
    base: str


@dataclass
class Fleet:
    db_url: str
    broker: Mosquitto
    instances: dict[str, Instance]


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[Fleet]:
    name, url = await create_database()
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    config = tmp_path / "efir.yaml"
    config.write_text(
        "channels:\n"
        + "".join(f"  - {{id: {c}, media: {m}, shard: {s}}}\n" for c, m, s in CHANNELS)
    )
    instances: dict[str, Instance] = {}
    for who, shard in (("north-a", "north"), ("north-b", "north"), ("south-a", "south")):
        port = free_port()
        env = {
            **os.environ,
            "EFIR_CONFIG": str(config),
            "EFIR_DATABASE_URL": url,
            "EFIR_MQTT_URL": broker.url,
            "EFIR_HTTP_PORT": str(port),
            "EFIR_DATA_DIR": str(tmp_path / who),
            "EFIR_SHARD": shard,
            "EFIR_API_TOKEN": TOKEN,
            "EFIR_MQTT__CLIENT_ID": f"{who}-{name}",
            "EFIR_MQTT__RECONNECT_MAX_S": "1",
            "EFIR_TICK_S": "0.5",
            "EFIR_CHECKPOINT_EVERY_S": "1",
        }
        base = f"http://127.0.0.1:{port}"
        instances[who] = Instance(
            f"{who}-{name}", shard, Daemon(env, tmp_path / f"{who}.log"), base
        )
    try:
        yield Fleet(url, broker, instances)
    finally:
        for inst in instances.values():
            inst.daemon.stop()
        broker.stop()
        await drop_database(name)


async def _publish(broker: Mosquitto, items: list[tuple[str, bytes]], progress: list[int]) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="shard-publisher") as client:
        client.pending_calls_threshold = 100_000
        for i in range(0, len(items), 200):
            chunk = items[i : i + 200]
            await asyncio.gather(*(client.publish(f"asrun/{c}/event", p, qos=1) for c, p in chunk))
            progress[0] = i + len(chunk)


async def _get(base: str, path: str, **params: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        return await http.get(path, params=params)


async def _fleet_view(base: str) -> dict[str, dict[str, object]]:
    body = (await _get(base, "/api/v1/instances")).json()
    return {i["id"]: i for i in body["instances"]}


async def _until(check: object, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not await check():  # type: ignore[operator]
            await asyncio.sleep(0.2)


def _ingested(metrics: str) -> dict[str, float]:
    """``efir_events_ingested_total`` per channel (every source summed)."""
    out: dict[str, float] = {}
    for m in re.finditer(
        r'^efir_events_ingested_total\{channel="([^"]+)",[^}]*\} (\S+)$', metrics, re.MULTILINE
    ):
        out[m[1]] = out.get(m[1], 0.0) + float(m[2])
    return out


def _foreign(metrics: str) -> dict[str, float]:
    return {
        m[1]: float(m[2])
        for m in re.finditer(
            r'^efir_events_foreign_total\{shard="([^"]*)"\} (\S+)$', metrics, re.MULTILINE
        )
    }


async def _dead_letters(db_url: str) -> list[tuple[str | None, str, str]]:
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT channel_id, code, reason FROM dead_letters")
    finally:
        await conn.close()
    return [(r[0], r[1], r[2]) for r in rows]


async def test_two_shards_and_a_standby_count_once_and_survive_a_leader_kill(
    fleet: Fleet, tmp_path: Path
) -> None:
    north_a, north_b, south_a = (fleet.instances[k] for k in ("north-a", "north-b", "south-a"))
    # north-a first, so that it takes the north lease; then its standby and the south shard.
    north_a.daemon.start()
    await wait_ready(north_a.base)

    async def north_a_leads() -> bool:
        view = await _fleet_view(north_a.base)
        return bool(view.get(north_a.name, {}).get("leader"))

    await _until(north_a_leads)
    north_b.daemon.start()
    south_a.daemon.start()
    for inst in (north_b, south_a):
        await wait_ready(inst.base)

    async def all_three_known() -> bool:
        for inst in (north_a, north_b, south_a):
            view = await _fleet_view(inst.base)
            if not all(view.get(i.name, {}).get("alive") for i in fleet.instances.values()):
                return False
        return True

    await _until(all_three_known)
    fleet_view = (await _get(south_a.base, "/api/v1/instances")).json()
    assert fleet_view["consistent"]  # one channel list, one digest
    assert len({i["config"] for i in fleet_view["instances"]}) == 1
    view = await _fleet_view(south_a.base)
    assert view[north_a.name]["leader"]
    assert not view[north_b.name]["leader"]
    assert view[south_a.name]["leader"]
    assert view[south_a.name]["shard"] == "south"

    # Publish; kill the north leader a third of the way through.
    start, end, items = past_days([(c, m) for c, m, _ in CHANNELS], days=2, seed=31)
    ghost = json.dumps(
        {"schema": "efir.asrun/1", "channel": "ghost", "event_id": "g1", "phase": "start",
         "start": "2026-01-05T10:00:00+05:00", "kind": "programme"}
    ).encode()  # fmt: skip
    items_with_ghost = [*items[:10], ("ghost", ghost), *items[10:]]
    progress = [0]
    publisher = asyncio.create_task(_publish(fleet.broker, items_with_ghost, progress))
    while progress[0] < len(items_with_ghost) // 3:
        await asyncio.sleep(0.05)
    north_a.daemon.kill9()

    async def north_b_leads() -> bool:
        view = await _fleet_view(south_a.base)
        return bool(view[north_b.name]["leader"]) and not view[north_a.name]["alive"]

    async with asyncio.timeout(120):
        await publisher
    await _until(north_b_leads)

    # Every event stored once (both north instances wrote the north rows: one copy kept).
    distinct = {(c, json.loads(p)["event_id"], p) for c, p in items}
    async with asyncio.timeout(120):
        while len(rows := await stored_events(fleet.db_url)) < len(distinct):
            await asyncio.sleep(0.5)
    assert len(rows) == len(set(rows)) == len(distinct)
    assert not any(c == "ghost" for c, _, _ in rows)

    # Counted by the shard's instances only. north-b saw every north event live
    # (it never stopped); south-a saw the south ones and, subscribed to its own
    # channels' topics only, nothing of north.
    per_channel = {cid: sum(1 for c, _ in items if c == cid) for cid, _, _ in CHANNELS}
    north_b_metrics = (await _get(north_b.base, "/metrics")).text
    south_metrics = (await _get(south_a.base, "/metrics")).text

    async def counted() -> bool:
        nonlocal north_b_metrics, south_metrics
        north_b_metrics = (await _get(north_b.base, "/metrics")).text
        south_metrics = (await _get(south_a.base, "/metrics")).text
        nb, sa = _ingested(north_b_metrics), _ingested(south_metrics)
        return (
            nb.get("north-tv", 0) >= per_channel["north-tv"]
            and sa.get("south-tv", 0) >= per_channel["south-tv"]
        )

    await _until(counted)
    nb, sa = _ingested(north_b_metrics), _ingested(south_metrics)
    assert set(nb) == {"north-tv", "north-radio"}
    assert set(sa) == {"south-tv"}
    assert nb["north-radio"] == per_channel["north-radio"]
    assert _foreign(north_b_metrics).get("south", 0) == per_channel["south-tv"]
    assert _foreign(south_metrics).get("north", 0) == 0
    # The unknown channel is dead-lettered by the first shard, not by south.
    ghosts = [d for d in await _dead_letters(fleet.db_url) if d[0] == "ghost"]
    assert ghosts
    assert all(code == "unknown_channel" for _, code, _ in ghosts)

    # Nothing lost: closed windows asked of the serving instance equal an audit.
    for cid, media, shard in CHANNELS:
        base = north_b.base if shard == "north" else south_a.base
        payloads = [p for c, p in items if c == cid]
        await assert_windows_match_audit(base, cid, media, payloads, (start, end), tmp_path)

    # Any instance says who serves a channel it does not.
    wrong = await _get(south_a.base, "/api/v1/channels/north-tv/status")
    assert wrong.status_code == 421
    served = wrong.json()["served_by"]
    assert served == {
        "channel": "north-tv",
        "shard": "north",
        "instance": north_b.name,
        "url": north_b.base,
        "leader": True,
    }
    assert north_b.name in wrong.json()["detail"]
    listed = {c["id"]: c for c in (await _get(north_b.base, "/api/v1/channels")).json()}
    assert set(listed) == {c for c, _, _ in CHANNELS}
    assert listed["south-tv"]["served_by"]["instance"] == south_a.name
    assert listed["south-tv"]["feed"] is None
    assert listed["north-tv"]["served_by"] is None
    assert listed["north-tv"]["shard"] == "north"
    board = (await _get(north_b.base, "/api/v1/board")).json()
    assert [t["channel"] for t in board["tiles"]] == ["north-tv", "north-radio"]
    assert [w["channel"] for w in board["elsewhere"]] == ["south-tv"]
    assert board["elsewhere"][0]["url"] == south_a.base

    # An event posted to the wrong shard: 421, dead-lettered with where to send it.
    one = next(p for c, p in items if c == "south-tv")
    async with httpx.AsyncClient(base_url=north_b.base, timeout=30) as http:
        posted = await http.post(
            "/api/v1/events", content=one, headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert posted.status_code == 421
    reason = posted.json()["results"][0]["reasons"][0]
    assert south_a.name in reason
    assert south_a.base in reason
    letters = [d for d in await _dead_letters(fleet.db_url) if d[1] == "foreign_channel"]
    assert len(letters) == 1
    assert letters[0][0] == "south-tv"

    # The survivors stop gracefully; the fleet forgets them.
    assert north_b.daemon.terminate() == 0
    assert south_a.daemon.terminate() == 0
