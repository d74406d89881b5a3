"""The catalogue in the store (``catalogue``) and its journal (``catalogue_journal``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select

from efir.core.catalogue import Entry
from efir.store.database import unavailable
from efir.store.tables import catalogue, catalogue_journal

if TYPE_CHECKING:
    from collections.abc import Sequence

    from efir.store.database import Store


def entry_data(entry: Entry) -> dict[str, Any]:
    """An entry as JSON (tags as a list)."""
    data = asdict(entry)
    data["tags"] = list(entry.tags)
    return data


def entry_of(data: dict[str, Any]) -> Entry:
    """The inverse of :func:`entry_data`."""
    fields = {k: v for k, v in data.items() if k in Entry.__dataclass_fields__}
    fields["tags"] = tuple(fields.get("tags") or ())
    return Entry(**fields)


@dataclass(frozen=True, slots=True)
class Change:
    """One journaled change of an entry."""

    id: int
    at_us: int
    actor: str | None
    action: str
    channel: str | None
    key_field: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class CatalogueStore:
    """The catalogue's tables of one :class:`~efir.store.Store`."""

    def __init__(self, store: Store) -> None:
        """Use ``store``'s engine."""
        self.store = store

    async def load(self) -> list[Entry]:
        """Every entry."""
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(select(catalogue.c.data))).all()
        return [entry_of(dict(r.data)) for r in rows]

    async def apply(
        self,
        puts: Sequence[tuple[Entry, Entry | None]],
        deletes: Sequence[Entry],
        actor: str | None,
        now: int,
    ) -> None:
        """Store new entries (``(entry, the one it replaces)``) and removals, journaled, at once."""
        journal: list[dict[str, Any]] = []
        with unavailable():
            async with self.store.engine.begin() as conn:
                for entry, before in puts:
                    await self._delete(conn, entry)
                    await conn.execute(
                        insert(catalogue).values(
                            channel_id=entry.channel or "", key_field=entry.key_field,
                            key=entry.key, data=entry_data(entry), updated_us=now,
                        )
                    )  # fmt: skip
                    journal.append(_row(now, actor, "put", entry, before, entry))
                for entry in deletes:
                    await self._delete(conn, entry)
                    journal.append(_row(now, actor, "delete", entry, entry, None))
                if journal:
                    await conn.execute(insert(catalogue_journal), journal)

    @staticmethod
    async def _delete(conn: Any, entry: Entry) -> None:
        await conn.execute(
            delete(catalogue).where(
                (catalogue.c.channel_id == (entry.channel or ""))
                & (catalogue.c.key_field == entry.key_field)
                & (catalogue.c.key == entry.key)
            )
        )

    async def latest(self) -> int:
        """The id of the latest journaled change (0: none): a change anywhere moves it."""
        with unavailable():
            async with self.store.engine.connect() as conn:
                got = await conn.scalar(select(func.max(catalogue_journal.c.id)))
        return int(got or 0)

    async def journal(self, limit: int = 200, key: str | None = None) -> list[Change]:
        """The latest changes, newest first (``key``: of that key only)."""
        stmt = select(catalogue_journal).order_by(catalogue_journal.c.id.desc()).limit(limit)
        if key is not None:
            stmt = stmt.where(catalogue_journal.c.key == key)
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        return [
            Change(
                r.id,
                r.at_us,
                r.actor,
                r.action,
                r.channel_id or None,
                r.key_field,
                r.key,
                r.before,
                r.after,
            )
            for r in rows
        ]


def _row(  # noqa: PLR0917 - private: one journal row
    now: int,
    actor: str | None,
    action: str,
    entry: Entry,
    before: Entry | None,
    after: Entry | None,
) -> dict[str, Any]:
    return {
        "at_us": now,
        "actor": (actor or "")[:255] or None,
        "action": action,
        "channel_id": entry.channel or "",
        "key_field": entry.key_field,
        "key": entry.key,
        "before": None if before is None else entry_data(before),
        "after": None if after is None else entry_data(after),
    }
