"""The delivery worker: sends due outbox rows, records every attempt, schedules retries.

* Each notification is sent at least once with the same ``webhook-id``; a crash
  between a receiver's ``2xx`` and the commit sends it again under that id,
  which is how receivers deduplicate.
* Retries back off exponentially with jitter (half fixed, half random) up to a
  cap; a receiver's ``Retry-After`` (429/503) is honoured, capped too. A
  notification still failing after ``max_age_s`` is marked ``failed``.
* ``410 Gone`` disables the receiver (its pending rows wait until it is enabled
  again through the API) and raises ``EfirReceiverGone`` on the other receivers.
* At most ``max_concurrency`` requests per receiver are in flight; a slow
  receiver cannot hold up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from typing import TYPE_CHECKING

from efir.core.timebase import US_PER_S
from efir.store.database import StoreError
from efir.store.outbox import DELIVERED, FAILED, PENDING, Attempt

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from efir.config.alerts import AlertsConfig
    from efir.metrics import Metrics
    from efir.notify.send import Result, Sender
    from efir.store.outbox import Outbox, OutboxRow

log = logging.getLogger(__name__)


def backoff_s(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds before retry number ``attempt`` (1-based).

    ``d/2 + U(0, d/2)`` with ``d = min(cap, base·2^(attempt-1))``: never a
    stampede of immediate retries, never two receivers in lockstep.
    """
    d = min(cap_s, base_s * 2.0 ** (attempt - 1))
    return d / 2 + rng.uniform(0, d / 2)


class DeliveryWorker:
    """Delivers the outbox while this instance is the leader."""

    def __init__(
        self,
        store: Outbox,
        config: AlertsConfig,
        sender: Sender,
        metrics: Metrics,
        *,
        now_us: Callable[[], int],
        disabled: Callable[[], Mapping[str, str]],
        on_disabled: Callable[[str, str], None],
        rng: random.Random | None = None,
        wakeup: asyncio.Event | None = None,
    ) -> None:
        """Wire the worker; :meth:`run` starts it.

        ``wakeup``: set by whoever commits outbox rows (the alerter, the API)
        so the worker looks at once; shared, so it can exist before the worker.
        """
        self.store = store
        self.config = config
        self.sender = sender
        self.metrics = metrics
        self.now_us = now_us
        #: Receivers disabled after 410 (owned by the alerter): their rows wait.
        self.disabled = disabled
        self.on_disabled = on_disabled
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._wake = wakeup if wakeup is not None else asyncio.Event()
        self._inflight: set[str] = set()
        self._limits: dict[str, asyncio.Semaphore] = {}

    def wake(self) -> None:
        """New rows were committed: look now."""
        self._wake.set()

    async def run(self, is_leader: Callable[[], bool]) -> None:
        """Deliver until cancelled (only while ``is_leader()``)."""
        while True:
            delay = 1.0
            if is_leader():
                try:
                    await self.deliver_due()
                    nxt = await self.store.next_due(self.disabled())
                    if nxt is not None:
                        delay = min(delay, max(0.0, (nxt - self.now_us()) / US_PER_S))
                except StoreError as exc:
                    log.warning("delivery: store unavailable: %s", exc)
                    delay = 2.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(delay, 0.005))
            self._wake.clear()

    async def deliver_due(self) -> int:
        """Attempt every due row once (concurrently per receiver); return how many."""
        now = self.now_us()
        rows = [r for r in await self.store.due(now, self.disabled()) if r.id not in self._inflight]
        if not rows:
            return 0
        async with asyncio.TaskGroup() as tg:
            for row in rows:
                self._inflight.add(row.id)
                tg.create_task(self._deliver(row))
        return len(rows)

    async def _deliver(self, row: OutboxRow) -> None:
        try:
            receiver = self.config.receiver(row.receiver)
            if receiver is None:
                attempt = Attempt("failed", error=f"receiver {row.receiver!r} is not configured")
                await self.store.record(
                    row,
                    attempt,
                    status=FAILED,
                    next_attempt_us=row.next_attempt_us,
                    now=self.now_us(),
                )
                return
            limit = self._limits.setdefault(
                row.receiver, asyncio.Semaphore(receiver.max_concurrency)
            )
            async with limit:
                t0 = time.perf_counter()
                result = await self.sender.send(row, receiver)
                ms = round((time.perf_counter() - t0) * 1000)
            await self._record(row, result, ms)
        except StoreError as exc:
            log.warning("delivery of %s not recorded (store unavailable): %s", row.id, exc)
        finally:
            self._inflight.discard(row.id)

    async def _record(self, row: OutboxRow, result: Result, ms: int) -> None:
        now = self.now_us()
        d = self.config.delivery
        attempt = Attempt(result.outcome, result.status_code, result.error, ms)
        self.metrics.notifications.labels(row.receiver, result.outcome).inc()
        disable = None
        if result.outcome == "delivered":
            status, nxt = DELIVERED, now
            self.metrics.notify_latency.observe(max(0, now - row.created_us) / US_PER_S)
        elif result.outcome == "gone":
            status, nxt = FAILED, now
            disable = result.error or "gone"
        elif result.outcome == "failed":
            status, nxt = FAILED, now
        elif (now - row.created_us) / US_PER_S >= d.max_age_s:
            status, nxt = FAILED, now
            attempt = Attempt(
                "failed",
                result.status_code,
                f"gave up after {row.attempts + 1} attempts: {result.error}",
                ms,
            )
        else:
            status = PENDING
            if result.retry_after_s is not None:
                wait = min(result.retry_after_s, d.retry_after_max_s)
            else:
                wait = backoff_s(row.attempts + 1, d.backoff_min_s, d.backoff_max_s, self.rng)
            nxt = now + round(wait * US_PER_S)
        await self.store.record(
            row, attempt, status=status, next_attempt_us=nxt, now=now, disable_reason=disable
        )
        level = logging.INFO if status != FAILED else logging.ERROR
        log.log(
            level,
            "notification %s to %s: %s%s",
            row.id,
            row.receiver,
            attempt.outcome,
            f" ({attempt.error})" if attempt.error else "",
        )
        if disable is not None:
            self.on_disabled(row.receiver, disable)
