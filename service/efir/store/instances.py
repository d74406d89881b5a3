"""The fleet's registry in the store: one row per running instance (``instances``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from efir.store.database import unavailable
from efir.store.tables import instances

if TYPE_CHECKING:
    from efir.store.database import Store


@dataclass(frozen=True, slots=True)
class InstanceRow:
    """One instance as it last reported itself.

    Attributes:
        id: its ``mqtt.client_id`` (unique in a fleet).
        shard: the shard it serves (``None``: every channel).
        url: where its API and board answer (``public_url``).
        leader: it held its shard's sender lease when it last reported.
        version: Efir's version.
        started_us: when it started (µs UTC).
        seen_us: when it last reported (µs UTC, its own clock).
        channels: how many channels it serves.
        config: a digest of the channel list and shards it runs with; every
            instance of a fleet should report the same.
    """

    id: str
    shard: str | None
    url: str | None
    leader: bool
    version: str
    started_us: int
    seen_us: int
    channels: int
    config: str


class Instances:
    """The ``instances`` table of one :class:`~efir.store.Store`."""

    def __init__(self, store: Store) -> None:
        """Use ``store``'s engine."""
        self.store = store

    async def report(self, row: InstanceRow) -> None:
        """Insert or refresh this instance's row."""
        values = {
            "shard": row.shard,
            "url": row.url,
            "leader": int(row.leader),
            "version": row.version[:64],
            "started_us": row.started_us,
            "seen_us": row.seen_us,
            "channels": row.channels,
            "config": row.config[:16],
        }
        with unavailable():
            async with self.store.engine.begin() as conn:
                stmt = self.store.insert(instances).values(id=row.id, **values)
                await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))

    async def all(self) -> list[InstanceRow]:
        """Every instance that has reported, in id order."""
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(select(instances).order_by(instances.c.id))).mappings()
                return [
                    InstanceRow(
                        r["id"],
                        r["shard"],
                        r["url"],
                        bool(r["leader"]),
                        r["version"],
                        r["started_us"],
                        r["seen_us"],
                        r["channels"],
                        r["config"],
                    )
                    for r in rows
                ]

    async def prune(self, before_us: int) -> int:
        """Forget instances not seen since ``before_us``; how many."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                result = await conn.execute(
                    delete(instances).where(instances.c.seen_us < before_us)
                )
        return int(result.rowcount or 0)
