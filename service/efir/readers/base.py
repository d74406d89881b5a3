r"""The reader interface: records in, canonical events and per-record errors out.

A reader never stops at a bad record: it yields a :class:`LineError` (where
and why) and goes on. A reader of a foreign format yields records (:class:`Record`):
canonical fields plus every source field it read (``raw``); :func:`finish`
classifies each (fields the record lacks only) and validates it with the
same checks as live ingest, except the one-day future guard: a file's period
has nothing to do with the wall clock (planned days and the 2027 what-if are
future by nature). Time zones are never guessed: a reader of local times
uses :attr:`ReadOptions.timezone`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

import msgspec

from efir.core.channel import DEFAULT_TIMEZONE
from efir.core.timebase import US_PER_S, format_local
from efir.schema.asrun import MAX_PAYLOAD_BYTES, EventError, parse_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from datetime import date, time
    from fractions import Fraction
    from pathlib import Path

    from pydantic import ValidationError

    from efir.core.catalogue import Catalogue
    from efir.core.event import AsRunEvent
    from efir.readers.classify import Classifier

#: ``now_us`` of offline reading: no event is ever "in the future".
OFFLINE_NOW_US = 1 << 62
SCHEMA = "efir.asrun/1"


@dataclass(frozen=True, slots=True)
class LineError:
    """A record that could not be used: where, why (one sentence per problem) and a code.

    ``line`` is the line number of text formats; XML formats name the
    ``element`` (``AsRun #12``) and give its position as ``line``.
    """

    source: str
    line: int
    reasons: tuple[str, ...]
    code: str
    element: str | None = None

    def __str__(self) -> str:
        """Render as ``file:line: reason; reason`` (``file:element: ...`` for XML)."""
        where = self.element if self.element is not None else str(self.line)
        return f"{self.source}:{where}: {'; '.join(self.reasons)}"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that is rightly not airtime (did not air, a header, a comment): not an error."""

    source: str
    line: int
    reason: str
    element: str | None = None


@dataclass(slots=True)
class Record:
    """One source record read: canonical fields, the source's own fields, where it was.

    ``fields`` uses ``efir.asrun/1`` names (``start`` as an RFC 3339 string,
    ``duration`` in seconds); ``raw`` maps each source field, column or
    element name to the text read.
    """

    fields: dict[str, Any]
    raw: dict[str, str]
    line: int
    element: str | None = None


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read files that do not say everything.

    Attributes:
        channel: the channel id events get (``None``: what the file names, or
            ``"channel"``).
        timezone: the zone of local times in the source (never guessed).
        frame_rate: frames per second of timecodes that do not say.
        date: the date of rows that give a clock time or timecode only.
        mapping: the parsed ``--mapping`` file of the ``csv`` reader.
        classify: fills in what records lack (``--classify``).
        catalogue: fills in what records lack by house number or ISRC, first.
        default_kind: the kind of a record that says none and that no
            classification rule gave one: a programme (its unknown language
            then counts against the channel, the conservative reading).
        day_start: the clock time a playlist without clock times starts at
            (``--day-start``; ``None``: what the file says, else 00:00).
    """

    channel: str | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    frame_rate: Fraction | None = None
    date: date | None = None
    mapping: dict[str, Any] | None = None
    classify: Classifier | None = None
    #: House numbers and ISRCs to what they are (``--catalogue``); applied before ``classify``.
    catalogue: Catalogue | None = None
    default_kind: str = "program"
    day_start: time | None = None


class Reader(Protocol):
    """Reads one input format."""

    name: str

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a file (BOM removed) look like this format."""
        ...

    def read(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[AsRunEvent | LineError | Skipped]:
        """Yield events, errors and skipped records in file order (``progress``: bytes read)."""
        ...


class RecordReader(Protocol):
    """A reader of a foreign format: it reads records, :func:`finish` checks them."""

    name: str

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a file (BOM removed) look like this format."""
        ...

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """Yield the file's records, errors and skipped records in file order."""
        ...


_ENCODE = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class Checked:
    """A record that validated, and its event."""

    record: Record
    event: AsRunEvent


def checked(
    source: str, records: Iterable[Record | LineError | Skipped], options: ReadOptions
) -> Iterator[Checked | LineError | Skipped]:
    """Classify and validate each record; pass errors and skipped records through."""
    classify = options.classify
    for record in records:
        if not isinstance(record, Record):
            yield record
            continue
        fields = record.fields
        if options.channel is not None:
            fields["channel"] = options.channel
        if options.catalogue is not None:
            options.catalogue.fill(fields)
        if classify is not None:
            classify.apply(record)
        fields.setdefault("channel", "channel")
        if fields.get("kind") is None:
            fields["kind"] = options.default_kind
        try:
            payload = _ENCODE({"schema": SCHEMA, **fields})
            if len(payload) > MAX_PAYLOAD_BYTES:
                msg = f"record is {len(payload)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit"
                raise EventError([msg], "oversized")  # noqa: TRY301 - one path for both
            yield Checked(record, parse_event(payload, now_us=OFFLINE_NOW_US))
        except EventError as exc:
            yield LineError(source, record.line, tuple(exc.reasons), exc.code, record.element)


def oversized(path: Path, limit: int, what: str) -> LineError | None:
    """One error for a whole document over ``limit`` bytes (``what``: ``playlist``, ``log``)."""
    size = path.stat().st_size
    if size <= limit:
        return None
    reason = f"{what} is {size} bytes, over the {limit}-byte limit"
    return LineError(str(path), 1, (reason,), "oversized", "document")


def finish(
    source: str, records: Iterable[Record | LineError | Skipped], options: ReadOptions
) -> Iterator[AsRunEvent | LineError | Skipped]:
    """The events of :func:`checked` (errors and skipped records passed through)."""
    for got in checked(source, records, options):
        yield got.event if isinstance(got, Checked) else got


class ReaderOf:
    """A :class:`Reader` made of a RecordReader and finish."""

    def __init__(self, inner: RecordReader) -> None:
        """Read with ``inner``."""
        self.inner = inner
        self.name = inner.name

    def sniff(self, head: bytes) -> bool:
        """As the inner reader."""
        return self.inner.sniff(head)

    def read(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[AsRunEvent | LineError | Skipped]:
        """The inner reader's records, classified and checked."""
        return finish(str(path), self.inner.records(path, options, progress=progress), options)


def canonical(record: Record) -> dict[str, Any]:
    """The record as ``efir convert`` writes it: the event's fields, then ``raw``."""
    return {"schema": SCHEMA, **record.fields, "raw": record.raw}


def event_json(event: AsRunEvent, tz: ZoneInfo) -> dict[str, Any]:
    """An event as ``efir.asrun/1`` JSON (start in ``tz``): the inverse of validation."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "channel": event.channel,
        "event_id": event.event_id,
        "phase": str(event.phase),
    }
    if event.start is not None:
        out["start"] = format_local(event.start, tz)
    if event.duration is not None:
        out["duration"] = event.duration / US_PER_S
    for name in sorted(event.given):
        value = getattr(event, name)
        if name == "tags":
            value = sorted(value)
        elif value is not None and name in ("kind", "layer"):
            value = str(value)
        out[name] = value
    for name in ("house_id", "title", "artist", "isrc", "seq"):
        value = getattr(event, name)
        if value is not None:
            out[name] = value
    return out


def problems(exc: ValidationError) -> str:
    """A pydantic error as ``field.path: message; ...`` (options files: mapping, classify)."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)
    )
