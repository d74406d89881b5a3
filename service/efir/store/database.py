"""The store: migrations, batched event writes, restart loads, window history.

One :class:`Store` per process. Writes come in batches from the ingest writer
(one transaction per batch); an event version already stored (same channel,
``event_id`` and digest) is skipped by the database itself, so a re-delivery
after a crash is stored once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Select, delete, event, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from efir.core.errors import ServiceError
from efir.core.window_object import StoredWindow
from efir.schema.asrun import MAX_PAYLOAD_BYTES
from efir.store.tables import channels, dead_letters, events, window_results

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence

    from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

#: Advisory lock id that serialises migrations of instances sharing one PostgreSQL.
_MIGRATION_LOCK = 0x45464952  # "EFIR"


#: Longest prefix of an oversized payload a dead letter keeps (its size and
#: SHA-256 are kept too); payloads up to the event limit are kept whole.
DEAD_LETTER_PREFIX_BYTES = 4096
#: Column widths of ``dead_letters`` (see tables.py) a letter is fitted to.
_TOPIC_CHARS = 512
_CHANNEL_CHARS = 64
_CODE_CHARS = 32


class StoreError(ServiceError):
    """A database operation failed."""


class StoreUnavailableError(StoreError):
    """The database cannot be reached or is not taking writes now (retry later)."""


class StoreDataError(StoreError):
    """The database refused the data itself (a value it cannot hold): retrying will not help."""


#: SQLSTATE classes that concern the data, not the server: 22 data exception
#: (a value too long, U+0000 in text, bad encoding), 23 integrity constraint,
#: 54 program limit exceeded (a row or value too large).
_DATA_SQLSTATE_CLASSES = ("22", "23", "54")


def is_data_error(exc: BaseException) -> bool:
    """Whether a database error concerns the values sent rather than the server's state.

    A data error is final for the rows that caused it; anything else
    (connection lost, server shutting down, lock timeout, disk full) is
    treated as the store being unavailable, which the writer retries.
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return False
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str) and state[:2] in _DATA_SQLSTATE_CLASSES:
        return True
    if isinstance(orig, sqlite3.DataError | sqlite3.IntegrityError):
        return True
    cause: BaseException | None = exc
    while cause is not None:
        # A value the driver could not even encode (a lone surrogate, say).
        if isinstance(cause, UnicodeError):
            return True
        cause = cause.__cause__ or cause.__context__
        if cause is exc:
            break
    return False


def translate(exc: BaseException) -> StoreError:
    """The :class:`StoreError` for a driver or connection error."""
    if is_data_error(exc):
        return StoreDataError(_reason(exc))
    return StoreUnavailableError(_reason(exc))


@contextlib.contextmanager
def unavailable() -> Iterator[None]:
    """Turn connection and database errors into :class:`StoreError` (data or unavailable)."""
    try:
        yield
    except (OSError, StatementError, sqlite3.Error) as exc:
        raise translate(exc) from exc
    except OverflowError as exc:  # a Python int wider than the column (SQLite's driver)
        raise StoreDataError(str(exc)) from exc


_P = ParamSpec("_P")
_T = TypeVar("_T")


def translated(method: Callable[_P, Awaitable[_T]]) -> Callable[_P, Awaitable[_T]]:
    """Decorate a store method so that it raises only :class:`StoreError` for database failures."""

    @functools.wraps(method)
    async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with unavailable():
            return await method(*args, **kwargs)

    return wrapper


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
    """A payload that could not be accepted, with the reason.

    ``replaces``: the id of the stored letter this one is a failed replay of
    (that letter is updated instead of a new one being added). ``size``: the
    size received, when ``payload`` is only its first bytes.
    """

    received_us: int
    source: str
    topic: str | None
    channel_id: str | None
    code: str
    reason: str
    payload: bytes
    replaces: int | None = None
    size: int | None = None


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
        except (OSError, StatementError, sqlite3.Error) as exc:
            raise StoreUnavailableError(_reason(exc)) from exc

    async def close(self) -> None:
        """Close every connection."""
        await self.engine.dispose()

    # --------------------------------------------------------------- writes
    async def save(self, rows: Sequence[EventRow], dead: Sequence[DeadLetter]) -> dict[int, str]:
        """Store a batch of event versions and dead letters in one transaction.

        A value the database cannot hold concerns its own row, not the batch:
        when the batch is refused for its data, each row and letter is tried
        alone (in a transaction rolled back), the refused rows become dead
        letters (code ``unstorable``) and a refused letter is stored bare
        (a placeholder payload with the original's size and hash), all in one
        final transaction.

        Returns:
            The refused rows: index in ``rows`` to the database's reason.

        Raises:
            StoreUnavailableError: the database is away (retry the same batch).
        """
        try:
            await self._write(rows, dead)
        except StoreDataError:
            log.warning("the database refused a batch for its data; storing it row by row")
        else:
            return {}
        refused: dict[int, str] = {}
        for i, row in enumerate(rows):
            reason = await self._refusal([row], [])
            if reason is not None:
                refused[i] = reason
        unstorable = [
            DeadLetter(
                rows[i].received_us,
                rows[i].source,
                None,
                rows[i].channel_id,
                "unstorable",
                f"the database refused the event: {reason}",
                rows[i].payload,
            )
            for i, reason in refused.items()
        ]
        letters = [
            d if await self._refusal([], [d]) is None else _bare(d) for d in [*dead, *unstorable]
        ]
        kept = [r for i, r in enumerate(rows) if i not in refused]
        await self._write(kept, letters)
        return refused

    async def _write(self, rows: Sequence[EventRow], dead: Sequence[DeadLetter]) -> None:
        with unavailable():
            async with self.engine.begin() as conn:
                await self._insert(conn, rows, dead)

    async def _insert(
        self, conn: AsyncConnection, rows: Sequence[EventRow], dead: Sequence[DeadLetter]
    ) -> None:
        if rows:
            stmt = self.insert(events).on_conflict_do_nothing(
                index_elements=["channel_id", "event_id", "digest"]
            )
            await conn.execute(stmt, [columns(r) for r in rows])
        new = [_dead_dict(d) for d in dead if d.replaces is None]
        if new:
            await conn.execute(dead_letters.insert(), new)
        for d in dead:
            if d.replaces is not None:
                # A failed replay: the letter says why it failed this time.
                await conn.execute(
                    update(dead_letters)
                    .where(dead_letters.c.id == d.replaces)
                    .values(
                        code=_fit(d.code, _CODE_CHARS),
                        reason=_clean(d.reason),
                        replay_attempts=func.coalesce(dead_letters.c.replay_attempts, 0) + 1,
                        last_replay_us=d.received_us,
                    )
                )

    async def _refusal(self, rows: Sequence[EventRow], dead: Sequence[DeadLetter]) -> str | None:
        """Why the database refuses these rows (tried in a transaction rolled back), if it does."""
        with unavailable():
            async with self.engine.connect() as conn:
                trans = await conn.begin()
                try:
                    await self._insert(conn, rows, dead)
                except StatementError as exc:
                    if not is_data_error(exc):
                        raise
                    return _reason(exc)
                finally:
                    await trans.rollback()
        return None

    @translated
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

    @translated
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

    @translated
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
                        fresh.append(columns(w))
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
                        await conn.execute(update(window_results).where(key).values(**columns(new)))
                        revised.append(new)
                if fresh:
                    await conn.execute(window_results.insert(), fresh)
        return revised

    @translated
    async def prune(self, before_us: int) -> tuple[int, int]:
        """Delete events and dead letters received before ``before_us`` (retention)."""
        async with self.engine.begin() as conn:
            ev = await conn.execute(delete(events).where(events.c.received_us < before_us))
            dl = await conn.execute(
                delete(dead_letters).where(dead_letters.c.received_us < before_us)
            )
        return ev.rowcount, dl.rowcount

    @translated
    async def mark_replayed(self, ids: Sequence[int], now_us: int) -> None:
        """Mark dead letters as replayed (they stay, for the record)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                update(dead_letters).where(dead_letters.c.id.in_(ids)).values(replayed_us=now_us)
            )

    # ---------------------------------------------------------------- reads
    @translated
    async def load_events(self, channel_id: str, since_us: int) -> list[tuple[bytes, int]]:
        """Payloads and receipt times of versions at or after ``since_us`` (arrival order)."""
        async with self.engine.connect() as conn:
            result = await conn.execute(
                select(events.c.payload, events.c.received_us)
                .where((events.c.channel_id == channel_id) & (events.c.at_us >= since_us))
                .order_by(events.c.id)
            )
            return [(bytes(r[0]), int(r[1])) for r in result]

    @translated
    async def count_events(self) -> int:
        """How many event versions are stored."""
        async with self.engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(events))).scalar_one())

    async def dead(
        self,
        *,
        limit: int = 100,
        channel_id: str | None = None,
        pending_only: bool = False,
        before_id: int | None = None,
        payload_chars: int | None = None,
    ) -> list[dict[str, Any]]:
        """The newest dead letters first; ``before_id`` pages on from an earlier page's last id.

        ``payload_chars``: fetch at most this many bytes of each payload (the
        ``payload_size`` key then holds its whole stored size).
        """
        if payload_chars is None:
            q = select(dead_letters)
        else:
            cols = [c for c in dead_letters.c if c.name != "payload"]
            q = select(
                *cols,
                func.substr(dead_letters.c.payload, 1, payload_chars).label("payload"),
                func.length(dead_letters.c.payload).label("stored_size"),
            )
        q = q.order_by(dead_letters.c.id.desc()).limit(limit)
        if before_id is not None:
            q = q.where(dead_letters.c.id < before_id)
        if channel_id is not None:
            q = q.where(dead_letters.c.channel_id == channel_id)
        if pending_only:
            q = q.where(dead_letters.c.replayed_us.is_(None))
        return await self._fetch(q)

    async def dead_by_id(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Dead letters by id, oldest first."""
        q = select(dead_letters).where(dead_letters.c.id.in_(ids)).order_by(dead_letters.c.id)
        return await self._fetch(q)

    @translated
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

    @translated
    async def _fetch(self, query: Select[Any]) -> list[dict[str, Any]]:
        """Run a read; rows as dicts by column name (the reads built on it raise StoreError)."""
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
    if isinstance(exc, OperationalError | DBAPIError) and exc.orig:
        text = str(exc.orig).strip()
    else:
        text = str(exc).strip()
    lines = text.splitlines()
    return lines[0] if lines else type(exc).__name__


def _clean(text: str) -> str:
    """Text a database column can hold: no U+0000, no lone surrogates."""
    if "\x00" in text:
        text = text.replace("\x00", "\N{REPLACEMENT CHARACTER}")
    return text.encode("utf-8", "replace").decode("utf-8")


def _fit(text: str | None, chars: int) -> str | None:
    """``text`` cleaned and cut to a column of ``chars`` characters."""
    return None if text is None else _clean(text)[:chars]


def _bare(d: DeadLetter) -> DeadLetter:
    """A letter the database refused as it was: its payload replaced by a note of size and hash."""
    digest = hashlib.sha256(d.payload).hexdigest()
    note = f"payload of {len(d.payload)} bytes, SHA-256 {digest}, not storable".encode()
    return replace(
        d,
        topic=None,
        channel_id=None,
        code="unstorable",
        reason=f"{_clean(d.reason)} (the letter itself was refused by the database)",
        payload=note,
    )


def columns(row: Any) -> dict[str, Any]:
    """A row dataclass as its table's columns: its fields, named as the columns are."""
    return {name: getattr(row, name) for name in row.__dataclass_fields__}


def _dead_dict(d: DeadLetter) -> dict[str, Any]:
    """A letter's row, fitted to its columns; an oversized payload kept as a prefix."""
    payload = d.payload
    size, digest = d.size, None
    if len(payload) > MAX_PAYLOAD_BYTES:
        size, digest = len(payload), hashlib.sha256(payload).hexdigest()
        payload = payload[:DEAD_LETTER_PREFIX_BYTES]
    return {
        "received_us": d.received_us,
        "source": _fit(d.source, 16),
        "topic": _fit(d.topic, _TOPIC_CHARS),
        "channel_id": _fit(d.channel_id, _CHANNEL_CHARS),
        "code": _fit(d.code, _CODE_CHARS),
        "reason": _clean(d.reason),
        "payload": payload,
        "payload_size": size,
        "payload_sha256": digest,
    }
