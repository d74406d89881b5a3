"""The alert journal: who acknowledged, silenced, re-sent or enabled what, and when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from efir.store.tables import alert_journal

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """An audit-trail entry."""

    at_us: int
    kind: str
    fingerprint: str | None
    actor: str | None
    detail: dict[str, Any]


async def append_journal(conn: AsyncConnection, entries: list[JournalEntry]) -> None:
    """Append ``entries`` on ``conn`` (inside the caller's transaction)."""
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
