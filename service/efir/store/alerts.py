"""Alert persistence: states, bookkeeping, silences, journal, outbox and deliveries.

:meth:`AlertStore.commit` writes a planning step in one transaction: the
changed alerts, what each receiver was told, the groups, the outbox rows and
the journal. A crash before the commit loses the step (it is planned again
from the same live figures); a crash after it loses nothing, because the
outbox rows are delivered from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update

from efir.core.alerting.alert import Alert, Severity, alert_from_dict, alert_to_dict
from efir.core.alerting.dispatch import GroupState, Sent
from efir.core.alerting.silence import Matcher, MatchOp, Silence
from efir.core.errors import ServiceError
from efir.redact import redact
from efir.store.database import StoreUnavailableError, unavailable
from efir.store.tables import (
    alert_groups,
    alert_journal,
    alert_sent,
    alerts,
    deliveries,
    outbox,
    receiver_state,
    sender_lease,
    silences,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy.ext.asyncio import AsyncConnection

    from efir.core.alerting.lifecycle import Changes
    from efir.store.database import Store

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class FencedError(ServiceError):
    """Another instance took the sender lease: this one's plan was not committed."""


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


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """An audit-trail entry."""

    at_us: int
    kind: str
    fingerprint: str | None
    actor: str | None
    detail: dict[str, Any]


@dataclass
class AlertState:
    """Everything the alerter keeps, as loaded from the store."""

    alerts: dict[str, Alert]
    sent: dict[tuple[str, str], Sent]
    groups: dict[tuple[str, str], GroupState]
    silences: list[Silence]
    disabled: dict[str, str]


def silence_to_row(s: Silence) -> dict[str, Any]:
    """A silence as a table row."""
    return {
        "id": s.id,
        "matchers": [{"name": m.name, "value": m.value, "op": m.op.value} for m in s.matchers],
        "starts_us": s.starts_at,
        "ends_us": s.ends_at,
        "created_by": s.created_by,
        "comment": s.comment,
        "created_us": s.created_at,
    }


def silence_from_row(row: Mapping[Any, Any]) -> Silence:
    """The inverse of :func:`silence_to_row`."""
    return Silence(
        id=row["id"],
        matchers=tuple(Matcher(m["name"], m["value"], MatchOp(m["op"])) for m in row["matchers"]),
        starts_at=row["starts_us"],
        ends_at=row["ends_us"],
        created_by=row["created_by"],
        comment=row["comment"],
        created_at=row["created_us"],
    )


class AlertStore:
    """Alert tables of one :class:`~efir.store.Store`."""

    def __init__(self, store: Store) -> None:
        """Use ``store``'s engine."""
        self.store = store
        #: ``(lock id, epoch)`` of the sender lease this instance holds (PostgreSQL);
        #: every commit checks it. ``None``: no lease to check (SQLite, one process).
        self.fence: tuple[int, int] | None = None

    # -------------------------------------------------------------- state
    async def load(self) -> AlertState:
        """Every alert, bookkeeping row, silence and disabled receiver."""
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(select(alerts.c.data))).all()
                state = AlertState(
                    alerts={},
                    sent={},
                    groups={},
                    silences=[],
                    disabled={},
                )
                for (data,) in rows:
                    a = alert_from_dict(data)
                    state.alerts[a.fingerprint] = a
                for r in (await conn.execute(select(alert_sent))).mappings():
                    state.sent[r["receiver"], r["fingerprint"]] = Sent(
                        r["episode"], Severity(r["severity"]), r["at_us"], bool(r["resolved"])
                    )
                for r in (await conn.execute(select(alert_groups))).mappings():
                    state.groups[r["receiver"], r["channel_id"]] = GroupState(
                        r["last_sent_us"], r["waiting_since_us"]
                    )
                for r in (await conn.execute(select(silences))).mappings():
                    state.silences.append(silence_from_row(r))
                for r in (await conn.execute(select(receiver_state))).mappings():
                    if r["disabled_us"] is not None:
                        state.disabled[r["name"]] = r["reason"] or ""
        return state

    async def commit(
        self,
        *,
        changes: Changes,
        sent: Mapping[tuple[str, str], Sent | None],
        groups: Mapping[tuple[str, str], GroupState | None],
        rows: Iterable[OutboxRow],
        journal: Iterable[JournalEntry] = (),
        now: int,
    ) -> None:
        """Write one planning step in one transaction.

        Raises:
            FencedError: another instance has taken the sender lease since this
                one took it (the transaction is rolled back).
        """
        rows, journal = list(rows), list(journal)
        if not (changes or sent or groups or rows or journal):
            return
        with unavailable():
            async with self.store.engine.begin() as conn:
                await self._check_fence(conn)
                for fp, alert in changes.items():
                    await conn.execute(delete(alerts).where(alerts.c.fingerprint == fp))
                    if alert is not None:
                        await conn.execute(
                            insert(alerts).values(
                                fingerprint=fp,
                                channel_id=alert.channel,
                                state=alert.state.value,
                                data=alert_to_dict(alert),
                                updated_us=now,
                            )
                        )
                for (receiver, fp), told in sent.items():
                    where = (alert_sent.c.receiver == receiver) & (alert_sent.c.fingerprint == fp)
                    await conn.execute(delete(alert_sent).where(where))
                    if told is not None:
                        await conn.execute(
                            insert(alert_sent).values(
                                receiver=receiver,
                                fingerprint=fp,
                                episode=told.episode,
                                severity=told.severity.value,
                                at_us=told.at,
                                resolved=int(told.resolved),
                            )
                        )
                for (receiver, channel), g in groups.items():
                    where = (alert_groups.c.receiver == receiver) & (
                        alert_groups.c.channel_id == channel
                    )
                    await conn.execute(delete(alert_groups).where(where))
                    if g is not None:
                        await conn.execute(
                            insert(alert_groups).values(
                                receiver=receiver,
                                channel_id=channel,
                                last_sent_us=g.last_sent,
                                waiting_since_us=g.waiting_since,
                            )
                        )
                if rows:
                    await conn.execute(insert(outbox), [_outbox_values(r, now) for r in rows])
                await _journal(conn, journal)

    async def _check_fence(self, conn: AsyncConnection) -> None:
        """Lock the lease row and check its epoch is still ours (a fencing token).

        The row lock orders this commit against a new leader's epoch bump: either
        the commit lands first, and the new leader loads it, or it fails here.
        """
        if self.fence is None:
            return
        lock_id, epoch = self.fence
        result = await conn.execute(
            update(sender_lease)
            .where(sender_lease.c.lock_id == lock_id, sender_lease.c.epoch == epoch)
            .values(epoch=epoch)
        )
        if result.rowcount != 1:
            msg = f"sender lease {lock_id:#x} moved past epoch {epoch}: another instance sends"
            raise FencedError(msg)

    async def take_lease(
        self, conn: AsyncConnection, lock_id: int, holder: str, now: int
    ) -> tuple[int, int]:
        """Bump the lease's epoch on ``conn`` (which holds the advisory lock); return the fence."""
        row = await conn.scalar(
            select(sender_lease.c.epoch).where(sender_lease.c.lock_id == lock_id).with_for_update()
        )
        epoch = (row or 0) + 1
        values = {"epoch": epoch, "holder": holder[:255], "since_us": now}
        if row is None:
            await conn.execute(insert(sender_lease).values(lock_id=lock_id, **values))
        else:
            await conn.execute(
                update(sender_lease).where(sender_lease.c.lock_id == lock_id).values(**values)
            )
        await conn.commit()
        return lock_id, epoch

    async def write_journal(self, entries: Iterable[JournalEntry]) -> None:
        """Append to the audit trail."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                await _journal(conn, list(entries))

    async def journal(self, limit: int = 200, fingerprint: str | None = None) -> list[JournalEntry]:
        """The latest audit-trail entries, newest first."""
        q = select(alert_journal).order_by(alert_journal.c.id.desc()).limit(limit)
        if fingerprint is not None:
            q = q.where(alert_journal.c.fingerprint == fingerprint)
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(q)).mappings().all()
        return [
            JournalEntry(r["at_us"], r["kind"], r["fingerprint"], r["actor"], r["detail"])
            for r in rows
        ]

    # ----------------------------------------------------------- silences
    async def save_silence(self, s: Silence, entry: JournalEntry) -> None:
        """Create or replace a silence, with its journal entry."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                await self._check_fence(conn)
                await conn.execute(delete(silences).where(silences.c.id == s.id))
                await conn.execute(insert(silences).values(**silence_to_row(s)))
                await _journal(conn, [entry])

    # ------------------------------------------------------------ outbox
    async def due(self, now: int, disabled: Iterable[str], limit: int = 200) -> list[OutboxRow]:
        """Pending rows whose next attempt is due, oldest first, skipping disabled receivers."""
        q = (
            select(outbox)
            .where(outbox.c.status == PENDING, outbox.c.next_attempt_us <= now)
            .order_by(outbox.c.next_attempt_us, outbox.c.created_us)
            .limit(limit)
        )
        off = list(disabled)
        if off:
            q = q.where(outbox.c.receiver.not_in(off))
        with unavailable():
            async with self.store.engine.connect() as conn:
                return [_row(r) for r in (await conn.execute(q)).mappings()]

    async def next_due(self, disabled: Iterable[str]) -> int | None:
        """The earliest next attempt of a pending row (µs), or ``None``."""
        q = select(func.min(outbox.c.next_attempt_us)).where(outbox.c.status == PENDING)
        off = list(disabled)
        if off:
            q = q.where(outbox.c.receiver.not_in(off))
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
                    await _journal(
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

    async def enable_receiver(self, name: str, actor: str, now: int) -> bool:
        """Enable a disabled receiver; return whether it was disabled."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                await self._check_fence(conn)
                result = await conn.execute(
                    delete(receiver_state).where(receiver_state.c.name == name)
                )
                await _journal(
                    conn, [JournalEntry(now, "receiver_enabled", None, actor, {"receiver": name})]
                )
        return bool(result.rowcount)

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
                await _journal(
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
                await conn.execute(delete(alert_journal).where(alert_journal.c.at_us < cutoff_us))
        return int(result.rowcount or 0)


def _masked(text: str | None) -> str | None:
    """A receiver's error text with URL credentials and tokens masked (it is served by the API)."""
    return None if text is None else redact(text)


async def _journal(conn: AsyncConnection, entries: list[JournalEntry]) -> None:
    if entries:
        await conn.execute(
            insert(alert_journal),
            [
                {
                    "at_us": e.at_us,
                    "kind": e.kind,
                    "fingerprint": e.fingerprint,
                    "actor": e.actor,
                    "detail": e.detail,
                }
                for e in entries
            ],
        )


def _outbox_values(r: OutboxRow, now: int) -> dict[str, Any]:
    # The dataclass fields are the table's columns, plus the row's update time.
    values = {f: getattr(r, f) for f in OutboxRow.__dataclass_fields__}
    return {**values, "next_attempt_us": r.next_attempt_us or r.created_us, "updated_us": now}


def _row(r: Mapping[Any, Any]) -> OutboxRow:
    return OutboxRow(**{f: r[f] for f in OutboxRow.__dataclass_fields__})


__all__ = ["AlertStore", "Attempt", "JournalEntry", "OutboxRow", "StoreUnavailableError"]
