"""The outbox: every notification to every receiver, its attempts, and re-sending.

Rows are written by the alerter's planning step (:meth:`AlertStore.commit`,
in the same transaction as the alert state) and delivered from here by the
delivery worker; each attempt is recorded with the row's new state
atomically, so a crash repeats at most the attempt in flight.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update

from efir.redact import redact
from efir.store.database import columns, unavailable
from efir.store.journal import JournalEntry, append_journal
from efir.store.tables import deliveries, outbox, receiver_state

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy import Select

    from efir.store.database import Store

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One notification to one receiver. ``id`` is the ``webhook-id`` of every attempt."""

    id: str
    receiver: str
    channel_id: str
    summary: str
    body: dict[str, Any]
    created_us: int
    status: str = PENDING
    attempts: int = 0
    next_attempt_us: int = 0
    last_error: str | None = None
    delivered_us: int | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one delivery attempt."""

    outcome: str  # delivered | retry | failed | gone
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


class Outbox:
    """The ``outbox`` and ``deliveries`` tables of one :class:`~efir.store.Store`."""

    def __init__(self, store: Store, scope: frozenset[str] | None = None) -> None:
        """Use ``store``'s engine.

        ``scope``: the channels whose rows this instance delivers (its shard's,
        docs/scaling.md); ``None``: every row.
        """
        self.store = store
        self.scope = scope

    def _deliverable(self, q: Select[Any], disabled: Iterable[str]) -> Select[Any]:
        """``q`` restricted to rows this instance delivers: enabled receivers, its scope."""
        off = list(disabled)
        if off:
            q = q.where(outbox.c.receiver.not_in(off))
        if self.scope is not None:
            q = q.where(outbox.c.channel_id.in_(sorted(self.scope)))
        return q

    async def due(self, now: int, disabled: Iterable[str], limit: int = 200) -> list[OutboxRow]:
        """Pending rows whose next attempt is due, oldest first, skipping disabled receivers."""
        q = (
            select(outbox)
            .where(outbox.c.status == PENDING, outbox.c.next_attempt_us <= now)
            .order_by(outbox.c.next_attempt_us, outbox.c.created_us)
            .limit(limit)
        )
        q = self._deliverable(q, disabled)
        with unavailable():
            async with self.store.engine.connect() as conn:
                return [_row(r) for r in (await conn.execute(q)).mappings()]

    async def next_due(self, disabled: Iterable[str]) -> int | None:
        """The earliest next attempt of a pending row (µs), or ``None``."""
        q = select(func.min(outbox.c.next_attempt_us)).where(outbox.c.status == PENDING)
        q = self._deliverable(q, disabled)
        with unavailable():
            async with self.store.engine.connect() as conn:
                value = (await conn.execute(q)).scalar()
        return None if value is None else int(value)

    async def record(
        self,
        row: OutboxRow,
        attempt: Attempt,
        *,
        status: str,
        next_attempt_us: int,
        now: int,
        disable_reason: str | None = None,
    ) -> None:
        """Record one attempt and the row's new state (and a disabled receiver) atomically."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                await conn.execute(
                    insert(deliveries).values(
                        outbox_id=row.id,
                        attempt=row.attempts + 1,
                        at_us=now,
                        outcome=attempt.outcome,
                        status_code=attempt.status_code,
                        error=_masked(attempt.error),
                        duration_ms=attempt.duration_ms,
                    )
                )
                await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == row.id)
                    .values(
                        status=status,
                        attempts=row.attempts + 1,
                        next_attempt_us=next_attempt_us,
                        last_error=_masked(attempt.error),
                        delivered_us=now if status == DELIVERED else None,
                        updated_us=now,
                    )
                )
                if disable_reason is not None:
                    await conn.execute(
                        delete(receiver_state).where(receiver_state.c.name == row.receiver)
                    )
                    await conn.execute(
                        insert(receiver_state).values(
                            name=row.receiver, disabled_us=now, reason=disable_reason
                        )
                    )
                    await append_journal(
                        conn,
                        [
                            JournalEntry(
                                now,
                                "receiver_disabled",
                                None,
                                "efir",
                                {"receiver": row.receiver, "reason": disable_reason},
                            )
                        ],
                    )

    async def resend(self, outbox_id: str, actor: str, now: int) -> OutboxRow | None:
        """Queue a row again (same ``webhook-id``); ``None`` if there is no such row."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                result = await conn.execute(
                    update(outbox)
                    .where(outbox.c.id == outbox_id)
                    .values(status=PENDING, next_attempt_us=now, updated_us=now)
                )
                if not result.rowcount:
                    return None
                await append_journal(
                    conn, [JournalEntry(now, "resend", None, actor, {"outbox_id": outbox_id})]
                )
                found = (
                    (await conn.execute(select(outbox).where(outbox.c.id == outbox_id)))
                    .mappings()
                    .one()
                )
        return _row(found)

    async def outbox_rows(
        self, *, status: str | None = None, receiver: str | None = None, limit: int = 100
    ) -> list[OutboxRow]:
        """Notifications, newest first."""
        q = select(outbox).order_by(outbox.c.created_us.desc(), outbox.c.id).limit(limit)
        if status is not None:
            q = q.where(outbox.c.status == status)
        if receiver is not None:
            q = q.where(outbox.c.receiver == receiver)
        with unavailable():
            async with self.store.engine.connect() as conn:
                return [_row(r) for r in (await conn.execute(q)).mappings()]

    async def add(self, row: OutboxRow, now: int) -> bool:
        """Queue ``row`` unless a row with its id exists (``False`` then): idempotent by id.

        Scheduled notifications (the weekly reports) have ids made of what
        they are, so that a restart, or a second instance, queues each once.
        """
        with unavailable():
            async with self.store.engine.begin() as conn:
                found = await conn.execute(select(outbox.c.id).where(outbox.c.id == row.id))
                if found.first() is not None:
                    return False
                await conn.execute(insert(outbox).values(**outbox_values(row, now)))
        return True

    async def outbox_row(self, outbox_id: str) -> OutboxRow | None:
        """One notification, or ``None``."""
        with unavailable():
            async with self.store.engine.connect() as conn:
                found = (
                    (await conn.execute(select(outbox).where(outbox.c.id == outbox_id)))
                    .mappings()
                    .first()
                )
        return None if found is None else _row(found)

    async def attempts(self, outbox_id: str) -> list[dict[str, Any]]:
        """Every attempt of one notification, oldest first."""
        q = select(deliveries).where(deliveries.c.outbox_id == outbox_id).order_by(deliveries.c.id)
        with unavailable():
            async with self.store.engine.connect() as conn:
                return [dict(r) for r in (await conn.execute(q)).mappings()]

    async def counts(self, status: str | None = None) -> dict[tuple[str, str], int]:
        """Outbox rows per ``(receiver, status)`` (of one ``status``: an index scan)."""
        q = select(outbox.c.receiver, outbox.c.status, func.count()).group_by(
            outbox.c.receiver, outbox.c.status
        )
        if status is not None:
            q = q.where(outbox.c.status == status)
        with unavailable():
            async with self.store.engine.connect() as conn:
                return {(r, s): int(n) for r, s, n in (await conn.execute(q)).all()}

    async def prune(self, cutoff_us: int) -> int:
        """Drop finished notifications (and their attempts) created before ``cutoff_us``."""
        old = select(outbox.c.id).where(outbox.c.created_us < cutoff_us, outbox.c.status != PENDING)
        with unavailable():
            async with self.store.engine.begin() as conn:
                await conn.execute(delete(deliveries).where(deliveries.c.outbox_id.in_(old)))
                result = await conn.execute(
                    delete(outbox).where(
                        outbox.c.created_us < cutoff_us, outbox.c.status != PENDING
                    )
                )
        return int(result.rowcount or 0)


def _masked(text: str | None) -> str | None:
    """A receiver's error text with URL credentials and tokens masked (it is served by the API)."""
    return None if text is None else redact(text)


def outbox_values(r: OutboxRow, now: int) -> dict[str, Any]:
    """``r`` as an ``outbox`` row inserted at ``now``."""
    # The dataclass fields are the table's columns, plus the row's update time.
    return {**columns(r), "next_attempt_us": r.next_attempt_us or r.created_us, "updated_us": now}


def _row(r: Mapping[Any, Any]) -> OutboxRow:
    return OutboxRow(**{f: r[f] for f in OutboxRow.__dataclass_fields__})
