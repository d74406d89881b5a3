"""Checkpoints of the live state: taken while running, restored at start.

Taking one (per channel, round-robin, every ``checkpoint_every_s`` for each
channel, and for as many as fit in a second at shutdown): under the monitor's
lock, so no event is half applied, read the highest committed event row id
and capture the channel's items (:func:`efir.core.checkpoint.capture`); then,
outside the lock, serialise them (JSON, zlib) and store them under this
instance's name (``mqtt.client_id``).

Restoring one (:meth:`Checkpointer.restore`): restore the items, then read the
rows past the checkpoint (a higher id, or received in the last
``checkpoint_lookback_s`` before it was taken: rows another instance wrote
while this one took its checkpoint), hydrate the restored ids those rows
touch with their stored versions, and apply the rows. Applying a row the
checkpoint already reflected is a re-delivery, a no-op. A channel without a
usable checkpoint (none, another format, damaged, older than the live
horizon) is rebuilt from its stored versions as before.

Compacting one (every ``compact_every_s`` for each channel, with a
checkpoint when one is due, else on its own): under the same lock, the
captured items replace the channel's engine
(:meth:`~efir.daemon.monitor.Monitor.compact`). Items older than the live
horizon and every version held in memory go, so the live state stays the
size of the horizon however long Efir runs; the versions of a kept item are
hydrated from the store, as after a restart, when a new one arrives.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from typing import TYPE_CHECKING, Any

import pydantic_core

from efir.core.checkpoint import FORMAT, CheckpointError
from efir.core.timebase import US_PER_S
from efir.daemon.monitor import HORIZON_US
from efir.schema.asrun import EventError, parse_event
from efir.store.checkpoints import CheckpointStore, StoredCheckpoint
from efir.store.database import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from efir.core.event import AsRunEvent
    from efir.daemon.enrich import Enrichment
    from efir.daemon.monitor import Monitor
    from efir.metrics import Metrics
    from efir.store import Store
    from efir.store.checkpoints import StoredVersion

log = logging.getLogger(__name__)

#: zlib level: 1 packs a channel-week (1.6 MB of JSON) to ~0.3 MB in ~5 ms.
_ZLIB_LEVEL = 1
#: Shutdown takes checkpoints for at most this long (the rest restart from older ones).
SHUTDOWN_CHECKPOINT_S = 1.0


class Checkpointer:
    """Takes and restores the channels' checkpoints.

    Args:
        store: the database.
        monitor: the live state.
        holder: this instance's name (its checkpoints are its own).
        every_s: how often each channel gets a checkpoint; 0 takes and uses none.
        lookback_s: rows received this long before a checkpoint are re-read at restore.
        compact_every_s: how often each channel's live state is compacted; 0 never.
        enrichment: the channels' classification, applied to stored versions read back.
    """

    def __init__(
        self,
        store: Store,
        monitor: Monitor,
        metrics: Metrics,
        *,
        holder: str,
        every_s: float,
        lookback_s: float,
        compact_every_s: float = 0.0,
        now_us: Callable[[], int],
        enrichment: Enrichment | None = None,
    ) -> None:
        """Wire; nothing runs until :meth:`run` or :meth:`restore`."""
        self.enrichment = enrichment
        self.store = CheckpointStore(store)
        self.monitor = monitor
        self.metrics = metrics
        self.holder = holder
        self.every_s = every_s
        self.lookback_us = round(lookback_s * US_PER_S)
        self.now_us = now_us
        self.compact_every_us = round(compact_every_s * US_PER_S)
        self.taken: dict[str, int] = {}
        #: When each channel was last compacted; the first is due a period after this start.
        self.compacted: dict[str, int] = {}
        self._since = now_us()

    @property
    def enabled(self) -> bool:
        """Whether checkpoints are taken and used."""
        return self.every_s > 0

    # ------------------------------------------------------------- restore
    async def restore(self, since: int, now: int) -> set[str]:
        """Restore every channel with a usable checkpoint; return their ids.

        ``since``: the live horizon's start (µs UTC); ``now``: the present.
        """
        if not self.enabled:
            return set()
        stored = await self.store.load(self.holder)
        marks: dict[str, tuple[int, int]] = {}
        for cid, ck in stored.items():
            ch = self.monitor.get(cid)
            if ch is None:
                continue
            if ck.format != FORMAT or ck.taken_us < since:
                log.info("%s: checkpoint unusable (%s), rebuilding from events", cid, ck.format)
                continue
            try:
                data = pydantic_core.from_json(zlib.decompress(ck.data))
                self.monitor.restore(cid, data, since=since, upto=ck.upto_id, now=now)
            except (
                CheckpointError,
                zlib.error,
                ValueError,
                TypeError,
                KeyError,
                RecursionError,
            ) as e:
                # A checkpoint is a cache: one that cannot be read costs a replay, never the start.
                exc: Exception = e
                log.warning("%s: checkpoint not restored, rebuilding from events: %s", cid, exc)
                self.monitor.reset(cid)
                continue
            marks[cid] = (ck.upto_id, ck.taken_us - self.lookback_us)
            self.taken[cid] = ck.taken_us
        later = await self.store.rows_after(marks, since)
        enrichment = self.enrichment
        parsed = {cid: parse_stored(cid, _pairs(rows), enrichment) for cid, rows in later.items()}
        # One round of history queries for every channel, then the rows in order.
        await self.hydrate([event for events in parsed.values() for event in events])
        for cid, events in parsed.items():
            self.monitor.replay(cid, events)
        return set(marks)

    async def hydrate(self, events: Iterable[AsRunEvent]) -> int:
        """Hydrate the restored ids ``events`` touch with their stored versions; return how many."""
        wanted: dict[str, set[str]] = {}
        for event in events:
            if self.monitor.needs_history(event):
                wanted.setdefault(event.channel, set()).add(event.event_id)
        count = 0
        if not wanted:
            return 0
        found = await self.store.history(
            {cid: (ids, *self.monitor.channels[cid].history) for cid, ids in wanted.items()}
        )
        now = self.now_us()
        for cid, by_id in found.items():
            for event_id, rows in by_id.items():
                versions = parse_stored(cid, _pairs(rows), self.enrichment)
                self.monitor.hydrate(cid, event_id, versions, now)
                count += 1
        if count:
            self.metrics.hydrated.inc(count)
        return count

    # ---------------------------------------------------------------- take
    def compaction_due(self, channel_id: str, now: int) -> bool:
        """Whether ``channel_id`` was last compacted (or Efir started) a period ago."""
        if self.compact_every_us <= 0:
            return False
        return now - self.compacted.get(channel_id, self._since) >= self.compact_every_us

    async def take(self, channel_id: str, *, compact: bool | None = None) -> int:
        """Checkpoint one channel and compact its live state when due.

        ``compact`` forces (``True``) or skips (``False``) the compaction.
        Returns the stored checkpoint's size in bytes (0 with checkpoints off).
        """
        t0 = time.perf_counter()
        ch = self.monitor.channels[channel_id]
        now = self.now_us()
        if compact is None:
            compact = self.compaction_due(channel_id, now)
        if not compact and not self.enabled:
            return 0
        async with self.monitor.lock:
            upto = await self.store.watermark()
            data: dict[str, Any] = ch.engine.capture(now)
            if compact:
                # No await from the capture to the swap: no event lands in between.
                before, after = self.monitor.compact(
                    channel_id, data, since=now - HORIZON_US, upto=upto
                )
                self.compacted[channel_id] = now
                took = time.perf_counter() - t0
                self.metrics.compaction_seconds.observe(took)
                log.info(
                    "%s: live state compacted in %.3f s: %d items kept of %d",
                    channel_id,
                    took,
                    after,
                    before,
                )
        if not self.enabled:
            return 0
        blob = zlib.compress(pydantic_core.to_json(data), _ZLIB_LEVEL)
        await self.store.save(self.holder, StoredCheckpoint(channel_id, upto, now, FORMAT, blob))
        self.taken[channel_id] = now
        self.metrics.checkpoint_seconds.observe(time.perf_counter() - t0)
        self.metrics.checkpoint_bytes.labels(channel_id).set(len(blob))
        self.metrics.checkpoint_time.labels(channel_id).set(now / US_PER_S)
        return len(blob)

    def _oldest_first(self) -> list[str]:
        done = self.taken if self.enabled else self.compacted
        return sorted(self.monitor.channels, key=lambda c: done.get(c, 0))

    async def run(self) -> None:
        """Take a checkpoint of the channel whose last one is oldest, spread over ``every_s``.

        With checkpoints off, compact the channel compacted longest ago, spread
        over ``compact_every_s``.
        """
        period = self.every_s if self.enabled else self.compact_every_us / US_PER_S
        if period <= 0:
            return
        while True:
            channels = self._oldest_first()
            await asyncio.sleep(period / max(len(channels), 1))
            if not channels:
                continue
            try:
                await self.take(channels[0])
            except StoreError as exc:
                log.warning("checkpoint or compaction of %s not done: %s", channels[0], exc)

    async def take_all(self, budget_s: float = SHUTDOWN_CHECKPOINT_S) -> int:
        """At shutdown: checkpoint channels, oldest first, for ``budget_s`` at most.

        Returns how many were taken.
        """
        if not self.enabled:
            return 0
        done = 0
        deadline = time.perf_counter() + budget_s
        for cid in self._oldest_first():
            if time.perf_counter() >= deadline:
                break
            try:
                await self.take(cid, compact=False)
            except StoreError as exc:
                log.warning("checkpoints at shutdown stopped: %s", exc)
                break
            done += 1
        return done


#: What reading a damaged or foreign checkpoint can raise.
_UNREADABLE = (CheckpointError, zlib.error, ValueError, TypeError, KeyError, RecursionError)


def parse_stored(
    channel_id: str, rows: Iterable[tuple[bytes, int]], enrichment: Enrichment | None = None
) -> list[AsRunEvent]:
    """Parse stored ``(payload, received_us)`` versions; skip (and log) what no longer parses.

    A version stored under an older schema that this one refuses is left out
    rather than stopping the start. ``enrichment`` classifies as ingest did.
    """
    parse = enrichment.parse if enrichment is not None else parse_event
    out: list[AsRunEvent] = []
    for payload, received_us in rows:
        try:
            out.append(parse(payload, now_us=received_us, expect_channel=channel_id))
        except EventError as exc:
            log.warning("skipping a stored event of %s that no longer parses: %s", channel_id, exc)
    return out


def _pairs(rows: Iterable[StoredVersion]) -> Iterator[tuple[bytes, int]]:
    return ((r.payload, r.received_us) for r in rows)


__all__ = ["SHUTDOWN_CHECKPOINT_S", "Checkpointer", "parse_stored"]
