"""Alert persistence: states, bookkeeping, silences, and each planning step.

The outbox and its deliveries are in :mod:`efir.store.outbox`, the journal in
:mod:`efir.store.journal`, the sender lease in :mod:`efir.store.lease`.

:meth:`AlertStore.commit` writes a planning step in one transaction: the
changed alerts, what each receiver was told, the groups, the outbox rows and
the journal. A crash before the commit loses the step (it is planned again
from the same live figures); a crash after it loses nothing, because the
outbox rows are delivered from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select

from efir.core.alerting.alert import Alert, Severity, alert_from_dict, alert_to_dict
from efir.core.alerting.dispatch import GroupState, Sent
from efir.core.alerting.silence import Matcher, MatchOp, Silence
from efir.store.database import unavailable
from efir.store.journal import JournalEntry, append_journal
from efir.store.lease import SenderLease
from efir.store.outbox import Outbox, OutboxRow, outbox_values
from efir.store.tables import (
    alert_groups,
    alert_journal,
    alert_sent,
    alerts,
    outbox,
    receiver_state,
    silences,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy.ext.asyncio import AsyncConnection

    from efir.core.alerting.lifecycle import Changes
    from efir.store.database import Store


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

    def __init__(self, store: Store, scope: frozenset[str] | None = None) -> None:
        """Use ``store``'s engine.

        ``scope``: the alert channels this instance's leader owns (its shard's
        channels, and ``efir`` on the first shard; docs/scaling.md): it loads
        and delivers only theirs. ``None``: all of them.
        """
        self.store = store
        self.scope = scope
        #: The sender lease this instance holds (if any): every write checks it.
        self.lease = SenderLease()
        #: The notifications, written here by :meth:`commit`, delivered from there.
        self.outbox = Outbox(store, scope)

    @property
    def fence(self) -> tuple[int, int] | None:
        """``(lock id, epoch)`` of the sender lease held (:attr:`SenderLease.fence`)."""
        return self.lease.fence

    # -------------------------------------------------------------- state
    async def load(self) -> AlertState:
        """Every alert and bookkeeping row of the scope, every silence and disabled receiver."""
        scope = self.scope
        with unavailable():
            async with self.store.engine.connect() as conn:
                q = select(alerts.c.data)
                if scope is not None:
                    q = q.where(alerts.c.channel_id.in_(sorted(scope)))
                rows = (await conn.execute(q)).all()
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
                    if scope is not None and r["fingerprint"] not in state.alerts:
                        continue  # another shard's alert
                    state.sent[r["receiver"], r["fingerprint"]] = Sent(
                        r["episode"], Severity(r["severity"]), r["at_us"], bool(r["resolved"])
                    )
                for r in (await conn.execute(select(alert_groups))).mappings():
                    if scope is not None and r["channel_id"] not in scope:
                        continue
                    state.groups[r["receiver"], r["channel_id"]] = GroupState(
                        r["last_sent_us"], r["waiting_since_us"]
                    )
                state.silences, state.disabled = await _shared(conn)
        return state

    async def channel_of(self, fingerprint: str) -> str | None:
        """The channel of a stored alert (any shard's), or ``None``."""
        with unavailable():
            async with self.store.engine.connect() as conn:
                found = await conn.scalar(
                    select(alerts.c.channel_id).where(alerts.c.fingerprint == fingerprint)
                )
        return None if found is None else str(found)

    async def shared(self) -> tuple[list[Silence], dict[str, str]]:
        """Every silence and every disabled receiver with its reason.

        What every shard's instances share (docs/scaling.md): any of them may
        create a silence, disable a receiver (``410 Gone``) or enable one again,
        so each shard's leader re-reads them.
        """
        with unavailable():
            async with self.store.engine.connect() as conn:
                return await _shared(conn)

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
                await self.lease.check(conn)
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
                    await conn.execute(insert(outbox), [outbox_values(r, now) for r in rows])
                await append_journal(conn, journal)

    async def write_journal(self, entries: Iterable[JournalEntry]) -> None:
        """Append to the audit trail."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                await append_journal(conn, list(entries))

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
                await self.lease.check(conn)
                await conn.execute(delete(silences).where(silences.c.id == s.id))
                await conn.execute(insert(silences).values(**silence_to_row(s)))
                await append_journal(conn, [entry])

    async def prune(self, cutoff_us: int) -> int:
        """Drop finished notifications and journal entries from before ``cutoff_us``."""
        removed = await self.outbox.prune(cutoff_us)
        with unavailable():
            async with self.store.engine.begin() as conn:
                await conn.execute(delete(alert_journal).where(alert_journal.c.at_us < cutoff_us))
        return removed

    async def enable_receiver(self, name: str, actor: str, now: int) -> bool:
        """Enable a disabled receiver; return whether it was disabled."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                await self.lease.check(conn)
                result = await conn.execute(
                    delete(receiver_state).where(receiver_state.c.name == name)
                )
                await append_journal(
                    conn, [JournalEntry(now, "receiver_enabled", None, actor, {"receiver": name})]
                )
        return bool(result.rowcount)


async def _shared(conn: AsyncConnection) -> tuple[list[Silence], dict[str, str]]:
    """Every silence, and each disabled receiver with its reason."""
    found = [silence_from_row(r) for r in (await conn.execute(select(silences))).mappings()]
    disabled = {
        r["name"]: r["reason"] or ""
        for r in (await conn.execute(select(receiver_state))).mappings()
        if r["disabled_us"] is not None
    }
    return found, disabled
