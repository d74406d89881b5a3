"""The sender lease on PostgreSQL: one leader at a time, and a deposed one cannot commit.

Two :class:`Leadership` objects stand for two Efir instances on one database.
The first one's lock connection is dropped behind its back (a partition it
has not noticed yet); the second takes the lease. The first one's next alert
commit is refused by the fencing token and changes nothing; the second one's
goes through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from efir.daemon.leader import Leadership
from efir.store import Store
from efir.store.alerts import AlertStore
from efir.store.lease import FencedError
from efir.store.tables import alerts as alerts_table
from efir.store.tables import sender_lease
from tests.helpers import firing_alert
from tests.services import create_database, drop_database

pytestmark = pytest.mark.integration

LOCK = 0x7E57
S = 1_000_000


@pytest.fixture
async def stores() -> AsyncIterator[tuple[Store, Store]]:
    name, url = await create_database()
    a, b = Store(url), Store(url)
    await a.open()
    await b.open()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()
        await drop_database(name)


async def until(predicate: object, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.02)


async def test_a_deposed_leader_cannot_commit_a_plan(stores: tuple[Store, Store]) -> None:
    sa, sb = stores
    alerts_a, alerts_b = AlertStore(sa), AlertStore(sb)
    changes: list[tuple[str, bool]] = []

    async def note(who: str, leader: bool) -> None:
        changes.append((who, leader))

    lead_a = Leadership(
        sa, LOCK, on_change=lambda x: note("a", x), poll_s=0.05, alerts=alerts_a, holder="a"
    )
    lead_b = Leadership(
        sb, LOCK, on_change=lambda x: note("b", x), poll_s=0.05, alerts=alerts_b, holder="b"
    )
    task_a = asyncio.create_task(lead_a.run())
    await until(lambda: lead_a.is_leader)
    task_b = asyncio.create_task(lead_b.run())
    await asyncio.sleep(0.3)
    assert not lead_b.is_leader  # one leader at a time
    assert alerts_a.fence == (LOCK, 1)
    await alerts_a.commit(
        changes={"a1": firing_alert("a1", at=S)}, sent={}, groups={}, rows=(), now=S
    )

    # A partition a does not notice: its lock connection is gone, its pool works.
    task_a.cancel()  # a's lease loop stops checking...
    with pytest.raises(asyncio.CancelledError):
        await task_a
    # ...(cancelling released the lock as a dead connection would) but a still "leads".
    await until(lambda: lead_b.is_leader)
    assert alerts_b.fence == (LOCK, 2)
    with pytest.raises(FencedError, match="another instance sends"):
        await alerts_a.commit(
            changes={"a2": firing_alert("a2", at=S)}, sent={}, groups={}, rows=(), now=S
        )
    await alerts_b.commit(
        changes={"b1": firing_alert("b1", at=S)}, sent={}, groups={}, rows=(), now=S
    )
    async with sb.engine.connect() as conn:
        stored = set((await conn.execute(select(alerts_table.c.fingerprint))).scalars())
        holder = (await conn.execute(select(sender_lease.c.holder, sender_lease.c.epoch))).one()
        leases = await conn.scalar(select(func.count()).select_from(sender_lease))
    assert stored == {"a1", "b1"}  # a's plan after the takeover was rolled back
    assert tuple(holder) == ("b", 2)
    assert leases == 1
    task_b.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task_b
    assert ("b", True) in changes
