"""The sender lease: one instance at a time plans and sends notifications.

The leader (:mod:`efir.daemon.leader`) holds an advisory lock and bumps the
lease row's epoch when it takes it; every write of alert state or outbox
rows checks that epoch still is this instance's (a fencing token), so an
instance that lost the lease cannot commit a plan after the new leader
loaded the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, select, update

from efir.core.errors import ServiceError
from efir.store.tables import sender_lease

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


class FencedError(ServiceError):
    """Another instance took the sender lease: this one's plan was not committed."""


class SenderLease:
    """This instance's fence: ``(lock id, epoch)`` of the lease it holds, if any."""

    def __init__(self) -> None:
        """No lease held yet."""
        #: ``(lock id, epoch)`` of the sender lease this instance holds (PostgreSQL);
        #: every commit checks it. ``None``: no lease to check (SQLite, one process).
        self.fence: tuple[int, int] | None = None

    async def take(
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

    async def check(self, conn: AsyncConnection) -> None:
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
