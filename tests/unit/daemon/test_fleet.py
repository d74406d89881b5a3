"""The fleet: who serves a channel of another shard, and what ingest does with its events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from efir.config.settings import ChannelConfig, Settings
from efir.config.shards import ShardMap
from efir.core.alerting.silence import Matcher, Silence
from efir.core.channel import ChannelProfile
from efir.core.timebase import US_PER_S
from efir.daemon.alerting import Alerter
from efir.daemon.fleet import ALIVE_S, Fleet
from efir.daemon.ingest import Inbound, Ingest
from efir.daemon.monitor import Monitor
from efir.metrics import Metrics
from efir.store import Store
from efir.store.alerts import AlertStore
from efir.store.journal import JournalEntry
from efir.store.outbox import OutboxRow
from efir.store.tables import receiver_state
from tests.helpers import firing_alert

S = US_PER_S
NOW = 1_794_808_800 * S
CHANNELS = [
    ChannelConfig(id="n1", shard="north"),
    ChannelConfig(id="s1", shard="south"),
]


def _event(channel: str) -> bytes:
    return json.dumps(
        {
            "schema": "efir.asrun/1",
            "channel": channel,
            "event_id": "e1",
            "start": "2026-11-16T10:00:00+05:00",
            "duration": 60,
            "kind": "program",
            "language": "kk",
        }
    ).encode()


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(f"sqlite+aiosqlite:///{tmp_path / 'fleet.db'}")
    await s.open()
    yield s
    await s.close()


def _fleet(store: Store, clock: Clock, me: str, shard: str, *, leading: bool) -> Fleet:
    shards = ShardMap.of(Settings(channels=CHANNELS, shard=shard))
    return Fleet(
        shards,
        store,
        Metrics(),
        me=me,
        url=f"http://{me}:8080",
        now_us=clock,
        leading=lambda: leading,
        configs={c.id: c for c in CHANNELS},
    )


async def test_the_leader_of_the_other_shard_is_named_while_it_reports(store: Store) -> None:
    clock = Clock()
    north = _fleet(store, clock, "north-1", "north", leading=True)
    south_standby = _fleet(store, clock, "south-2", "south", leading=False)
    south_leader = _fleet(store, clock, "south-1", "south", leading=True)
    for f in (south_standby, south_leader, north):
        await f.refresh()
    where = north.served_by("s1")
    assert where is not None
    assert (where.shard, where.instance, where.url, where.leader) == (
        "south",
        "south-1",
        "http://south-1:8080",
        True,
    )
    assert "south-1" in where.sentence()
    assert north.served_by("n1") is None  # its own
    assert north.served_by("ghost") is None  # nobody's
    assert south_leader.served_by("n1") is not None

    # The leader stops reporting: the standby is named, then nobody.
    clock.now += int(ALIVE_S * S) + 1
    await south_standby.refresh()
    await north.refresh()
    where = north.served_by("s1")
    assert where is not None
    assert where.instance == "south-2"
    assert not where.leader
    clock.now += int(ALIVE_S * S) + 1
    await north.refresh()
    where = north.served_by("s1")
    assert where is not None
    assert where.instance is None
    assert "no instance" in where.sentence()


async def test_leaving_makes_an_instance_look_down_at_once(store: Store) -> None:
    clock = Clock()
    north = _fleet(store, clock, "north-1", "north", leading=True)
    south = _fleet(store, clock, "south-1", "south", leading=True)
    await south.refresh()
    await north.refresh()
    assert north.served_by("s1").instance == "south-1"  # type: ignore[union-attr]
    await south.leave()
    await north.refresh()
    assert north.served_by("s1").instance is None  # type: ignore[union-attr]
    assert [r.id for r in north.rows] == ["north-1"]  # and its row is forgotten


async def _outcomes(
    store: Store, shard: str, items: list[Inbound]
) -> tuple[list[bool], list[tuple[str | None, str]], Metrics]:
    """Each item's acceptance and the dead letters; every item was acknowledged."""
    clock = Clock()
    fleet = _fleet(store, clock, f"{shard}-1", shard, leading=True)
    await _fleet(store, clock, "south-1", "south", leading=True).refresh()
    await fleet.refresh()
    metrics = Metrics()
    mine = [ChannelProfile(c.id) for c in CHANNELS if c.shard == shard]
    monitor = Monitor(mine, stale_after_s=300)
    ingest = Ingest(store, monitor, metrics, now_us=clock, queue_max=10, batch_max=10, fleet=fleet)
    writer = asyncio.create_task(ingest.run())
    acked: list[bool] = []
    for item in items:
        item.ack = lambda: acked.append(True)
    outcomes = await ingest.submit_all(items)
    writer.cancel()
    letters = [(d["channel_id"], d["code"]) for d in await store.dead()]
    assert len(acked) == len(items)  # what is left to another shard is acknowledged too
    return [o.accepted for o in outcomes], letters, metrics


async def test_another_shards_mqtt_events_are_left_to_it(store: Store) -> None:
    accepted, letters, metrics = await _outcomes(
        store,
        "north",
        [
            Inbound(_event("s1"), "mqtt", NOW, "asrun/s1/event", "s1"),
            Inbound(_event("n1"), "mqtt", NOW, "asrun/n1/event", "n1"),
            Inbound(_event("ghost"), "mqtt", NOW, "asrun/ghost/event", "ghost"),
        ],
    )
    assert accepted == [False, True, False]
    # south's event: acknowledged, not stored, not a dead letter; the unknown
    # channel is dead-lettered here, by the first shard.
    assert letters == [("ghost", "unknown_channel")]
    assert await store.count_events() == 1
    assert metrics.foreign.labels("south")._value.get() == 1


async def test_a_later_shard_leaves_unknown_channels_to_the_first(store: Store) -> None:
    accepted, letters, metrics = await _outcomes(
        store,
        "south",
        [
            Inbound(_event("ghost"), "mqtt", NOW, "asrun/ghost/event", "ghost"),
            Inbound(_event("n1"), "mqtt", NOW, "asrun/n1/event", "n1"),
        ],
    )
    assert accepted == [False, False]
    assert letters == []
    assert metrics.foreign.labels("")._value.get() == 1
    assert metrics.foreign.labels("north")._value.get() == 1


async def test_an_event_posted_to_the_wrong_shard_is_dead_lettered_naming_the_right_one(
    store: Store,
) -> None:
    clock = Clock()
    fleet = _fleet(store, clock, "north-1", "north", leading=True)
    await _fleet(store, clock, "south-1", "south", leading=True).refresh()
    await fleet.refresh()
    monitor = Monitor([ChannelProfile("n1")], stale_after_s=300)
    ingest = Ingest(
        store, monitor, Metrics(), now_us=clock, queue_max=10, batch_max=10, fleet=fleet
    )
    writer = asyncio.create_task(ingest.run())
    [outcome] = await ingest.submit_and_wait([_event("s1")], "http")
    writer.cancel()
    assert not outcome.accepted
    assert outcome.code == "foreign_channel"
    assert "south-1" in outcome.reasons[0]
    assert "http://south-1:8080" in outcome.reasons[0]
    [letter] = await store.dead()
    assert (letter["channel_id"], letter["code"]) == ("s1", "foreign_channel")


async def test_each_shard_loads_its_alerts_and_shares_silences_and_receivers(
    store: Store,
) -> None:

    north = AlertStore(store, frozenset({"n1", "efir"}))
    south = AlertStore(store, frozenset({"s1"}))
    rows = [
        OutboxRow(id=f"o-{c}", receiver="hook", channel_id=c, summary="s", body={}, created_us=NOW)
        for c in ("n1", "s1", "efir")
    ]
    await north.commit(
        changes={
            "a-n1": firing_alert("a-n1", at=NOW, channel="n1"),
            "a-s1": firing_alert("a-s1", at=NOW, channel="s1"),
        },
        sent={},
        groups={},
        rows=rows,
        now=NOW,
    )
    assert set((await north.load()).alerts) == {"a-n1"}
    assert set((await south.load()).alerts) == {"a-s1"}
    assert {r.id for r in await north.outbox.due(NOW, ())} == {"o-n1", "o-efir"}
    assert {r.id for r in await south.outbox.due(NOW, ())} == {"o-s1"}
    assert await south.channel_of("a-n1") == "n1"

    # South's leader sees a silence north created and a receiver north disabled.
    settings = Settings(channels=[ChannelConfig(id="s1", shard="south")], shard="south")
    alerter = Alerter(
        settings,
        Monitor(settings.profiles(), stale_after_s=300),
        south,
        Metrics(),
        now_us=lambda: NOW,
        wake_delivery=lambda: None,
        system=False,
        shared_state=True,
    )
    await alerter.lead(True)  # noqa: FBT003 - the lease's callback
    silence = Silence("sil-1", (Matcher("channel", "s1"),), NOW, NOW + S, "ops", "", NOW)
    await north.save_silence(silence, JournalEntry(NOW, "silence_created", None, "ops", {}))
    async with store.engine.begin() as conn:  # what a 410 Gone on north's worker leaves
        await conn.execute(
            insert(receiver_state).values(name="hook", disabled_us=NOW, reason="410 Gone")
        )
    await alerter.reload_shared()
    assert alerter.state is not None
    assert [s.id for s in alerter.state.silences] == ["sil-1"]
    assert alerter.disabled == {"hook": "410 Gone"}
    await north.enable_receiver("hook", "ops", NOW)
    await alerter.reload_shared()
    assert alerter.disabled == {}


async def test_instances_running_another_channel_list_are_told_apart(store: Store) -> None:
    clock = Clock()
    north = _fleet(store, clock, "north-1", "north", leading=True)
    south = _fleet(store, clock, "south-1", "south", leading=True)
    # Same list, other shard: the same digest.
    assert north.config == south.config
    await south.refresh()
    await north.refresh()
    assert north.differing == []
    assert north.metrics.fleet_consistent._value.get() == 1
    # An instance started with an older list: s1 still in north there.
    moved = [ChannelConfig(id="n1", shard="north"), ChannelConfig(id="s1", shard="north")]
    stale = Fleet(
        ShardMap.of(Settings(channels=moved, shard="north")),
        store,
        Metrics(),
        me="north-2",
        url="http://north-2:8080",
        now_us=clock,
        leading=lambda: False,
        configs={c.id: c for c in moved},
    )
    assert stale.config != north.config
    await stale.refresh()
    await north.refresh()
    assert north.differing == ["north-2"]
    assert north.metrics.fleet_consistent._value.get() == 0
    # It stops; once it is no longer running, the fleet is consistent again.
    await stale.leave()
    await north.refresh()
    assert north.differing == []
    assert north.metrics.fleet_consistent._value.get() == 1
