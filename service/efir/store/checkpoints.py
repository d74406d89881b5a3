"""Engine checkpoints in the database, and the event rows a restore needs beside them.

A checkpoint row holds one instance's (``holder``) engine state of one channel
as bytes (the daemon serialises :func:`efir.core.checkpoint.capture`), with
``upto_id``: every event row this instance wrote up to that id was applied.
Restart reads the checkpoints, the rows after them and, for ids those rows
touch, their earlier versions (the *history* a restored id needs).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, tuple_

from efir.store.database import unavailable
from efir.store.tables import checkpoints, events

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from efir.store.database import Store

#: Ids per ``IN (...)`` list when fetching histories (well under SQLite's variable limit).
_CHUNK = 500
#: An event row as a restore reads it: ``(id, channel, event id, received, payload)``.
_VERSION_COLUMNS = (
    events.c.id,
    events.c.channel_id,
    events.c.event_id,
    events.c.received_us,
    events.c.payload,
)


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    """One channel's checkpoint as stored (instants in µs UTC)."""

    channel_id: str
    upto_id: int
    taken_us: int
    format: str
    data: bytes


@dataclass(frozen=True, slots=True)
class StoredVersion:
    """An event row as a restore reads it."""

    id: int
    event_id: str
    received_us: int
    payload: bytes


class CheckpointStore:
    """Checkpoint reads and writes on a :class:`~efir.store.database.Store`."""

    def __init__(self, store: Store) -> None:
        """Use ``store``'s engine."""
        self.store = store

    async def watermark(self) -> int:
        """The highest event row id committed so far (0 for none)."""
        with unavailable():
            async with self.store.engine.connect() as conn:
                top = (await conn.execute(select(func.max(events.c.id)))).scalar_one()
        return int(top or 0)

    async def save(self, holder: str, checkpoint: StoredCheckpoint) -> None:
        """Replace ``holder``'s checkpoint of the channel."""
        values = {
            "channel_id": checkpoint.channel_id,
            "holder": holder,
            "upto_id": checkpoint.upto_id,
            "taken_us": checkpoint.taken_us,
            "format": checkpoint.format,
            "data": checkpoint.data,
        }
        stmt = self.store.insert(checkpoints).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["channel_id", "holder"],
            set_={k: stmt.excluded[k] for k in ("upto_id", "taken_us", "format", "data")},
        )
        with unavailable():
            async with self.store.engine.begin() as conn:
                await conn.execute(stmt)

    async def load(self, holder: str) -> dict[str, StoredCheckpoint]:
        """``holder``'s checkpoints by channel."""
        q = select(
            checkpoints.c.channel_id,
            checkpoints.c.upto_id,
            checkpoints.c.taken_us,
            checkpoints.c.format,
            checkpoints.c.data,
        ).where(checkpoints.c.holder == holder)
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(q)).all()
        return {r[0]: StoredCheckpoint(r[0], int(r[1]), int(r[2]), r[3], bytes(r[4])) for r in rows}

    async def rows_after(
        self, marks: Mapping[str, tuple[int, int]], since_us: int
    ) -> dict[str, list[StoredVersion]]:
        """Per channel, rows past its mark, in id (arrival) order.

        ``marks``: channel → ``(upto_id, received_from_us)``; a row is past the
        mark when its id is above ``upto_id`` or it was received at or after
        ``received_from_us``. Only rows of the live horizon (``at_us >=
        since_us``) are read. One query for all channels.
        """
        out: dict[str, list[StoredVersion]] = {cid: [] for cid in marks}
        if not marks:
            return out
        low_id = min(m[0] for m in marks.values())
        low_received = min(m[1] for m in marks.values())
        q = (
            select(*_VERSION_COLUMNS)
            .where(
                ((events.c.id > low_id) | (events.c.received_us >= low_received))
                & (events.c.at_us >= since_us)
            )
            .order_by(events.c.id)
        )
        with unavailable():
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(q)).all()
        for row_id, cid, event_id, received, payload in rows:
            mark = marks.get(cid)
            if mark is not None and (row_id > mark[0] or received >= mark[1]):
                out[cid].append(StoredVersion(row_id, event_id, received, bytes(payload)))
        return out

    async def history(
        self, wanted: Mapping[str, tuple[Iterable[str], int, int]]
    ) -> dict[str, dict[str, list[StoredVersion]]]:
        """Stored versions of event ids, per channel and id, in id (arrival) order.

        ``wanted``: channel → ``(event ids, since_us, upto_id)``. A channel's
        versions count up to row ``upto_id`` and, as at a full restart, only
        in its live horizon (``at_us >= since_us``). One query per
        ``_CHUNK`` (channel, id) pairs, whatever the number of channels.
        """
        out: dict[str, dict[str, list[StoredVersion]]] = {}
        pairs: list[tuple[str, str]] = []
        for cid, (ids, _since, _upto) in wanted.items():
            out[cid] = {e: [] for e in sorted(set(ids))}
            pairs.extend((cid, e) for e in out[cid])
        if not pairs:
            return out
        lowest = min(since for _ids, since, _upto in wanted.values())
        highest = max(upto for _ids, _since, upto in wanted.values())
        with unavailable():
            async with self.store.engine.connect() as conn:
                for i in range(0, len(pairs), _CHUNK):
                    q = (
                        select(*_VERSION_COLUMNS, events.c.at_us)
                        .where(
                            tuple_(events.c.channel_id, events.c.event_id).in_(
                                pairs[i : i + _CHUNK]
                            )
                            & (events.c.id <= highest)
                            & (events.c.at_us >= lowest)
                        )
                        .order_by(events.c.id)
                    )
                    for row_id, cid, event_id, received, payload, at in await conn.execute(q):
                        _ids, since, upto = wanted[cid]
                        if row_id <= upto and at >= since:
                            out[cid][event_id].append(
                                StoredVersion(row_id, event_id, received, bytes(payload))
                            )
        return out


__all__ = ["CheckpointStore", "StoredCheckpoint", "StoredVersion"]
