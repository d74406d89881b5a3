"""Restart from checkpoints on PostgreSQL and SQLite: the same figures as replaying every event.

A day of a TV feed, with an item left open across the checkpoint, a late
correction and a cancel of items the checkpoint holds, and a re-delivered
start of an item cancelled before it. The daemon checkpoints, takes more
events, stops without a last checkpoint (as after ``kill -9``), restarts from
its checkpoint and the rows after it, then takes events for restored items
(which need their stored versions). A third start with checkpoints off
replays every stored version: all three agree window by window.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings
from efir.core.timebase import US_PER_S, to_us
from efir.daemon.monitor import HORIZON_US, live_since
from efir.daemon.service import Service
from efir.sim.feed import FeedSpec, generate
from efir.store.tables import checkpoints
from tests.unit.api.inprocess import writing

pytestmark = pytest.mark.integration

ALMATY = ZoneInfo("Asia/Almaty")
DAY = datetime(2026, 11, 16, tzinfo=ALMATY)
NOW = to_us(DAY + timedelta(hours=23, minutes=50))


def _settings(db_url: str, *, checkpoints: bool, compact_every_s: float = 0) -> Settings:
    return Settings(
        database_url=db_url,
        mqtt_url="mqtt://127.0.0.1:1",  # not connected: events come in through the ingest
        channels=[ChannelConfig(id="qaz-tv")],
        checkpoint_every_s=300 if checkpoints else 0,
        compact_every_s=compact_every_s,
    )


class Clock:
    """The daemon's clock, set by the test (µs UTC)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> int:
        return self.now

    def at(self, hours_before_now: float) -> None:
        self.now = NOW - round(hours_before_now * 3600 * US_PER_S)


@contextlib.asynccontextmanager
async def _service(
    db_url: str, clock: Clock, *, checkpoints: bool = True, compact_every_s: float = 0
) -> AsyncIterator[Service]:
    """Open (restore or replay), run the ingest writer; on exit stop as a crash would."""
    settings = _settings(db_url, checkpoints=checkpoints, compact_every_s=compact_every_s)
    async with writing(build(settings, now_us=clock)) as service:
        yield service


async def _send(service: Service, events: list[dict[str, Any]]) -> None:
    outcomes = await service.ingest.submit_and_wait(
        [json.dumps(e).encode() for e in events], "http"
    )
    assert all(o.accepted for o in outcomes), [o.reasons for o in outcomes if not o.accepted]


def _figures(service: Service) -> tuple[object, ...]:
    """Every window of the live horizon, the status and what is on air: all a restart shows."""
    engine = service.monitor.channels["qaz-tv"].engine
    return (
        engine.windows(NOW - HORIZON_US, NOW, now=NOW),
        engine.status(NOW),
        engine.ledger.on_air(NOW),
    )


def _at(hours: float) -> str:
    return (DAY + timedelta(hours=hours)).isoformat()


async def test_a_restart_from_a_checkpoint_equals_replaying_every_event(db_url: str) -> None:
    feed = list(
        generate(FeedSpec("qaz-tv", phases="start_end", seed=11), DAY, DAY + timedelta(hours=22))
    )
    first, second = feed[: len(feed) * 2 // 3], feed[len(feed) * 2 // 3 :]
    base = {"schema": "efir.asrun/1", "channel": "qaz-tv", "layer": "secondary", "kind": "program"}
    # Secondary (an overlay) so it does not cut the feed's primary items.
    long_start = {
        **base,
        "event_id": "overlay-1",
        "phase": "start",
        "start": _at(2),
        "language": "kk",
        "title": "Сурдоаударма",
        "tags": ["sign_language"],
    }
    gone = {**base, "event_id": "overlay-2", "phase": "complete", "start": _at(3), "duration": 60}
    gone_cancel = {
        "schema": "efir.asrun/1",
        "channel": "qaz-tv",
        "event_id": "overlay-2",
        "phase": "cancel",
    }
    victim = next(e for e in first if e["phase"] == "start" and e.get("language") == "kk")
    corrected = {**victim, "phase": "correction", "language": "ru", "duration": 600}
    cancelled = next(
        e for e in first if e["phase"] == "start" and e["event_id"] != victim["event_id"]
    )
    cancel = {
        "schema": "efir.asrun/1",
        "channel": "qaz-tv",
        "event_id": cancelled["event_id"],
        "phase": "cancel",
    }
    long_end = {
        "schema": "efir.asrun/1",
        "channel": "qaz-tv",
        "event_id": "overlay-1",
        "phase": "end",
        "start": _at(2),
        "duration": 5 * 3600,
    }

    clock = Clock()
    clock.at(5)
    async with _service(db_url, clock) as running:
        assert running.restored == set()  # nothing to restore from yet
        await _send(running, [*first, long_start, gone, gone_cancel])
        clock.at(3)  # received two hours before: outside the restore's lookback
        assert await running.checkpointer.take_all(budget_s=30) == 1
        clock.at(2)
        await _send(running, second)
        before = _figures(running)

    # Restored from the checkpoint plus the rows after it: the same figures.
    clock.at(0)
    async with _service(db_url, clock) as restarted:
        assert restarted.restored == {"qaz-tv"}
        assert _figures(restarted) == before
        # Rows after the checkpoint for ids it holds (an item cut by the split) were hydrated.
        split = {e["event_id"] for e in second} & {e["event_id"] for e in first}
        assert restarted.metrics.hydrated._value.get() == len(split)
        # Events for items the checkpoint holds: their stored versions are fetched
        # first. The last is the re-delivered start of an item cancelled before it.
        await _send(restarted, [long_end, corrected, cancel, gone])
        assert restarted.metrics.hydrated._value.get() == len(split) + 4
        book = restarted.monitor.channels["qaz-tv"].engine.book
        overlay = book.item("overlay-1")
        assert overlay is not None
        assert overlay.end == to_us(DAY + timedelta(hours=7))
        assert overlay.event.title == "Сурдоаударма"  # inherited from the start it never saw
        assert overlay.event.tags == frozenset({"sign_language"})
        assert book.item(cancelled["event_id"]) is None
        assert book.item("overlay-2") is None  # cancelled before the checkpoint, still cancelled
        assert book.item(victim["event_id"]).event.language == "ru"
        after = _figures(restarted)
    assert after != before

    # Checkpoints off: every stored version replayed. Same figures again.
    async with _service(db_url, clock, checkpoints=False) as replayed:
        assert replayed.restored == set()
        assert _figures(replayed) == after


async def test_an_unusable_checkpoint_falls_back_to_replaying(db_url: str) -> None:
    feed = list(
        generate(FeedSpec("qaz-tv", phases="start_end", seed=5), DAY, DAY + timedelta(hours=6))
    )
    clock = Clock()
    async with _service(db_url, clock) as running:
        await _send(running, feed)
        assert await running.checkpointer.take_all(budget_s=30) == 1
        expected = _figures(running)
        async with running.store.engine.begin() as conn:
            await conn.execute(update(checkpoints).values(data=b"not zlib"))
    async with _service(db_url, clock) as restarted:
        assert restarted.restored == set()
        assert _figures(restarted) == expected


async def test_compaction_keeps_the_figures_and_drops_what_the_horizon_left(db_url: str) -> None:
    """Compact a running channel: old items and versions go, every figure stays.

    Items aired eleven days ago are in memory (they were live then); half a day
    of feed follows, with items still on air at the compaction. After it, the
    old items are gone, no version is held, and the ends, a correction and a
    cancel of kept items fetch their versions from the store. The figures equal
    a start that replays every stored version, which never compacted anything.
    """
    feed = list(
        generate(FeedSpec("qaz-tv", phases="start_end", seed=3), DAY, DAY + timedelta(hours=12))
    )
    # Split right after a start: that item is on air at the compaction.
    half = next(n for n in range(len(feed) // 2, len(feed)) if feed[n - 1]["phase"] == "start")
    first, second = feed[:half], feed[half:]
    on_air = feed[half - 1]
    old_day = DAY - timedelta(days=11)
    old = [
        {
            "schema": "efir.asrun/1",
            "channel": "qaz-tv",
            "event_id": f"old-{n}",
            "phase": "complete",
            "start": (old_day + timedelta(minutes=10 * n)).isoformat(),
            "duration": 600,
            "kind": "program",
            "language": "kk",
        }
        for n in range(30)
    ]
    victim = next(e for e in first if e["phase"] == "start" and e.get("kind") == "program")
    corrected = {**victim, "phase": "correction", "language": "ru", "duration": 300}
    cancelled = next(
        e for e in first if e["phase"] == "start" and e["event_id"] != victim["event_id"]
    )
    cancel = {"schema": "efir.asrun/1", "channel": "qaz-tv", "event_id": cancelled["event_id"]}
    cancel["phase"] = "cancel"

    clock = Clock()
    clock.now = to_us(old_day + timedelta(hours=6))
    async with _service(db_url, clock, checkpoints=False, compact_every_s=3600) as running:
        await _send(running, old)
        clock.at(12)
        await _send(running, first)
        ch = running.monitor.channels["qaz-tv"]
        held = len(ch.engine.book)
        assert ch.engine.book.item("old-0") is not None
        assert running.checkpointer.compaction_due("qaz-tv", clock.now)  # a day since the start
        assert await running.checkpointer.take("qaz-tv") == 0  # checkpoints off: compaction only
        assert running.metrics.compaction_seconds._sum.get() > 0
        assert not running.checkpointer.compaction_due("qaz-tv", clock.now)
        book = ch.engine.book
        assert len(book) == held - len(old)
        assert book.item("old-0") is None
        assert book.versions(victim["event_id"]) == []  # no version held: fetched when needed
        assert book.needs_history(victim["event_id"])
        clock.at(0)
        await _send(running, [*second, corrected, cancel])
        assert running.metrics.hydrated._value.get() == 3  # the item on air, victim, cancelled
        live = ch.engine
        ended = live.book.item(on_air["event_id"])
        assert ended is not None
        assert ended.end is not None
        # Its end gives no attributes: they come from the start the compaction let go of.
        assert (ended.event.kind, ended.event.language, ended.event.title) == (
            on_air["kind"],
            on_air.get("language"),
            on_air.get("title"),
        )
        assert live.book.item(victim["event_id"]).event.language == "ru"
        assert live.book.item(cancelled["event_id"]) is None
        compacted = (
            live.windows(live_since(NOW), NOW, now=NOW),
            live.status(NOW),
            live.ledger.on_air(NOW),
        )

    async with _service(db_url, clock, checkpoints=False) as replayed:
        engine = replayed.monitor.channels["qaz-tv"].engine
        assert engine.book.item(victim["event_id"]).event.language == "ru"
        assert compacted == (
            engine.windows(live_since(NOW), NOW, now=NOW),
            engine.status(NOW),
            engine.ledger.on_air(NOW),
        )
