"""Ingest: validate, store, then count, then acknowledge — in that order.

Every inbound payload (MQTT, HTTP, dead-letter replay) goes through one
bounded queue to one writer task. The writer takes a batch, validates each
payload, commits the accepted versions and the dead letters in one
transaction, retries the commit while the database is away, and only then
applies the events to the live counters and acknowledges them (MQTT PUBACK,
HTTP response). A crash at any moment therefore loses nothing acknowledged: an
unacknowledged message is delivered again, and the store keeps one copy of an
identical version.

Events for an id restored from a checkpoint without its versions first get
those versions from the store (``hydrate``, see :mod:`efir.daemon.checkpoints`).
The writer holds the monitor's lock (:attr:`efir.daemon.monitor.Monitor.lock`)
from commit to the last applied event, so a checkpoint never sees a batch
half applied.

A full queue makes producers wait: the MQTT reader stops reading, the broker
stops sending once its in-flight window is full, and ``/readyz`` says so.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from efir.core.event import AsRunEvent  # noqa: TC001 - used at runtime in dataclass fields
from efir.core.timebase import US_PER_S
from efir.schema.asrun import EventError, parse_event
from efir.store.database import DeadLetter, EventRow, StoreUnavailableError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from efir.daemon.enrich import Enrichment
    from efir.daemon.fleet import Fleet
    from efir.daemon.monitor import Monitor
    from efir.metrics import Metrics
    from efir.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one payload."""

    accepted: bool
    event_id: str | None = None
    code: str | None = None
    reasons: tuple[str, ...] = ()
    #: Left to another shard (an MQTT message for a channel this instance does
    #: not serve): acknowledged, neither stored nor dead-lettered here.
    skipped: bool = False


@dataclass(slots=True)
class Inbound:
    """One payload on its way in.

    Attributes:
        payload: the raw bytes.
        source: ``mqtt``, ``http`` or ``replay``.
        received_us: receipt instant (µs UTC).
        topic: the MQTT topic, if any.
        channel: the channel the transport names (topic), checked against the payload.
        ack: called after the commit (MQTT acknowledgement).
        done: resolved after the commit (HTTP response, replay).
        letter_id: the dead letter this payload replays (a refusal updates it).
        refusal: ``(code, reason)`` when the transport already refused it (an
            HTTP body over the limit): it is dead-lettered as it is.
        size: the size received when ``payload`` is only its first bytes.
    """

    payload: bytes
    source: str
    received_us: int
    topic: str | None = None
    channel: str | None = None
    ack: Callable[[], None] | None = None
    done: asyncio.Future[Outcome] | None = field(default=None)
    letter_id: int | None = None
    refusal: tuple[str, str] | None = None
    size: int | None = None


def digest(event: AsRunEvent) -> str:
    """SHA-256 of the canonical event: equal versions, equal digests (any process)."""
    fields: dict[str, Any] = event._asdict()
    fields["tags"] = sorted(event.tags)
    fields["given"] = sorted(event.given)
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Ingest:
    """The queue and its single writer."""

    def __init__(
        self,
        store: Store,
        monitor: Monitor,
        metrics: Metrics,
        *,
        now_us: Callable[[], int],
        queue_max: int,
        batch_max: int,
        hydrate: Callable[[Sequence[AsRunEvent]], Awaitable[int]] | None = None,
        on_applied: Callable[[set[str]], None] | None = None,
        enrichment: Enrichment | None = None,
        fleet: Fleet | None = None,
    ) -> None:
        """Create the queue; :meth:`run` is the writer task.

        Args:
            store: where batches are committed.
            monitor: the live state events are applied to (its lock is held
                from commit to the last applied event).
            metrics: the process's metrics.
            now_us: the clock (µs UTC).
            queue_max: payloads queued at most (producers wait beyond).
            batch_max: payloads committed in one transaction at most.
            hydrate: gives ids restored from a checkpoint their stored
                versions before new ones apply (the checkpointer's).
            on_applied: called with the channels a batch changed (the
                alerter's wake-up).
            enrichment: the channels' classification (``classify:``), applied
                to each payload before it is counted; the payload is stored
                as it arrived.
            fleet: the shards (docs/scaling.md). An MQTT message for a channel
                of another shard is acknowledged and left to it (that shard's
                instances have their own subscription); one posted over HTTP
                or replayed is dead-lettered as ``foreign_channel``, naming
                the instance that serves it. A channel nobody configured is
                dead-lettered by the first shard only.
        """
        self.fleet = fleet
        self.parse = enrichment.parse if enrichment is not None else parse_event
        self.store = store
        self.monitor = monitor
        self.metrics = metrics
        self.now_us = now_us
        self.queue: asyncio.Queue[Inbound] = asyncio.Queue(queue_max)
        self.batch_max = batch_max
        self.store_error: str | None = None
        #: Event versions committed (re-deliveries included) and payloads handled in all.
        self.committed = 0
        self.processed = 0
        self.on_applied = on_applied
        self.hydrate = hydrate
        metrics.queue_capacity.set(queue_max)
        metrics.store_up.set(1)

    # ------------------------------------------------------------- producers
    async def submit(self, item: Inbound) -> None:
        """Queue a payload; waits while the queue is full (backpressure)."""
        await self.queue.put(item)
        self.metrics.queue_depth.set(self.queue.qsize())

    async def submit_and_wait(self, payloads: list[bytes], source: str) -> list[Outcome]:
        """Queue payloads and wait until each is committed (or dead-lettered)."""
        now = self.now_us()
        return await self.submit_all([Inbound(p, source, now) for p in payloads])

    async def submit_all(self, items: list[Inbound]) -> list[Outcome]:
        """Queue inbound payloads and wait until each is committed (or dead-lettered)."""
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[Outcome]] = []
        for item in items:
            item.done = done = loop.create_future()
            futures.append(done)
            await self.submit(item)
        return list(await asyncio.gather(*futures))

    @property
    def saturated(self) -> bool:
        """The queue is at least 90 % full: producers are being held back."""
        return self.queue.qsize() >= 0.9 * self.queue.maxsize

    # ---------------------------------------------------------------- writer
    async def run(self) -> None:
        """Commit batches until cancelled (cancel it only once :meth:`idle` returned)."""
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.batch_max and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.metrics.queue_depth.set(self.queue.qsize())
            try:
                await self._process(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def idle(self) -> None:
        """Wait until everything queued so far is committed and acknowledged."""
        await self.queue.join()

    async def _process(self, batch: list[Inbound]) -> None:
        rows: list[EventRow] = []
        dead: list[DeadLetter] = []
        accepted: list[tuple[Inbound, AsRunEvent | None, Outcome]] = []
        for item in batch:
            event, outcome, row, letter = self._check(item)
            if row is not None:
                rows.append(row)
            if letter is not None:
                dead.append(letter)
            accepted.append((item, event, outcome))
        async with self.monitor.lock:
            refused = await self._commit(rows, dead)
            if refused:
                accepted = _refuse(accepted, refused)
                rows = [r for i, r in enumerate(rows) if i not in refused]
            hydrate = self.hydrate
            events = [e for _, e, _ in accepted if e is not None]
            if hydrate is not None and events:
                await self._retry(lambda: hydrate(events))
            self._apply(batch, accepted, rows)

    def _apply(
        self,
        batch: list[Inbound],
        accepted: list[tuple[Inbound, AsRunEvent | None, Outcome]],
        rows: list[EventRow],
    ) -> None:
        now = self.now_us()
        for item, event, outcome in accepted:
            if event is not None:
                self.monitor.apply(event, item.received_us, now)
                self.metrics.ingested.labels(event.channel, item.source).inc()
            elif outcome.skipped:
                pass  # counted in efir_events_foreign_total when it was checked
            else:
                self.metrics.rejected.labels(outcome.code or "invalid").inc()
            self.metrics.ingest_lag.observe(max(now - item.received_us, 0) / US_PER_S)
            if item.ack is not None:
                item.ack()
            if item.done is not None and not item.done.done():
                item.done.set_result(outcome)
        self.committed += len(rows)
        self.processed += len(batch)
        self.metrics.batches.inc()
        if rows and self.on_applied is not None:
            self.on_applied({e.channel for _, e, _ in accepted if e is not None})

    def _check(
        self, item: Inbound
    ) -> tuple[AsRunEvent | None, Outcome, EventRow | None, DeadLetter | None]:
        def reject(
            code: str, reasons: list[str], channel: str | None
        ) -> tuple[None, Outcome, None, DeadLetter]:
            letter = DeadLetter(
                item.received_us,
                item.source,
                item.topic,
                channel,
                code,
                "; ".join(reasons),
                item.payload,
                item.letter_id,
                item.size,
            )
            return None, Outcome(accepted=False, code=code, reasons=tuple(reasons)), None, letter

        if item.refusal is not None:
            return reject(item.refusal[0], [item.refusal[1]], item.channel)
        if item.channel is not None and self.monitor.get(item.channel) is None:
            return self._not_here(item, item.channel, reject)
        try:
            event = self.parse(item.payload, now_us=item.received_us, expect_channel=item.channel)
        except EventError as exc:
            return reject(exc.code, exc.reasons, item.channel)
        except Exception as exc:
            # Any bytes give an event or a dead letter, never a stopped writer.
            log.exception("a payload could not be checked (a defect: please report it)")
            why = f"the payload could not be checked: {exc!r}"
            return reject("unreadable", [why], item.channel)
        if self.monitor.get(event.channel) is None:
            return self._not_here(item, event.channel, reject)
        at = event.start if event.start is not None else item.received_us
        row = EventRow(
            event.channel,
            event.event_id,
            str(event.phase),
            at,
            digest(event),
            item.received_us,
            item.source,
            item.payload,
        )
        return event, Outcome(accepted=True, event_id=event.event_id), row, None

    def _not_here(
        self,
        item: Inbound,
        channel: str,
        reject: Callable[[str, list[str], str | None], tuple[None, Outcome, None, DeadLetter]],
    ) -> tuple[None, Outcome, None, DeadLetter | None]:
        """A payload for a channel this instance does not serve: skipped or dead-lettered."""
        fleet = self.fleet
        if fleet is None:
            return reject("unknown_channel", [_unknown(channel)], channel)
        shard = fleet.shards.elsewhere(channel)
        by_broker = item.source == "mqtt"
        if shard is not None or (by_broker and not fleet.shards.primary):
            if by_broker:
                self.metrics.foreign.labels(shard or "").inc()
                why = f"channel {channel!r} is not served by this shard"
                return (
                    None,
                    Outcome(accepted=False, code="foreign_channel", reasons=(why,), skipped=True),
                    None,
                    None,
                )
            where = fleet.describe(channel) or f"channel {channel!r} is served by another shard"
            return reject("foreign_channel", [f"{where}: send it there"], channel)
        return reject("unknown_channel", [_unknown(channel)], channel)

    async def _commit(self, rows: list[EventRow], dead: list[DeadLetter]) -> dict[int, str]:
        """Store the batch; returns the rows the database refused (each is dead-lettered)."""
        refused: dict[int, str] = {}

        async def save() -> None:
            refused.update(await self.store.save(rows, dead))

        await self._retry(save, len(rows))
        for reason in refused.values():
            log.warning("an event the database could not hold was dead-lettered: %s", reason)
        return refused

    async def _retry(self, op: Callable[[], Awaitable[object]], holding: int = 0) -> None:
        """Run a store operation until it succeeds (jittered backoff while the store is away).

        Only an unavailable store is retried; a data error is the caller's to handle.
        """
        delay = 0.2
        while True:
            try:
                await op()
            except StoreUnavailableError as exc:
                if self.store_error is None:
                    log.error("store unavailable, holding %d events: %s", holding, exc)
                self.store_error = str(exc)
                self.metrics.store_up.set(0)
                self.metrics.store_errors.inc()
                await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter
                delay = min(delay * 2, 5.0)
                continue
            if self.store_error is not None:
                log.warning("store available again")
            self.store_error = None
            self.metrics.store_up.set(1)
            return


def _refuse(
    accepted: list[tuple[Inbound, AsRunEvent | None, Outcome]], refused: dict[int, str]
) -> list[tuple[Inbound, AsRunEvent | None, Outcome]]:
    """Turn the outcomes of rows the database refused into refusals (they are dead letters).

    ``refused`` is indexed like the batch's rows: one per accepted event, in order.
    """
    out: list[tuple[Inbound, AsRunEvent | None, Outcome]] = []
    row = -1
    for item, event, outcome in accepted:
        if event is not None:
            row += 1
            reason = refused.get(row)
            if reason is not None:
                why = (f"the database refused the event: {reason}",)
                outcome = Outcome(  # noqa: PLW2901 - the entry's outcome, revised
                    accepted=False, event_id=event.event_id, code="unstorable", reasons=why
                )
                event = None  # noqa: PLW2901
        out.append((item, event, outcome))
    return out


def _unknown(channel: str) -> str:
    return f"channel {channel!r} is not monitored (add it to channels: in the configuration)"
