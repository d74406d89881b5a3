"""Planned schedules in the store: every version kept (``plans``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from efir.store.database import unavailable
from efir.store.tables import plans

if TYPE_CHECKING:
    from efir.store.database import Store


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One version of a channel's plan: the span it replaces and its items (JSON lines)."""

    id: int
    channel_id: str
    received_us: int
    span_start_us: int
    span_end_us: int
    source: str
    events: bytes


class Plans:
    """The ``plans`` table of one :class:`~efir.store.Store`."""

    def __init__(self, store: Store) -> None:
        """Use ``store``'s engine."""
        self.store = store

    async def add(
        self,
        channel_id: str,
        received_us: int,
        span: tuple[int, int],
        source: str,
        events: bytes,
    ) -> int:
        """Store a version; its id (versions apply in id order)."""
        with unavailable():
            async with self.store.engine.begin() as conn:
                result = await conn.execute(
                    insert(plans).values(
                        channel_id=channel_id,
                        received_us=received_us,
                        span_start_us=span[0],
                        span_end_us=span[1],
                        source=source[:200],
                        events=events,
                    )
                )
        key = result.inserted_primary_key
        return int(key[0]) if key else 0

    async def since(self, end_after_us: int) -> list[PlanVersion]:
        """Versions whose span ends after ``end_after_us``, in the order they came."""
        q = select(plans).where(plans.c.span_end_us > end_after_us).order_by(plans.c.id)
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(q)).mappings().all()
        return [PlanVersion(**dict(r)) for r in rows]

    async def versions(self, channel_id: str, limit: int = 100) -> list[PlanVersion]:
        """A channel's latest versions, newest first."""
        q = (
            select(plans)
            .where(plans.c.channel_id == channel_id)
            .order_by(plans.c.id.desc())
            .limit(limit)
        )
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(q)).mappings().all()
        return [PlanVersion(**dict(r)) for r in rows]
