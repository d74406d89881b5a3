"""The columnar path of ``efir audit``: a clean JSON-lines file read in bulk.

DuckDB and numpy read, resolve and account the file; the pure core judges it.

The live path and every other input go through the pure core event by event;
this path exists because an audit reads a year at once. It gives exactly
what the pure core gives, or declines and leaves the file to it:

* **Reading.** DuckDB reads the fields of the schema as JSON text, in two
  passes that each name only the fields they need, on connections closed
  after each. The file is taken only if every line is one object made of the
  schema's fields, none of them ``null``: the file's own counts of ``:`` and
  ``,`` must equal those the columns account for (an unknown field, an
  explicit ``null``, a trailing comma or a comment would add one). Each
  distinct combination of the attribute fields (a few hundred in a year)
  and each distinct free text is validated by the live parser itself
  (:func:`~efir.schema.asrun.parse_event`), which also gives the decoded
  values; the per-line fields (``event_id``, ``start``, ``duration``,
  ``seq``) are held to shapes narrower than the parser's and range-checked
  in bulk. A file with any line outside that (a refused line above all,
  whose reason only the parser gives) is declined. Where an event itself is
  needed, the parser reads that line of the file.
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
_EMPTY_U64: NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
_EMPTY_I64: NDArray[np.int64] = np.empty(0, dtype=np.int64)
_CHUNK = 16 << 20
#: Spans accounted at a time.
_BLOCK = 1 << 17
_COLON, _COMMA, _NEWLINE = b":,\n"


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


@dataclass
class _Bytes:
    """What the file's own bytes say: counts of ``:`` and ``,``, and where each line ends."""

    colons: int
    commas: int
    #: Offset of each line's newline (or of the end of a last line without one).
    ends: NDArray[np.int64]
    head: bytes


def _byte_counts(path: Path) -> _Bytes:
    """Count the file's ``:`` and ``,`` and find its line ends (one pass, in chunks)."""
    colons = commas = 0
    ends: list[NDArray[np.int64]] = []
    head = b""
    last = b"\n"
    offset = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if not head:
                head = chunk[:3]
            # One vectorised comparison per byte value: twice as fast as bytes.count.
            data = np.frombuffer(chunk, dtype=np.uint8)
            colons += int(np.count_nonzero(data == _COLON))
            commas += int(np.count_nonzero(data == _COMMA))
            ends.append(np.flatnonzero(data == _NEWLINE) + offset)
            offset += len(chunk)
            last = chunk[-1:]
    if last != b"\n":  # a last line without its newline
        ends.append(np.array([offset], dtype=np.int64))
    return _Bytes(colons, commas, np.concatenate(ends) if ends else np.empty(0, np.int64), head)


class _Source:
    """The file as DuckDB reads it: every field of the schema as JSON text.

    Each query reads the file again, on a connection of its own that is closed
    with it: DuckDB parses only the fields a query names, so two narrow passes
    cost less time and far less memory than one table of every field, and
    closing gives DuckDB's memory back before the next pass or numpy needs it.
    """

    def __init__(self, path: Path) -> None:
        self.params: dict[str, object] = {
            "path": str(path),
            "columns": dict.fromkeys(FIELDS, "JSON"),
            "size": MAX_OBJECT_BYTES,
        }

    def _run(self, query: str, params: dict[str, object], numpy: bool) -> Any:
        source = (
            "read_json($path, format = 'newline_delimited', columns = $columns,"
            " maximum_object_size = $size)"
        )
        con = duckdb.connect()
        try:
            result = con.execute(query.format(src=source), {**self.params, **params})
            return result.fetchnumpy() if numpy else result.fetchall()
        except duckdb.Error as exc:
            _decline(f"not plain JSON lines ({str(exc).splitlines()[0][:120]})")
        finally:
            con.close()

    def rows(self, query: str, **params: object) -> list[tuple[Any, ...]]:
        """The rows of ``query``, where ``{src}`` stands for the file."""
        rows: list[tuple[Any, ...]] = self._run(query, params, numpy=False)
        return rows

    def columns(self, query: str, **params: object) -> dict[str, NDArray[Any]]:
        """The columns of ``query`` as numpy arrays, where ``{src}`` stands for the file."""
        columns: dict[str, NDArray[Any]] = self._run(query, params, numpy=True)
        return columns


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


def _check_bytes(path: Path, shape: _Shape) -> NDArray[np.int64]:
    """The file's own bytes must be exactly what the columns account for; return the line ends."""
    got = _byte_counts(path)
    if got.head.startswith(b"\xef\xbb\xbf"):
        _decline("the file starts with a byte-order mark")
    if shape.lines == 0 or shape.lines != len(got.ends):
        _decline("blank, comment or multi-object lines")
    expected_commas = shape.keys - shape.lines + shape.commas
    if got.colons != shape.keys + shape.colons or got.commas != expected_commas:
        _decline("fields outside the schema, null values or stray commas")
    return got.ends


#: A base the parser accepts, to which one combination or text is added.
_BASE = '"event_id":"x","start":"2000-01-01T00:00:00Z","duration":1'
#: What a free text is checked with (a valid combination of its own).
_TEXT_BASE = '"schema":"efir.asrun/1","channel":"x","kind":"program"'


def _parse(parts: list[str]) -> AsRunEvent:
    try:
        return parse_event("{" + ",".join([*parts, _BASE]) + "}", now_us=OFFLINE_NOW_US)
    except EventError as exc:
        _decline(f"a line the parser refuses ({exc.reasons[0]})")


#: Where each of TEXTS sits in an AsRunEvent.
_TEXT_AT = {"house_id": 13, "title": 14, "artist": 15, "isrc": 16}
#: The hash of a line's attribute combination (with which free texts it has).
_COMBO_HASH = f"hash({', '.join(COMBO)}, {', '.join(f'{t} IS NOT NULL' for t in TEXTS)})"


def _values(source: _Source, shape: _Shape) -> tuple[dict[int, AsRunEvent], int]:
    """Validate each distinct attribute combination and free text with the live parser.

    One pass over the file. Returns the parsed prototype event per
    combination hash (``event_id``, ``start``, ``duration`` and ``seq`` are
    placeholders, each text it has the empty string), and the number of
    distinct event ids.
    """
    names = ", ".join(COMBO)
    flags = ", ".join(f"{t} IS NOT NULL AS has_{t}" for t in TEXTS)
    has = ", ".join(f"has_{t}" for t in TEXTS)
    texts = ", ".join(TEXTS)
    blanks = ", ".join(["NULL"] * (len(COMBO) + 2 * len(TEXTS)))
    # Grouping sets: the combinations, each free text field, and the event ids
    # (only counted: the hashes that group versions must not collide).
    rows = source.rows(
        f"""WITH g AS (
            SELECT grouping(event_id) AS of_ids, grouping({COMBO[0]}) AS not_combo,
                count(*) AS n, hash({names}, {has}) AS h, {names}, {has}, {texts}
            FROM (SELECT event_id, {names}, {flags}, {texts} FROM {{src}})
            GROUP BY GROUPING SETS (({names}, {has}), {", ".join(f"({t})" for t in TEXTS)},
                (event_id)))
        SELECT not_combo, n, h, {names}, {has}, {texts} FROM g WHERE of_ids = 1
        UNION ALL SELECT -1, count(*), NULL, {blanks} FROM g WHERE of_ids = 0"""  # noqa: S608
    )
    protos: dict[int, AsRunEvent] = {}
    distinct = 0
    for group, n, h, *values in rows:
        combo = values[: len(COMBO)]
        present = values[len(COMBO) : len(COMBO) + len(TEXTS)]
        free = values[len(COMBO) + len(TEXTS) :]
        if group == -1:
            distinct = n
        elif group == 0:  # grouped by the combination
            if h in protos:
                _decline("two attribute combinations share a hash")
            parts = [f'"{f}":{v}' for f, v in zip(COMBO, combo, strict=True) if v is not None]
            inner = "".join(v for v in combo if v is not None)
            shape.add((len(parts) + sum(present)) * n, inner.count(":") * n, inner.count(",") * n)
            parts += [f'"{t}":""' for t, on in zip(TEXTS, present, strict=True) if on]
            protos[h] = _parse(parts)
        else:  # one free text field
            for field, text in zip(TEXTS, free, strict=True):
                if text is not None:
                    shape.add(0, text.count(":") * n, text.count(",") * n)
                    if not isinstance(
                        _parse([f'"{field}":{text}', _TEXT_BASE])[_TEXT_AT[field]], str
                    ):
                        _decline(f"a {field} the parser does not read as text")
    return protos, distinct


@dataclass
class _Rows:
    """Per-line columns in file order (arrival ``i + 1`` for row ``i``)."""

    idh: NDArray[np.uint64]
    combo: NDArray[np.uint64]
    start: NDArray[np.int64]
    duration: NDArray[np.int64]
    seq: NDArray[np.int64]


def _rows(source: _Source, shape: _Shape) -> _Rows:
    """Read the per-line columns; check their shapes and count what they hold."""
    got = source.columns(
        f"""SELECT hash(event_id) AS idh, {_COMBO_HASH} AS combo,
            coalesce(epoch_us(CAST(trim(CAST(start AS VARCHAR), '"') AS TIMESTAMPTZ)), $none)
                AS start,
            coalesce(CAST(duration AS DOUBLE), 'NaN'::DOUBLE) AS duration,
            coalesce(CAST(seq AS BIGINT), -1) AS seq,
            event_id IS NOT NULL AND regexp_full_match(event_id, $id)
                AND (start IS NULL OR regexp_full_match(start, $start))
                AND (duration IS NULL OR regexp_full_match(duration, $number))
                AND (seq IS NULL OR regexp_full_match(seq, $seq)) AS ok,
            CAST({_colons("event_id")} + CASE WHEN start IS NULL THEN 0
                WHEN CAST(start AS VARCHAR) LIKE '%Z"' THEN 2 ELSE 3 END AS SMALLINT) AS colons,
            CAST({_commas("event_id")} AS SMALLINT) AS commas
        FROM {{src}}""",  # noqa: S608 - built from the schema's own field names
        none=int(_NONE),
        id=EVENT_ID_RE,
        start=START_RE,
        number=NUMBER_RE,
        seq=SEQ_RE,
    )
    if not np.all(got.pop("ok")):
        _decline("an event id, start, duration or seq outside the bulk reader's shapes")
    start = np.asarray(got.pop("start"), dtype=np.int64)
    seconds = np.asarray(got.pop("duration"), dtype=np.float64)
    seq = np.asarray(got.pop("seq"), dtype=np.int64)
    given = ~np.isnan(seconds)
    if np.any(given & ~((seconds > 0) & (seconds <= 86400))):
        _decline("a duration outside (0, 86400] s")
    known = start != _NONE
    if np.any(known & ((start < EARLIEST_START_US) | (start - OFFLINE_NOW_US > MAX_FUTURE_US))):
        _decline("a start before 1990")
    lines = len(start)
    shape.lines = lines
    shape.add(
        lines + int(known.sum()) + int(given.sum()) + int((seq >= 0).sum()),
        int(got.pop("colons").sum(dtype=np.int64)),
        int(got.pop("commas").sum(dtype=np.int64)),
    )
    # round(seconds * 1e6) as the parser does: float64 product, ties to even.
    duration = np.where(given, np.rint(np.where(given, seconds, 0) * 1e6), 0).astype(np.int64)
    duration[~given] = _NONE
    return _Rows(
        np.asarray(got.pop("idh"), dtype=np.uint64),
        np.asarray(got.pop("combo"), dtype=np.uint64),
        start,
        duration,
        seq,
    )


def load(
    path: Path, make: Callable[[str], tuple[ColumnLedger, ProfileTable]]
) -> tuple[ColumnLedger, int, int]:
    """Read, resolve and account ``path`` in bulk, or raise :class:`Declined`.

    ``make`` gives, for the file's channel, the empty ledger to fill and the
    profile table that numbers the items' profiles (the engine's). Returns
    the ledger, the versions recorded and the identical re-deliveries.
    """
    source = _Source(path)
    shape = _Shape()
    protos, distinct = _values(source, shape)
    rows = _rows(source, shape)
    lines = _Lines(path, _check_bytes(path, shape))
    channels = {p.channel for p in protos.values()}
    if len(channels) != 1:
        _decline("several channels")
    ledger, profiles = make(channels.pop())
    resolved = _resolve(rows, protos, lines, profiles, distinct)
    del rows  # the per-line columns, before the ledger's own arrays
    ledger.fill(resolved.bulk, resolved.others, lines)
    return ledger, resolved.recorded, resolved.duplicates


def _resolve(  # noqa: PLR0915 - one pass over the columns, kept together
    rows: _Rows,
    protos: dict[int, AsRunEvent],
    lines: _Lines,
    profiles: ProfileTable,
    distinct: int,
) -> _Resolved:
    """Resolve the versions to items, emptying ``rows`` as their columns are used.

    ``distinct`` is the number of distinct event ids the file holds: an id
    hash that two of them share declines the file.
    """
    n = len(rows.idh)
    combo_keys = np.unique(rows.combo)
    width = len(combo_keys)
    combo_index = np.searchsorted(combo_keys, rows.combo).astype(np.int32)
    rows.combo = _EMPTY_U64
    rank_of = np.empty(width, dtype=np.int8)
    pid_of = np.empty(width, dtype=np.int64)
    primary_of = np.empty(width, dtype=bool)
    bare_of = np.empty(width, dtype=bool)
    start_phase_of = np.empty(width, dtype=bool)
    cancel_of = np.empty(width, dtype=bool)
    for k, h in enumerate(combo_keys.tolist()):
        proto = protos[h]
        rank_of[k] = _RANK[proto.phase]
        pid_of[k] = profiles.of_event(proto)
        primary_of[k] = proto.layer is Layer.PRIMARY
        bare_of[k] = not proto.given
        start_phase_of[k] = proto.phase is Phase.START
        cancel_of[k] = proto.phase is Phase.CANCEL
    rank = rank_of[combo_index]
    # Versions of each id, best last: by (rank, seq, arrival) as the book orders
    # them; lexsort is stable, so rows of equal keys stay in arrival order.
    order = np.lexsort((rows.seq, rank, rows.idh))
    # Identical re-deliveries share id, rank and seq: only such runs are compared in full.
    sorted_ = rows.idh[order]
    tie = sorted_[1:] == sorted_[:-1]
    del sorted_
    ranks = rank[order]
    tie &= ranks[1:] == ranks[:-1]
    del ranks
    seqs = rows.seq[order]
    tie &= seqs[1:] == seqs[:-1]
    del seqs
    rows.seq = _EMPTY_I64
    duplicate = np.zeros(n, dtype=bool)
    if tie.any():
        suspects = np.unique(np.concatenate([order[1:][tie], order[:-1][tie]]))
        seen: set[AsRunEvent] = set()
        # Ascending rows: arrival order, the first stays; equal as the book compares versions.
        for row, version in zip(suspects.tolist(), lines.events(suspects), strict=True):
            if version in seen:
                duplicate[row] = True
            else:
                seen.add(version)
    del tie
    order = order[~duplicate[order]]
    kept = n - int(duplicate.sum())
    del duplicate
    ids = rows.idh[order]
    rows.idh = _EMPTY_U64
    first = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    if len(first) != distinct:
        _decline("two event ids share a hash")
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
    for row, event in zip(members.tolist(), lines.events(members), strict=True):
        book.record(event, row + 1)
    bulk = _Simple(
        starts, ends, planned, w + 1, pid_of[combo_index[a]], primary_of[combo_index[a]], a
    )
    return _Resolved(bulk, book.resolve(), kept, n - kept)


@dataclass
class _Resolved:
    """The items of a file: resolved in bulk, and by an :class:`EventBook`; versions counted."""

    bulk: _Simple
    others: list[Item]
    recorded: int
    duplicates: int


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


class _Lines:
    """The file's own lines, parsed by the live parser when an event is needed.

    Few are: the versions of ids the bulk path does not resolve, re-delivery
    suspects, and the items an item rule or a report asks for.
    """

    def __init__(self, path: Path, ends: NDArray[np.int64]) -> None:
        self.path = path
        self.ends = ends

    def events(self, picked: NDArray[np.int64]) -> list[AsRunEvent]:
        """The events of file rows ``picked`` (ascending row numbers), in that order."""
        if len(picked) == 0:
            return []
        rows = np.asarray(picked, dtype=np.int64)
        ends = self.ends[rows].tolist()
        starts = np.where(rows > 0, self.ends[np.maximum(rows - 1, 0)] + 1, 0).tolist()
        out: list[AsRunEvent] = []
        with self.path.open("rb") as handle:
            for start, end in zip(starts, ends, strict=True):
                handle.seek(start)
                line = handle.read(end - start)
                try:
                    out.append(parse_event(line, now_us=OFFLINE_NOW_US))
                except EventError as exc:  # pragma: no cover - every part was parsed in bulk
                    msg = f"line {start}..{end} of {self.path} changed while it was audited"
                    raise RuntimeError(msg) from exc
        return out


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
        self._t_pid: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._simple: _Simple | None = None
        self._others: list[Item] = []
        self._lines: _Lines | None = None
        self._made: dict[int, Item] = {}

    # --------------------------------------------------------------- filling
    def apply(self, change: Any) -> None:  # noqa: ARG002 - Ledger.apply's signature
        """Refused: this ledger takes no changes."""
        msg = "a ColumnLedger takes no changes"
        raise RuntimeError(msg)

    def fill(self, simple: _Simple, others: list[Item], lines: _Lines) -> None:
        """Account the items, as :meth:`Ledger.load` would, from empty."""
        self._simple, self._others, self._lines = simple, others, lines
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
        self._t_pid = pid
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
        if not (timed | counted).any():
            return
        first = int(min(frm[timed].min(initial=_NEVER), start[counted].min(initial=_NEVER)))
        last = int(max(to[timed].max(initial=-_NEVER), start[counted].max(initial=-_NEVER) + 1))
        self.ensure_days(self.calendar.days_between(first, last))
        atoms = np.asarray(self._starts, dtype=np.int64)
        atom_end = np.asarray([self._ends[a] for a in self._starts], dtype=np.int64)
        if np.any(atom_end[:-1] != atoms[1:]):  # pragma: no cover - days are materialised whole
            msg = "the calendar's atoms are not contiguous"
            raise RuntimeError(msg)
        width = int(pid.max()) + 1
        cells = len(atoms) * width
        secs = np.zeros(cells, dtype=np.int64)
        # Airtime: each span split at the atoms it crosses, to the microsecond;
        # in blocks, so that the pieces' arrays stay small.
        for lo in range(0, len(frm), _BLOCK):
            f, t, p = frm[lo : lo + _BLOCK], to[lo : lo + _BLOCK], pid[lo : lo + _BLOCK]
            on = timed[lo : lo + _BLOCK]
            f, t, p = f[on], t[on], p[on]
            a0 = np.searchsorted(atoms, f, side="right") - 1
            pieces = np.searchsorted(atoms, t - 1, side="right") - a0
            span = np.repeat(np.arange(len(f)), pieces)
            atom = np.repeat(a0 - np.cumsum(pieces) + pieces, pieces) + np.arange(len(span))
            us = np.minimum(t[span], atom_end[atom]) - np.maximum(f[span], atoms[atom])
            # Integer sums below 2**53 microseconds a cell: exact in float64.
            secs += np.bincount(atom * width + p[span], weights=us, minlength=cells).astype(
                np.int64
            )
        # Counts: in the atom where the item starts.
        c_atom = np.searchsorted(atoms, start[counted], side="right") - 1
        cnts = np.bincount(c_atom * width + pid[counted], minlength=cells)
        for table, totals in ((self._atom_secs, secs), (self._atom_cnts, cnts)):
            self._roll_up(table, atoms, totals.reshape(len(atoms), width))

    @staticmethod
    def _roll_up(
        table: dict[int, tuple[dict[int, int], ...]],
        atoms: NDArray[np.int64],
        dense: NDArray[np.int64],
    ) -> None:
        """Add each atom's totals (``dense``, atoms by profiles) to its accumulators.

        An accumulator (an atom's own, a window's) gets the sum of its atoms:
        one scatter-add over every (atom, accumulator) pair, then one pass over
        the sums that are not zero.
        """
        used = np.flatnonzero(dense.any(axis=1))
        accs: list[dict[int, int]] = []
        index: dict[int, int] = {}
        pair_atom: list[int] = []
        pair_acc: list[int] = []
        for a in used.tolist():
            for acc in table[int(atoms[a])]:
                k = index.get(id(acc))
                if k is None:
                    k = index[id(acc)] = len(accs)
                    accs.append(acc)
                pair_atom.append(a)
                pair_acc.append(k)
        sums = np.zeros((len(accs), dense.shape[1]), dtype=np.int64)
        np.add.at(sums, np.asarray(pair_acc, dtype=np.int64), dense[pair_atom])
        ks, qs = np.nonzero(sums)
        for k, q, v in zip(ks.tolist(), qs.tolist(), sums[ks, qs].tolist(), strict=True):
            acc = accs[k]
            acc[q] = acc.get(q, 0) + v

    # ----------------------------------------------------------------- items
    def _simple_items(self, refs: list[int]) -> list[Item]:
        """The items of bulk-resolved indices ``refs``, their events read from the file."""
        simple, lines = self._simple, self._lines
        assert simple is not None  # noqa: S101 - filled first
        assert lines is not None  # noqa: S101
        rows = simple.source[refs]
        by_row = np.argsort(rows, kind="stable")
        out: list[Item | None] = [None] * len(refs)
        none = int(_NONE)
        for pos, event in zip(by_row.tolist(), lines.events(rows[by_row]), strict=True):
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

    def profile_on_air(self, now: int) -> int | None:
        """See :meth:`Ledger.profile_on_air` (no item is built)."""
        i = int(np.searchsorted(self._t_start, now, side="right")) - 1
        if i < 0:
            return None
        end = int(self._t_end[i])
        return int(self._t_pid[i]) if end == _NONE or end > now else None

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
