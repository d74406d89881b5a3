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

from efir.audit.column_ledger import NONE, BulkItems, ColumnLedger, FileLines
from efir.core.book import EventBook, Item
from efir.core.event import INHERITABLE, Layer, Phase
from efir.readers.base import OFFLINE_NOW_US
from efir.schema.asrun import (
    EARLIEST_START_US,
    MAX_FUTURE_US,
    EventError,
    parse_event,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from numpy.typing import NDArray

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
_EMPTY_U64: NDArray[np.uint64] = np.empty(0, dtype=np.uint64)
_EMPTY_I64: NDArray[np.int64] = np.empty(0, dtype=np.int64)
_CHUNK = 16 << 20
_COLON, _COMMA, _NEWLINE = b":,\n"


class Declined(Exception):  # noqa: N818 - not an error: the pure path reads the file
    """The file is not one the columnar path reads exactly; the reason says why."""


def _decline(reason: str) -> NoReturn:
    raise Declined(reason)


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
    # hash({names}, {has}) is _COMBO_HASH over the subquery's has_ columns: the
    # two passes must hash a combination alike.
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
        none=NONE,
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
    known = start != NONE
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
    duration[~given] = NONE
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
    lines = FileLines(path, _check_bytes(path, shape))
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
    lines: FileLines,
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
    aired = ~cancel_of[wc] & (rows.start[w] != NONE)
    w, a, wc = w[aired], a[aired], wc[aired]
    opened = start_phase_of[wc]
    starts = rows.start[w]
    dur = rows.duration[w]
    length = np.where(dur == NONE, 0, dur)
    ends = np.where(opened, NONE, starts + length)
    planned = np.where(opened & (dur != NONE), starts + length, NONE)
    # Other ids: an EventBook over their own versions, in arrival order.
    members = np.sort(order[np.isin(ids, ids[first[~simple]])]) if not simple.all() else order[:0]
    book = EventBook(profiles)
    for row, event in zip(members.tolist(), lines.events(members), strict=True):
        book.record(event, row + 1)
    bulk = BulkItems(
        starts, ends, planned, w + 1, pid_of[combo_index[a]], primary_of[combo_index[a]], a
    )
    return _Resolved(bulk, book.resolve(), kept, n - kept)


@dataclass
class _Resolved:
    """The items of a file: resolved in bulk, and by an :class:`EventBook`; versions counted."""

    bulk: BulkItems
    others: list[Item]
    recorded: int
    duplicates: int
