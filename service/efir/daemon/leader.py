"""Active/standby: one instance of a pair sends notifications.

On PostgreSQL the active instance holds a session-level advisory lock on a
dedicated connection (the *lease*). If that process dies, its connection
closes and PostgreSQL releases the lock; the standby, trying every
``poll_s``, takes it within seconds and reloads the alert state the active
one committed. The holder checks its connection every ``poll_s`` and steps
down the moment it cannot (a partition).

Until it notices, a holder that lost its lock connection could still plan.
So taking the lease also bumps an epoch in ``sender_lease`` (a fencing
token), and every alert commit checks, under a row lock, that the epoch is
still its own: a deposed leader's plan is rolled back, never committed beside
the new leader's. What it may still do in that second is re-send rows already
in the outbox, under their own ``webhook-id``. On SQLite (one process by
construction) this instance always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncConnection

    from efir.store import Store
    from efir.store.alerts import AlertStore

log = logging.getLogger(__name__)


class Leadership:
    """Holds (or waits for) the sender lease."""

    def __init__(
        self,
        store: Store,
        lock_id: int,
        *,
        on_change: Callable[[bool], Awaitable[None]],
        poll_s: float = 1.0,
        alerts: AlertStore | None = None,
        holder: str = "efir",
        now_us: Callable[[], int] | None = None,
    ) -> None:
        """``on_change(True)`` runs when this instance becomes the leader, ``False`` when not.

        With ``alerts``, taking the lease bumps its epoch and sets ``alerts.fence``,
        so that this instance's alert commits fail once another one has taken over.
        """
        self.store = store
        self.alerts = alerts
        self.holder = holder
        self.now_us = now_us or (lambda: 0)
        self.lock_id = lock_id
        self.on_change = on_change
        self.poll_s = poll_s
        self.is_leader = False
        self._conn: AsyncConnection | None = None

    async def run(self) -> None:
        """Keep trying to lead until cancelled."""
        if self.store.dialect != "postgresql":
            await self._set(leader=True)
            await asyncio.Event().wait()
        try:
            while True:
                try:
                    await self._hold()
                except (OSError, DBAPIError) as exc:
                    log.warning("sender lease: database connection lost: %s", exc)
                await self._set(leader=False)
                await self._drop()
                await asyncio.sleep(self.poll_s)
        finally:
            await self.release()

    async def _hold(self) -> None:
        self._conn = conn = await self.store.engine.connect()
        while True:
            if not self.is_leader:
                got = await conn.scalar(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": self.lock_id}
                )
                await conn.commit()
                if got:
                    if self.alerts is not None:
                        lease = self.alerts.lease
                        lease.fence = await lease.take(
                            conn, self.lock_id, self.holder, self.now_us()
                        )
                    log.info("this instance now sends notifications (lease %#x)", self.lock_id)
                    await self._set(leader=True)
            else:
                await conn.execute(text("SELECT 1"))  # still connected, so still holding
                await conn.commit()
            await asyncio.sleep(self.poll_s)

    async def _set(self, leader: bool) -> None:
        if leader != self.is_leader:
            self.is_leader = leader
            # Stepping down keeps the old fence: a commit still in flight then fails
            # against the next leader's epoch instead of slipping through unchecked.
            if not leader:
                log.warning("this instance no longer sends notifications (standby)")
            await self.on_change(leader)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()  # do not return a lock-holding connection to the pool

    async def release(self) -> None:
        """Give the lease up (graceful shutdown: the standby takes over at once)."""
        conn = self._conn
        if conn is not None and self.is_leader:
            with contextlib.suppress(Exception):
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.lock_id})
                await conn.commit()
        self.is_leader = False
        await self._drop()
