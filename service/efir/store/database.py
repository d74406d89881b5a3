"""The store: migrations, batched event writes, restart loads, window history.

One :class:`Store` per process. Writes come in batches from the ingest writer
(one transaction per batch); an event version already stored (same channel,
``event_id`` and digest) is skipped by the database itself, so a re-delivery
after a crash is stored once.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Select, delete, event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from efir.store.tables import channels, dead_letters, events, window_results

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

#: Advisory lock id that serialises migrations of instances sharing one PostgreSQL.
_MIGRATION_LOCK = 0x45464952  # "EFIR"


class StoreUnavailableError(RuntimeError):
    """The database cannot be reached or refused the write (retry later)."""


@contextlib.contextmanager
def unavailable() -> Iterator[None]:
    """Turn connection and database errors into :class:`StoreUnavailableError`."""
    try:
        yield
    except (OSError, DBAPIError) as exc:
        raise StoreUnavailableError(_reason(exc)) from exc


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event version to store (instants in µs UTC)."""

    channel_id: str
    event_id: str
    phase: str
    at_us: int
    digest: str
    received_us: int
    source: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A payload that could not be accepted, with the reason."""

    received_us: int
    source: str
    topic: str | None
    channel_id: str | None
    code: str
    reason: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class StoredWindow:
    """A closed window's stored figures."""

    channel_id: str
    rule: str
    window_start_us: int
    window_end_us: int
    verdict: str
    figures: dict[str, Any]
    revision: int
    revised_from: str | None
    updated_us: int


def migrations_dir() -> Path:
    """Where the Alembic scripts are: ``migrations/`` of the source tree or the wheel copy."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[3] / "migrations", here.parents[1] / "_migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    msg = "the Alembic migrations are missing from this installation"
    raise RuntimeError(msg)


class Store:
    """Async access to the database at ``url`` (SQLAlchemy URL)."""

    def __init__(self, url: str) -> None:
        """Create the engine (no connection is made until :meth:`open`)."""
        self.url = url
        self.dialect = url.split(":", 1)[0].split("+", 1)[0]
        kwargs: dict[str, Any] = {"pool_pre_ping": True}
        if self.dialect == "sqlite":
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        #: The dialect's INSERT (with ``on_conflict_do_nothing`` / ``_do_update``).
        self.insert = (sqlite if self.dialect == "sqlite" else postgresql).insert

    # ----------------------------------------------------------- lifecycle
    async def open(self, *, migrate: bool = True) -> None:
        """Connect and bring the schema to the newest migration."""
        try:
            async with self.engine.begin() as conn:
                if migrate:
                    if self.dialect == "postgresql":
                        await conn.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK}
                        )
                    await conn.run_sync(_upgrade)
        except (OSError, DBAPIError) as exc:
            raise StoreUnavailableError(_reason(exc)) from exc

    async def close(self) -> None:
        """Close every connection."""
        await self.engine.dispose()

    # --------------------------------------------------------------- writes
    async def save(self, rows: Sequence[EventRow], dead: Sequence[DeadLetter]) -> None:
        """Store a batch of event versions and dead letters in one transaction."""
        try:
            async with self.engine.begin() as conn:
                if rows:
                    stmt = self.insert(events).on_conflict_do_nothing(
                        index_elements=["channel_id", "event_id", "digest"]
                    )
                    await conn.execute(stmt, [_row_dict(r) for r in rows])
                if dead:
                    await conn.execute(dead_letters.insert(), [_dead_dict(d) for d in dead])
        except (OSError, DBAPIError) as exc:
            raise StoreUnavailableError(_reason(exc)) from exc

    async def sync_channels(self, configs: Iterable[dict[str, Any]], now_us: int) -> None:
        """Insert or update the configured channels."""
        async with self.engine.begin() as conn:
            for c in configs:
                values = {
                    "media": c["media"],
                    "timezone": c["timezone"],
                    "rule_pack": c["rule_pack"],
                    "config": c,
                    "updated_us": now_us,
                }
                stmt = self.insert(channels).values(id=c["id"], **values)
                await conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))

    async def save_feed(
        self,
        channel_id: str,
        *,
        adapter_status: str | None,
        last_event_us: int | None,
        last_heartbeat_us: int | None,
        now_us: int,
    ) -> None:
        """Remember a channel's feed state (restored on restart)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(channels)
                .where(channels.c.id == channel_id)
                .values(
                    adapter_status=adapter_status,
                    last_event_us=last_event_us,
                    last_heartbeat_us=last_heartbeat_us,
                    updated_us=now_us,
                )
            )

    async def save_windows(self, results: Sequence[StoredWindow]) -> list[StoredWindow]:
        """Upsert closed windows; return those whose verdict or figures were revised.

        Unchanged windows are not written (the ticker re-offers every closed
        window of the live horizon after a restart).
        """
        revised: list[StoredWindow] = []
        by_channel: dict[str, list[StoredWindow]] = {}
        for w in results:
            by_channel.setdefault(w.channel_id, []).append(w)
        async with self.engine.begin() as conn:
            for channel_id, group in by_channel.items():
                lo = min(w.window_start_us for w in group)
                hi = max(w.window_start_us for w in group)
                rows = await conn.execute(
                    select(
                        window_results.c.rule,
                        window_results.c.window_start_us,
                        window_results.c.verdict,
                        window_results.c.figures,
                        window_results.c.revision,
                    ).where(
                        (window_results.c.channel_id == channel_id)
                        & (window_results.c.window_start_us >= lo)
                        & (window_results.c.window_start_us <= hi)
                    )
                )
                old = {(r.rule, r.window_start_us): r for r in rows}
                fresh = []
                for w in group:
                    prev = old.get((w.rule, w.window_start_us))
                    if prev is None:
                        fresh.append(_window_dict(w))
                    elif prev.figures != w.figures or prev.verdict != w.verdict:
                        new = replace(
                            w,
                            revision=prev.revision + 1,
                            revised_from=prev.verdict if prev.verdict != w.verdict else None,
                        )
                        key = (
                            (window_results.c.channel_id == channel_id)
                            & (window_results.c.rule == w.rule)
                            & (window_results.c.window_start_us == w.window_start_us)
                        )
                        await conn.execute(
                            update(window_results).where(key).values(**_window_dict(new))
                        )
                        revised.append(new)
                if fresh:
                    await conn.execute(window_results.insert(), fresh)
        return revised

    async def prune(self, before_us: int) -> tuple[int, int]:
        """Delete events and dead letters received before ``before_us`` (retention)."""
        async with self.engine.begin() as conn:
            ev = await conn.execute(delete(events).where(events.c.received_us < before_us))
            dl = await conn.execute(
                delete(dead_letters).where(dead_letters.c.received_us < before_us)
            )
        return ev.rowcount, dl.rowcount

    async def mark_replayed(self, ids: Sequence[int], now_us: int) -> None:
        """Mark dead letters as replayed (they stay, for the record)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(dead_letters).where(dead_letters.c.id.in_(ids)).values(replayed_us=now_us)
            )

    # ---------------------------------------------------------------- reads
    async def load_events(self, channel_id: str, since_us: int) -> list[tuple[bytes, int]]:
        """Payloads and receipt times of versions at or after ``since_us`` (arrival order)."""
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(events.c.payload, events.c.received_us)
                .where((events.c.channel_id == channel_id) & (events.c.at_us >= since_us))
                .order_by(events.c.id)
            )
            return [(bytes(r[0]), int(r[1])) for r in result]

    async def count_events(self) -> int:
        """How many event versions are stored."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())

    async def dead(
        self, *, limit: int = 100, channel_id: str | None = None, pending_only: bool = False
    ) -> list[dict[str, Any]]:
        """The newest dead letters first."""
        q = select(dead_letters).order_by(dead_letters.c.id.desc()).limit(limit)
        if channel_id is not None:
            q = q.where(dead_letters.c.channel_id == channel_id)
        if pending_only:
            q = q.where(dead_letters.c.replayed_us.is_(None))
        return await self._fetch(q)

    async def dead_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Dead letters by id, oldest first."""
        q = select(dead_letters).where(dead_letters.c.id.in_(ids)).order_by(dead_letters.c.id)
        return await self._fetch(q)

    async def feeds(self) -> dict[str, tuple[str | None, int | None, int | None]]:
        """Stored feed state per channel: adapter status, last event, last heartbeat."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(
                    channels.c.id,
                    channels.c.adapter_status,
                    channels.c.last_event_us,
                    channels.c.last_heartbeat_us,
                )
            )
            return {r[0]: (r[1], r[2], r[3]) for r in rows}

    async def windows(
        self, channel_id: str, lo: int, hi: int, rule: str | None = None
    ) -> list[StoredWindow]:
        """Stored closed windows of a channel intersecting ``[lo, hi)``."""
        q = (
            select(window_results)
            .where(
                (window_results.c.channel_id == channel_id)
                & (window_results.c.window_start_us < hi)
                & (window_results.c.window_end_us > lo)
            )
            .order_by(window_results.c.rule, window_results.c.window_start_us)
        )
        if rule is not None:
            q = q.where(window_results.c.rule == rule)
        return [StoredWindow(**row) for row in await self._fetch(q)]

    async def _fetch(self, query: Select[Any]) -> list[dict[str, Any]]:
        """Run a read; rows as dicts keyed by column name."""
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]  # noqa: SLF001 - SQLAlchemy's public row API


def _upgrade(connection: Connection) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, "head")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the API read while the writer commits; FULL syncs each commit
    # (an acknowledged event must survive a crash of the machine, not only of Efir).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OperationalError | DBAPIError):
        return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    return str(exc) or type(exc).__name__


def _row_dict(r: EventRow) -> dict[str, Any]:
    return {
        "channel_id": r.channel_id,
        "event_id": r.event_id,
        "phase": r.phase,
        "at_us": r.at_us,
        "digest": r.digest,
        "received_us": r.received_us,
        "source": r.source,
        "payload": r.payload,
    }


def _dead_dict(d: DeadLetter) -> dict[str, Any]:
    return {
        "received_us": d.received_us,
        "source": d.source,
        "topic": d.topic,
        "channel_id": d.channel_id,
        "code": d.code,
        "reason": d.reason,
        "payload": d.payload,
    }


def _window_dict(w: StoredWindow) -> dict[str, Any]:
    return {
        "channel_id": w.channel_id,
        "rule": w.rule,
        "window_start_us": w.window_start_us,
        "window_end_us": w.window_end_us,
        "verdict": w.verdict,
        "figures": w.figures,
        "revision": w.revision,
        "revised_from": w.revised_from,
        "updated_us": w.updated_us,
    }
