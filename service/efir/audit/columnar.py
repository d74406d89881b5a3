"""The columnar path of ``efir audit``: a clean JSON-lines file read in bulk.

DuckDB and numpy read, resolve and account the file; the pure core judges it.

The live path and every other input go through the pure core event by event;
this path exists because an audit reads a year at once. It gives exactly
what the pure core gives, or declines and leaves the file to it:

* **Reading.** DuckDB reads every field of the schema as JSON text. The file
  is taken only if every line is one object made of the schema's fields,
  none of them ``null``: the file's own counts of ``:`` and ``,`` must equal
  those the columns account for (an unknown field, an explicit ``null``, a
  trailing comma or a comment would add one). Each distinct combination of
  the attribute fields (a few hundred in a year) is validated by the live
  parser itself (:func:`~efir.schema.asrun.parse_event`), which also gives
  the decoded values; the per-line fields (``event_id``, ``start``,
  ``duration``, ``seq``) are held to shapes narrower than the parser's and
  range-checked in bulk. A file with any line outside that (a refused line
  above all, whose reason only the parser gives) is declined.
* **Lifecycle.** Versions are de-duplicated on their decoded values and
  ranked as :class:`~efir.core.book.EventBook` ranks them (phase rank, then
  ``seq``, then arrival). An id with one version, or a ``start`` and an
  ``end`` that gives no attribute, is resolved in bulk; every other id
  (corrections, cancels, inheritance, re-sent starts) is resolved by an
  ``EventBook`` over its own versions.
* **Accounting.** Primary items in ``(start, order)`` order are cut at their
  successor's start, clipped to the period, split at the calendar's atoms to
  the microsecond and summed per atom and profile in integer microseconds,
  then rolled up into the windows as :meth:`Ledger.load` does. Items are
  built as Python objects only when an item rule or a report asks for them.

A differential property test holds the two paths to the same windows and
counts on random streams with corrections, cancels, duplicates, overlaps
and boundary-crossing items.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import duckdb
import numpy as np

from efir.core.book import EventBook, Item
from efir.core.event import INHERITABLE, Layer, Phase
from efir.core.ledger import Ledger
from efir.readers.base import OFFLINE_NOW_US
from efir.schema.asrun import (
    EARLIEST_START_US,
    MAX_FUTURE_US,
    EventError,
    parse_event,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from numpy.typing import NDArray

    from efir.core.calendar import Calendar
    from efir.core.event import AsRunEvent
    from efir.core.profile import ProfileTable

#: The schema's fields, as the columns are read.
FIELDS = (
    "schema",
    "channel",
    "event_id",
    "phase",
    "start",
    "duration",
    "seq",
    *INHERITABLE,
)
#: Fields that vary per line, checked in bulk.
PER_LINE = ("event_id", "start", "duration", "seq")
#: Free text: each distinct value checked once, kept per line by its hash.
TEXTS = ("house_id", "title", "artist", "isrc")
#: The rest make a line's attribute combination (with which texts it has).
COMBO = tuple(f for f in FIELDS if f not in PER_LINE and f not in TEXTS)

#: Narrower than the parser: no escape, no control character, no quote.
EVENT_ID_RE = r'"[^"\\\x00-\x1f\x7f]{1,128}"'
#: RFC 3339 with seconds, at most microseconds, ``Z`` or ``±HH:MM``.
START_RE = (
    r'"[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]'
    r'(\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"'
)
NUMBER_RE = r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?"
SEQ_RE = r"0|[1-9][0-9]{0,17}"
#: DuckDB refuses larger objects; lines near the parser's 64 KiB limit go to it.
MAX_OBJECT_BYTES = 60_000

_RANK = {Phase.START: 0, Phase.END: 1, Phase.COMPLETE: 1, Phase.CORRECTION: 2, Phase.CANCEL: 2}
_NONE = np.iinfo(np.int64).min
_NEVER = 1 << 62
_CHUNK = 16 << 20


class Declined(Exception):  # noqa: N818 - not an error: the pure path reads the file
    """The file is not one the columnar path reads exactly; the reason says why."""


def _decline(reason: str) -> NoReturn:
    raise Declined(reason)


@dataclass
class Loaded:
    """A file read and resolved in bulk: the events' count and the items' ledger."""

    channel: str
    recorded: int
    duplicates: int
    ledger: ColumnLedger


def _byte_counts(path: Path) -> tuple[int, int, int, bytes]:
    """Return the file's counts of ``:``, ``,``, newlines, and its first bytes."""
    colons = commas = newlines = 0
    head = b""
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if not head:
                head = chunk[:3]
            colons += chunk.count(b":")
            commas += chunk.count(b",")
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    newlines += last != b"\n"  # a last line without its newline
    return colons, commas, newlines, head


def _read(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    columns = dict.fromkeys(FIELDS, "JSON")
    try:
        con.execute(
            "CREATE TEMP TABLE ev AS SELECT * FROM read_json($path, format = 'newline_delimited',"
            " columns = $columns, maximum_object_size = $size)",
            {"path": str(path), "columns": columns, "size": MAX_OBJECT_BYTES},
        )
    except duckdb.Error as exc:
        _decline(f"not plain JSON lines ({str(exc).splitlines()[0][:120]})")


def _colons(column: str) -> str:
    return f"coalesce(length({column}) - length(replace({column}, ':', '')), 0)"


def _commas(column: str) -> str:
    return f"coalesce(length({column}) - length(replace({column}, ',', '')), 0)"


@dataclass
class _Shape:
    """What the columns account for of the file's bytes: keys, and ``:`` and ``,`` in values."""

    lines: int = 0
    keys: int = 0
    colons: int = 0
    commas: int = 0

    def add(self, keys: int, colons: int, commas: int) -> None:
        """Count ``keys`` keys holding ``colons`` and ``commas`` in their values."""
        self.keys += keys
        self.colons += colons
        self.commas += commas


def _per_line(con: duckdb.DuckDBPyConnection, shape: _Shape) -> None:
    """Check the per-line fields' shapes; count what they hold."""
    present = " + ".join(f"({f} IS NOT NULL)::BIGINT" for f in PER_LINE)
    row = con.execute(
        f"""SELECT count(*), coalesce(sum({present}), 0),
            coalesce(sum({_colons("event_id")} + CASE WHEN start IS NULL THEN 0
                WHEN CAST(start AS VARCHAR) LIKE '%Z"' THEN 2 ELSE 3 END), 0),
            coalesce(sum({_commas("event_id")}), 0),
            coalesce(bool_and(event_id IS NOT NULL AND regexp_full_match(event_id, $id)), true),
            coalesce(bool_and(start IS NULL OR regexp_full_match(start, $start)), true),
            coalesce(bool_and(duration IS NULL OR regexp_full_match(duration, $number)), true),
            coalesce(bool_and(seq IS NULL OR regexp_full_match(seq, $seq)), true),
            count(DISTINCT event_id) = count(DISTINCT hash(event_id))
        FROM ev""",  # noqa: S608 - built from the schema's own field names
        {"id": EVENT_ID_RE, "start": START_RE, "number": NUMBER_RE, "seq": SEQ_RE},
    ).fetchone()
    assert row is not None  # noqa: S101 - an aggregate always has a row
    lines, keys, colons, commas, ids, starts, durations, seqs, distinct = row
    if not (ids and starts and durations and seqs and distinct):
        _decline("an event id, start, duration or seq outside the bulk reader's shapes")
    shape.lines = int(lines)
    shape.add(int(keys), int(colons), int(commas))


def _check_bytes(path: Path, shape: _Shape) -> None:
    """The file's own bytes must be exactly what the columns account for."""
    file_colons, file_commas, newlines, head = _byte_counts(path)
    if head.startswith(b"\xef\xbb\xbf"):
        _decline("the file starts with a byte-order mark")
    if shape.lines == 0 or shape.lines != newlines:
        _decline("blank, comment or multi-object lines")
    expected_commas = shape.keys - shape.lines + shape.commas
    if file_colons != shape.keys + shape.colons or file_commas != expected_commas:
        _decline("fields outside the schema, null values or stray commas")


#: A base the parser accepts, to which one combination or text is added.
_BASE = '"event_id":"x","start":"2000-01-01T00:00:00Z","duration":1'
#: What a free text is checked with (a valid combination of its own).
_TEXT_BASE = '"schema":"efir.asrun/1","channel":"x","kind":"program"'


def _parse(parts: list[str]) -> AsRunEvent:
    try:
        return parse_event("{" + ",".join([*parts, _BASE]) + "}", now_us=OFFLINE_NOW_US)
    except EventError as exc:
        _decline(f"a line the parser refuses ({exc.reasons[0]})")


def _combos(con: duckdb.DuckDBPyConnection, shape: _Shape) -> dict[int, AsRunEvent]:
    """Validate each distinct attribute combination with the live parser.

    Returns the parsed prototype event per combination hash: ``event_id``,
    ``start``, ``duration`` and ``seq`` are placeholders, and each text the
    combination has is the empty string (each line's own replaces it).
    """
    names = ", ".join(COMBO)
    flags = ", ".join(f"{t} IS NOT NULL AS has_{t}" for t in TEXTS)
    has = ", ".join(f"has_{t}" for t in TEXTS)
    rows = con.execute(
        f"SELECT hash({names}, {has}) AS h, count(*) AS n, {names}, {has}"  # noqa: S608
        f" FROM (SELECT {names}, {flags} FROM ev) GROUP BY ALL"
    ).fetchall()
    out: dict[int, AsRunEvent] = {}
    for h, n, *values in rows:
        if h in out:
            _decline("two attribute combinations share a hash")
        texts, present = values[: len(COMBO)], values[len(COMBO) :]
        parts = [f'"{f}":{text}' for f, text in zip(COMBO, texts, strict=True) if text is not None]
        inner = "".join(t for t in texts if t is not None)
        shape.add((len(parts) + sum(present)) * n, inner.count(":") * n, inner.count(",") * n)
        parts += [f'"{t}":""' for t, on in zip(TEXTS, present, strict=True) if on]
        out[h] = _parse(parts)
    return out


#: Where each of TEXTS sits in an AsRunEvent.
_TEXT_AT = {"house_id": 13, "title": 14, "artist": 15, "isrc": 16}


def _free_texts(con: duckdb.DuckDBPyConnection, shape: _Shape) -> dict[int, str]:
    """Validate each distinct free text with the parser; its decoded value per hash."""
    out: dict[int, str] = {}
    for field in TEXTS:
        rows = con.execute(
            f"SELECT hash({field}), count(*), {field} FROM ev"  # noqa: S608
            f" WHERE {field} IS NOT NULL GROUP BY ALL"
        ).fetchall()
        for h, n, text in rows:
            shape.add(0, text.count(":") * n, text.count(",") * n)
            value = _parse([f'"{field}":{text}', _TEXT_BASE])[_TEXT_AT[field]]
            if not isinstance(value, str) or out.setdefault(h, value) != value:
                _decline(f"two texts of {field} share a hash")
    return out


@dataclass
class _Rows:
    """Per-line columns in file order (arrival ``i + 1`` for row ``i``)."""

    idh: NDArray[np.uint64]
    combo: NDArray[np.uint64]
    start: NDArray[np.int64]
    duration: NDArray[np.int64]
    seq: NDArray[np.int64]
    texts: NDArray[np.uint64]  # one row per field of TEXTS: the value's hash, 0 if absent


def _rows(con: duckdb.DuckDBPyConnection) -> _Rows:
    names = ", ".join(COMBO)
    try:
        got = con.execute(
            f"""SELECT hash(event_id) AS idh,
                hash({names}, {", ".join(f"{t} IS NOT NULL" for t in TEXTS)}) AS combo,
                {", ".join(f"coalesce(hash({t}), 0) AS {t}" for t in TEXTS)},
                coalesce(epoch_us(CAST(trim(CAST(start AS VARCHAR), '"') AS TIMESTAMPTZ)), $none)
                    AS start,
                coalesce(CAST(duration AS DOUBLE), 'NaN'::DOUBLE) AS duration,
                coalesce(CAST(seq AS BIGINT), -1) AS seq
            FROM ev""",  # noqa: S608
            {"none": int(_NONE)},
        ).fetchnumpy()
    except duckdb.Error as exc:
        _decline(f"a start or number the bulk reader cannot convert ({exc})")
    start = np.asarray(got["start"], dtype=np.int64)
    seconds = np.asarray(got["duration"], dtype=np.float64)
    given = ~np.isnan(seconds)
    if np.any(given & ~((seconds > 0) & (seconds <= 86400))):
        _decline("a duration outside (0, 86400] s")
    known = start != _NONE
    if np.any(known & ((start < EARLIEST_START_US) | (start - OFFLINE_NOW_US > MAX_FUTURE_US))):
        _decline("a start before 1990")
    # round(seconds * 1e6) as the parser does: float64 product, ties to even.
    duration = np.where(given, np.rint(np.where(given, seconds, 0) * 1e6), 0).astype(np.int64)
    duration[~given] = _NONE
    return _Rows(
        np.asarray(got["idh"], dtype=np.uint64),
        np.asarray(got["combo"], dtype=np.uint64),
        start,
        duration,
        np.asarray(got["seq"], dtype=np.int64),
        np.stack([np.asarray(got[t], dtype=np.uint64) for t in TEXTS]),
    )


def load(
    path: Path, make: Callable[[str], tuple[ColumnLedger, ProfileTable]]
) -> tuple[ColumnLedger, int, int]:
    """Read, resolve and account ``path`` in bulk, or raise :class:`Declined`.

    ``make`` gives, for the file's channel, the empty ledger to fill and the
    profile table that numbers the items' profiles (the engine's). Returns
    the ledger, the versions recorded and the identical re-deliveries.
    """
    con = duckdb.connect()
    try:
        _read(con, path)
        shape = _Shape()
        _per_line(con, shape)
        protos = _combos(con, shape)
        free = _free_texts(con, shape)
        _check_bytes(path, shape)
        channels = {p.channel for p in protos.values()}
        if len(channels) != 1:
            _decline("several channels")
        rows = _rows(con)
        ledger, profiles = make(channels.pop())
        recorded, duplicates = _resolve(
            rows, protos, _Texts(con, rows, protos, free), ledger, profiles
        )
    except BaseException:
        con.close()
        raise
    return ledger, recorded, duplicates


def _resolve(  # noqa: PLR0915 - one pass over the columns, kept together
    rows: _Rows,
    protos: dict[int, AsRunEvent],
    texts: _Texts,
    ledger: ColumnLedger,
    profiles: ProfileTable,
) -> tuple[int, int]:
    """Resolve the versions to items and fill ``ledger``; return (recorded, duplicates)."""
    n = len(rows.idh)
    combo_keys, combo_index = np.unique(rows.combo, return_inverse=True)
    # Combinations by decoded value: two texts may decode alike (0.5 and 0.50).
    values: dict[tuple[Any, ...], int] = {}
    width = len(combo_keys)
    attr_of = np.empty(width, dtype=np.int64)
    rank_of = np.empty(width, dtype=np.int64)
    pid_of = np.empty(width, dtype=np.int64)
    primary_of = np.empty(width, dtype=bool)
    bare_of = np.empty(width, dtype=bool)
    start_phase_of = np.empty(width, dtype=bool)
    cancel_of = np.empty(width, dtype=bool)
    for k, h in enumerate(combo_keys.tolist()):
        proto = protos[h]
        attr_of[k] = values.setdefault((proto[0], proto[2], *proto[5:17], proto.given), len(values))
        rank_of[k] = _RANK[proto.phase]
        pid_of[k] = profiles.of_event(proto)
        primary_of[k] = proto.layer is Layer.PRIMARY
        bare_of[k] = not proto.given
        start_phase_of[k] = proto.phase is Phase.START
        cancel_of[k] = proto.phase is Phase.CANCEL
    attr = attr_of[combo_index]
    rank = rank_of[combo_index]
    arrival = np.arange(1, n + 1, dtype=np.int64)
    # Versions of each id, best last: by (rank, seq, arrival) as the book orders them.
    order = np.lexsort((arrival, rows.seq, rank, rows.idh))
    # Identical re-deliveries share id, rank and seq: only such runs are compared in full.
    i_, r_, q_ = rows.idh[order], rank[order], rows.seq[order]
    tie = (i_[1:] == i_[:-1]) & (r_[1:] == r_[:-1]) & (q_[1:] == q_[:-1])
    duplicate = np.zeros(n, dtype=bool)
    if tie.any():
        suspects = np.unique(np.concatenate([order[1:][tie], order[:-1][tie]]))
        seen: set[tuple[Any, ...]] = set()
        for row in suspects.tolist():  # ascending: arrival order, the first stays
            free = texts.free
            key = (
                int(rows.idh[row]),
                int(attr[row]),
                int(rows.start[row]),
                int(rows.duration[row]),
                int(rows.seq[row]),
                *(free.get(h) for h in rows.texts[:, row].tolist()),
            )
            if key in seen:
                duplicate[row] = True
            else:
                seen.add(key)
    order = order[~duplicate[order]]
    kept = n - int(duplicate.sum())
    ids = rows.idh[order]
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    last = np.r_[first[1:] - 1, len(order) - 1]
    count = last - first + 1
    winner = order[last]
    pair = (count == 2) & (rank[order[first]] == 0) & (rank[winner] == 1)
    pair &= bare_of[combo_index[winner]]
    simple = (count == 1) | pair
    # Simple ids: the winner's times, the attributes of the start it ends (or its own).
    w = winner[simple]
    a = np.where(pair, order[first], winner)[simple]
    wc = combo_index[w]
    aired = ~cancel_of[wc] & (rows.start[w] != _NONE)
    w, a, wc = w[aired], a[aired], wc[aired]
    opened = start_phase_of[wc]
    starts = rows.start[w]
    dur = rows.duration[w]
    length = np.where(dur == _NONE, 0, dur)
    ends = np.where(opened, _NONE, starts + length)
    planned = np.where(opened & (dur != _NONE), starts + length, _NONE)
    # Other ids: an EventBook over their own versions, in arrival order.
    members = np.sort(order[np.isin(ids, ids[first[~simple]])]) if not simple.all() else order[:0]
    book = EventBook(profiles)
    for row, event in zip(members.tolist(), texts.events(members), strict=True):
        book.record(event, row + 1)
    ledger.fill(
        _Simple(
            starts, ends, planned, w + 1, pid_of[combo_index[a]], primary_of[combo_index[a]], a
        ),
        book.resolve(),
        texts,
    )
    return kept, n - kept


@dataclass
class _Simple:
    """Items resolved in bulk, one per index (µs UTC; ``_NONE`` = absent)."""

    start: NDArray[np.int64]
    end: NDArray[np.int64]
    planned: NDArray[np.int64]
    order: NDArray[np.int64]
    pid: NDArray[np.int64]
    primary: NDArray[np.bool_]
    source: NDArray[np.int64]  # the file row whose event the item carries


class _Texts:
    """Builds the :class:`AsRunEvent` of file rows, their event ids fetched from DuckDB."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        rows: _Rows,
        protos: dict[int, AsRunEvent],
        free: dict[int, str],
    ) -> None:
        self.con = con
        self.rows = rows
        self.protos = protos
        self.free = free

    def events(self, picked: NDArray[np.int64]) -> list[AsRunEvent]:
        """The events of rows ``picked`` (ascending row numbers), in that order."""
        if len(picked) == 0:
            return []
        wanted = np.asarray(picked, dtype=np.int64)
        got = self.con.execute(
            "SELECT ev.event_id FROM ev JOIN (SELECT unnest($rows) AS r) AS p"
            " ON ev.rowid = p.r ORDER BY p.r",
            {"rows": wanted.tolist()},
        ).fetchall()
        rows = self.rows
        combos = rows.combo[wanted].tolist()
        starts = rows.start[wanted].tolist()
        durations = rows.duration[wanted].tolist()
        seqs = rows.seq[wanted].tolist()
        free = self.free
        texts = [[free.get(h) for h in field.tolist()] for field in rows.texts[:, wanted]]
        none = int(_NONE)
        return [
            self.protos[h]._replace(
                event_id=text[1:-1],
                start=None if start == none else start,
                duration=None if duration == none else duration,
                house_id=house_id,
                title=title,
                artist=artist,
                isrc=isrc,
                seq=None if seq < 0 else seq,
            )
            for (text,), h, start, duration, seq, house_id, title, artist, isrc in zip(
                got, combos, starts, durations, seqs, *texts, strict=True
            )
        ]


class ColumnLedger(Ledger):
    """A :class:`Ledger` filled in bulk, its timeline held in arrays.

    The atom and window totals are the base class's own tables, filled by
    :meth:`fill` exactly as :meth:`Ledger.load` fills them; the timeline
    reads (:meth:`aired`, :meth:`neighbour`, :meth:`on_air`, ...) answer from
    arrays and build an :class:`Item` only when one is asked for. It takes
    no changes afterwards (an audit applies none).
    """

    def __init__(
        self,
        calendar: Calendar,
        clip: tuple[int, int] | None,
        *,
        open_grace_us: int,
        open_cap_us: int,
    ) -> None:
        """An empty ledger; see :class:`Ledger`."""
        super().__init__(calendar, clip, open_grace_us=open_grace_us, open_cap_us=open_cap_us)
        self._t_start: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._t_order: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._t_end: NDArray[np.int64] = np.empty(0, dtype=np.int64)  # effective; _NONE: open
        self._t_ref: NDArray[np.int64] = np.empty(0, dtype=np.int64)  # >= 0 simple, < 0 other
        self._simple: _Simple | None = None
        self._others: list[Item] = []
        self._texts: _Texts | None = None
        self._made: dict[int, Item] = {}

    # --------------------------------------------------------------- filling
    def apply(self, change: Any) -> None:  # noqa: ARG002 - Ledger.apply's signature
        """Refused: this ledger takes no changes."""
        msg = "a ColumnLedger takes no changes"
        raise RuntimeError(msg)

    def fill(self, simple: _Simple, others: list[Item], texts: _Texts) -> None:
        """Account the items, as :meth:`Ledger.load` would, from empty."""
        self._simple, self._others, self._texts = simple, others, texts
        prim = np.flatnonzero(simple.primary)
        o_prim = [k for k, item in enumerate(others) if item.primary]
        none = int(_NONE)
        start = np.concatenate(
            [simple.start[prim], np.array([others[k].start for k in o_prim], dtype=np.int64)]
        )
        order = np.concatenate(
            [simple.order[prim], np.array([others[k].order for k in o_prim], dtype=np.int64)]
        )
        end = np.concatenate(
            [
                simple.end[prim],
                np.array(
                    [none if others[k].end is None else others[k].end for k in o_prim],
                    dtype=np.int64,
                ),
            ]
        )
        pid = np.concatenate(
            [simple.pid[prim], np.array([others[k].pid for k in o_prim], dtype=np.int64)]
        )
        ref = np.concatenate([prim, -1 - np.array(o_prim, dtype=np.int64)])
        timeline = np.lexsort((order, start))
        start, order, end, pid, ref = (
            start[timeline],
            order[timeline],
            end[timeline],
            pid[timeline],
            ref[timeline],
        )
        closed = end != _NONE
        successor = np.r_[start[1:], _NEVER]
        effective = np.where(closed, np.minimum(end, successor), _NONE)
        self._t_start, self._t_order, self._t_end, self._t_ref = start, order, effective, ref
        for i in np.flatnonzero(~closed).tolist():
            item = self._item(i)
            self._open[item.event_id] = item
        spans = closed & (effective > start)
        self._account(start[spans], effective[spans], pid[spans])
        # Secondary items: few; the base class counts and keeps them.
        for k in np.flatnonzero(~simple.primary).tolist():
            self._insert(self._simple_item(k))
        for item in others:
            if not item.primary:
                self._insert(item)

    def _account(
        self, start: NDArray[np.int64], end: NDArray[np.int64], pid: NDArray[np.int64]
    ) -> None:
        """Add disjoint spans ``[start, end)`` to the atoms, then roll the atoms up into windows."""
        if len(start) == 0:
            return
        if self.clip is None:
            lo_clip, hi_clip = -_NEVER, _NEVER
        else:
            lo_clip, hi_clip = self.clip
        frm = np.maximum(start, lo_clip)
        to = np.minimum(end, hi_clip)
        counted = (start >= lo_clip) & (start < hi_clip)
        timed = frm < to
        useful = timed | counted
        start, frm, to, pid, counted, timed = (
            start[useful],
            frm[useful],
            to[useful],
            pid[useful],
            counted[useful],
            timed[useful],
        )
        if len(start) == 0:
            return
        first = int(min(frm.min(), start[counted].min() if counted.any() else frm.min()))
        last = int(max(to.max(), start.max() + 1))
        self.ensure_days(self.calendar.days_between(first, last))
        atoms = np.asarray(self._starts, dtype=np.int64)
        atom_end = np.asarray([self._ends[a] for a in self._starts], dtype=np.int64)
        if np.any(atom_end[:-1] != atoms[1:]):  # pragma: no cover - days are materialised whole
            msg = "the calendar's atoms are not contiguous"
            raise RuntimeError(msg)
        width = int(pid.max()) + 1
        # Airtime: each span split at the atoms it crosses, to the microsecond.
        frm, to, p = frm[timed], to[timed], pid[timed]
        a0 = np.searchsorted(atoms, frm, side="right") - 1
        a1 = np.searchsorted(atoms, to - 1, side="right") - 1
        pieces = a1 - a0 + 1
        span = np.repeat(np.arange(len(frm)), pieces)
        atom = np.repeat(a0, pieces) + (
            np.arange(len(span)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
        )
        us = np.minimum(to[span], atom_end[atom]) - np.maximum(frm[span], atoms[atom])
        cells = len(atoms) * width
        # Integer sums below 2**53 microseconds a cell: exact in float64.
        secs = np.bincount(atom * width + p[span], weights=us, minlength=cells).astype(np.int64)
        # Counts: in the atom where the item starts.
        c_atom = np.searchsorted(atoms, start[counted], side="right") - 1
        cnts = np.bincount(c_atom * width + pid[counted], minlength=cells)
        for table, totals in ((self._atom_secs, secs), (self._atom_cnts, cnts)):
            dense = totals.reshape(len(atoms), width)
            # Each accumulator (an atom's own, a window's) gets the sum of its atoms.
            groups: dict[int, tuple[dict[int, int], list[int]]] = {}
            for a in np.flatnonzero(dense.any(axis=1)).tolist():
                for acc in table[int(atoms[a])]:
                    group = groups.get(id(acc))
                    if group is None:
                        groups[id(acc)] = (acc, [a])
                    else:
                        group[1].append(a)
            for acc, members in groups.values():
                total = dense[members[0]] if len(members) == 1 else dense[members].sum(axis=0)
                for q in np.flatnonzero(total).tolist():
                    acc[q] = acc.get(q, 0) + int(total[q])

    # ----------------------------------------------------------------- items
    def _simple_items(self, refs: list[int]) -> list[Item]:
        """The items of bulk-resolved indices ``refs``, their events fetched in one query."""
        simple, texts = self._simple, self._texts
        assert simple is not None  # noqa: S101 - filled first
        assert texts is not None  # noqa: S101
        rows = simple.source[refs]
        by_row = np.argsort(rows, kind="stable")
        out: list[Item | None] = [None] * len(refs)
        none = int(_NONE)
        for pos, event in zip(by_row.tolist(), texts.events(rows[by_row]), strict=True):
            k = refs[pos]
            end, planned = int(simple.end[k]), int(simple.planned[k])
            out[pos] = Item(
                event.event_id,
                int(simple.start[k]),
                None if end == none else end,
                None if planned == none else planned,
                int(simple.order[k]),
                int(simple.pid[k]),
                bool(simple.primary[k]),
                event,
            )
        return [item for item in out if item is not None]

    def _simple_item(self, k: int) -> Item:
        (item,) = self._simple_items([k])
        return item

    def _item(self, i: int) -> Item:
        """The item at timeline index ``i`` (built once)."""
        item = self._made.get(i)
        if item is None:
            ref = int(self._t_ref[i])
            item = self._simple_item(ref) if ref >= 0 else self._others[-1 - ref]
            self._made[i] = item
        return item

    def _items_between(self, i: int, j: int) -> None:
        """Build the items of timeline indices ``[i, j)`` in one query."""
        wanted = [k for k in range(i, j) if k not in self._made and self._t_ref[k] >= 0]
        if len(wanted) > 1:
            made = self._simple_items(self._t_ref[wanted].tolist())
            self._made.update(zip(wanted, made, strict=True))

    def _index(self, item: Item) -> int:
        i = int(np.searchsorted(self._t_start, item.start, side="left"))
        while self._t_order[i] != item.order:
            i += 1
        return i

    # ------------------------------------------------------------ timeline reads
    def _open_end(self, i: int, item: Item, now: int) -> int:
        end = min(now, self.open_bound(item))
        if i + 1 < len(self._t_start):
            end = min(end, int(self._t_start[i + 1]))
        return end

    def _open_spans(self, now: int) -> Iterator[tuple[Item, int, int]]:
        for item in self._open.values():
            yield item, item.start, max(self._open_end(self._index(item), item, now), item.start)

    def aired(
        self, lo: int, hi: int, now: int | None = None, *, secondary: bool = True
    ) -> Iterator[tuple[Item, int, int]]:
        """See :meth:`Ledger.aired`."""
        starts = self._t_start
        i = max(int(np.searchsorted(starts, lo, side="left")) - 1, 0)
        j = int(np.searchsorted(starts, hi, side="left"))
        self._items_between(i, j)
        ends = self._t_end[i:j].tolist()
        for k, end in zip(range(i, j), ends, strict=True):
            item = self._item(k)
            until = end
            if end == _NONE:
                if now is None:
                    continue
                until = self._open_end(k, item, now)
            if until > item.start and until > lo:
                yield item, item.start, until
        if secondary:
            yield from self._secondary_aired(lo, hi)

    def neighbour(
        self,
        item: Item,
        direction: int,
        accept: Callable[[Item], bool],
        now: int | None = None,
        limit: int = 512,
    ) -> Item | None:
        """See :meth:`Ledger.neighbour`."""
        i = self._index(item) + direction
        for _ in range(limit):
            if not 0 <= i < len(self._t_start):
                return None
            other = self._item(i)
            end = int(self._t_end[i])
            on_air = (now is not None and now > other.start) if end == _NONE else end > other.start
            if on_air and accept(other):
                return other
            i += direction
        return None

    def reported_until(self, we: int, now: int) -> int:
        """See :meth:`Ledger.reported_until`."""
        i = int(np.searchsorted(self._t_start, we, side="left")) - 1
        if i < 0:
            return now
        end = int(self._t_end[i])
        if end == _NONE:
            return now
        return max(now, min(end, we))

    def on_air(self, now: int) -> Item | None:
        """See :meth:`Ledger.on_air`."""
        i = int(np.searchsorted(self._t_start, now, side="right")) - 1
        if i < 0:
            return None
        end = int(self._t_end[i])
        return self._item(i) if end == _NONE or end > now else None

    def span(self) -> tuple[int, int] | None:
        """See :meth:`Ledger.span`."""
        if len(self._t_start) == 0:
            return None
        first = int(self._t_start[0])
        closed = self._t_end[self._t_end != _NONE]
        last = int(closed.max()) if len(closed) else first
        return first, max(last, int(self._t_start[-1]))

    def overdue(self, now: int) -> list[Item]:
        """See :meth:`Ledger.overdue`."""
        out: list[Item] = []
        for item in self._open.values():
            bound = self.open_bound(item)
            if bound >= now:
                continue
            i = self._index(item)
            if i + 1 < len(self._t_start) and self._t_start[i + 1] <= bound:
                continue
            out.append(item)
        return sorted(out, key=lambda item: (item.start, item.order))
