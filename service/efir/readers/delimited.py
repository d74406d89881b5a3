r"""``csv``: any delimited or fixed-width log, through a mapping file (``--mapping FILE``).

The mapping (YAML) says how the file is laid out and where each canonical
field is::

    layout: delimited        # or fixed
    delimiter: ";"           # delimited: one character, "\\t" for tabs (default ",")
    header: true             # delimited: the first row names the columns (default true)
    encoding: windows-1251   # default utf-8 (a BOM is skipped)
    skip: 0                  # lines before the header or the first row
    widths: [[date, 10], [time, 11], [title, 32], [type, 4]]   # fixed: name and width
    time_base: local         # local (--source-timezone) or utc
    frame_rate: 25           # for timecodes (or --frame-rate)
    fields:
      start: {column: [date, time], format: "%d/%m/%Y %H:%M:%S"}
      end: {column: End, format: timecode, inclusive: false}
      duration: {column: Dur, unit: s}        # s, ms, frames or timecode
      kind: {column: type, map: {COM: advertising, PRG: program}}
      title: title
      house_id: 2                             # a column by index (0-based)

A column is named by its header name, its index, or (fixed) its name in
``widths``; several columns are joined with a space before parsing. A time
``format`` is a ``strptime`` pattern, ``iso`` (RFC 3339, offset optional) or
``timecode`` (``HH:MM:SS:FF`` on the day of the row's ``start`` date, or
``--date``). The length is ``duration``, or ``end`` minus ``start`` (``end``
``inclusive: true`` adds one frame, or one second without a frame rate).
Every column of the row is kept under ``raw`` (by header or width name,
else index). ``event_id`` defaults to the start and the line number.
"""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from efir.core.errors import InputError
from efir.readers import timecode
from efir.readers.base import LineError, Record, Skipped, problems

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from efir.readers.base import ReadOptions

Column = str | int | list[str | int]


class FieldSpec(BaseModel):
    """Where one canonical field is, and how to read it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    column: Column
    format: str | None = None
    unit: Literal["s", "ms", "frames", "timecode"] = "s"
    inclusive: bool = False
    map: dict[str, Any] | None = None


class Mapping(BaseModel):
    """A ``--mapping`` file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    layout: Literal["delimited", "fixed"] = "delimited"
    delimiter: str = Field(default=",", min_length=1, max_length=2)
    header: bool = True
    encoding: str = "utf-8"
    skip: int = Field(default=0, ge=0)
    comment: str | None = "#"
    widths: list[tuple[str, int]] = []
    time_base: Literal["local", "utc"] = "local"
    frame_rate: str | None = None
    fields: dict[str, FieldSpec | Column]


class MappingError(InputError):
    """The mapping file cannot be used."""


def load_mapping(data: Any, where: str = "--mapping") -> Mapping:
    """Check a parsed mapping file."""
    try:
        mapping = Mapping.model_validate(data)
    except ValidationError as exc:
        msg = f"{where}: {problems(exc)}"
        raise MappingError(msg) from None
    if "start" not in mapping.fields:
        msg = f"{where}: fields must say where `start` is"
        raise MappingError(msg)
    if mapping.layout == "fixed" and not mapping.widths:
        msg = f"{where}: a fixed layout needs widths: [[name, width], ...]"
        raise MappingError(msg)
    try:
        "".encode(mapping.encoding)
    except LookupError:
        msg = f"{where}: unknown encoding {mapping.encoding!r}"
        raise MappingError(msg) from None
    return mapping


def _key(column: Column) -> str | int | tuple[str | int, ...]:
    return tuple(column) if isinstance(column, list) else column


@dataclass(frozen=True, slots=True)
class _Row:
    cells: list[str]
    names: dict[str, int]
    #: Each mapped column (by :func:`_key`) resolved to cell indices once per file.
    index: dict[str | int | tuple[str | int, ...], tuple[int, ...]]

    def get(self, column: Column) -> str:
        indices = self.index.get(_key(column))
        if indices is None:
            indices = _resolve(column, self.names)
        cells = self.cells
        if len(indices) == 1:
            i = indices[0]
            return cells[i].strip() if i < len(cells) else ""
        return " ".join(cells[i].strip() if i < len(cells) else "" for i in indices)


def _resolve(column: Column, names: dict[str, int]) -> tuple[int, ...]:
    out = []
    for part in column if isinstance(column, list) else [column]:
        i = part if isinstance(part, int) else names.get(part)
        if i is None:
            msg = f"no column {part!r}"
            raise ValueError(msg)
        out.append(i)
    return tuple(out)


class DelimitedReader:
    """Delimited and fixed-width logs through a mapping."""

    name = "csv"

    def sniff(self, head: bytes) -> bool:  # noqa: ARG002 - never detected: it needs --mapping
        """Never chosen by detection: a delimited log means nothing without its mapping."""
        return False

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per row."""
        if options.mapping is None:
            msg = "--input-format csv needs --mapping FILE (docs/formats.md)"
            raise MappingError(msg)
        mapping = load_mapping(options.mapping)
        source = str(path)
        rate = timecode.frame_rate(mapping.frame_rate) if mapping.frame_rate else None
        rate = rate or options.frame_rate
        tz = UTC if mapping.time_base == "utc" else options.timezone
        specs = {
            name: spec if isinstance(spec, FieldSpec) else FieldSpec(column=spec)
            for name, spec in mapping.fields.items()
        }
        text = path.read_bytes().decode(mapping.encoding, errors="replace").removeprefix("\ufeff")
        lines = text.splitlines()
        names: dict[str, int] = {}
        first = mapping.skip
        if mapping.layout == "fixed":
            names = {name: i for i, (name, _) in enumerate(mapping.widths)}
        elif mapping.header and first < len(lines):
            header = next(csv.reader([lines[first]], delimiter=_delimiter(mapping)))
            names = {name.strip(): i for i, name in enumerate(header)}
            first += 1
        index: dict[str | int | tuple[str | int, ...], tuple[int, ...]] = {}
        for spec in specs.values():
            with contextlib.suppress(ValueError):  # reported on each row that needs it
                index[_key(spec.column)] = _resolve(spec.column, names)
        comment = mapping.comment
        body = lines[first:]
        if mapping.layout == "fixed":
            rows: Iterator[list[str]] = (_fixed(line, mapping.widths) for line in body)
        else:
            rows = csv.reader(body, delimiter=_delimiter(mapping))
        for number, cells in enumerate(rows, start=first + 1):
            if not cells or not "".join(cells).strip():
                continue
            if comment and cells[0].startswith(comment):
                continue
            try:
                yield _record(_Row(cells, names, index), number, specs, tz, rate, options)
            except (ValueError, InputError) as exc:
                yield LineError(source, number, (str(exc),), "invalid_field")
        if progress is not None:
            progress(len(text))


def _delimiter(mapping: Mapping) -> str:
    return "\t" if mapping.delimiter in ("\\t", "\t", "tab") else mapping.delimiter


def _fixed(line: str, widths: list[tuple[str, int]]) -> list[str]:
    out, at = [], 0
    for _, width in widths:
        out.append(line[at : at + width])
        at += width
    return out


def _instant(
    text: str, spec: FieldSpec, tz: ZoneInfo | Any, rate: Fraction | None, day: datetime | None
) -> datetime:
    fmt = spec.format or "iso"
    if fmt == "iso":
        t = datetime.fromisoformat(text)
        return t if t.tzinfo is not None else t.replace(tzinfo=tz)
    if fmt == "timecode":
        if rate is None:
            msg = "a timecode needs frame_rate in the mapping or --frame-rate"
            raise ValueError(msg)
        if day is None:
            msg = "a timecode needs a date: a date in start, or --date"
            raise ValueError(msg)
        return day + timedelta(microseconds=timecode.to_us(text, rate))
    return datetime.strptime(text, fmt).replace(tzinfo=tz)


def _record(  # noqa: PLR0917 - one branch per field kind
    row: _Row,
    number: int,
    specs: dict[str, FieldSpec],
    tz: ZoneInfo | Any,
    rate: Fraction | None,
    options: ReadOptions,
) -> Record:
    # Every column of the row, by its header (or width) name, else its index.
    by_index = {i: name for name, i in row.names.items()}
    raw = {by_index.get(i, str(i)): cell.strip() for i, cell in enumerate(row.cells)}
    day = None
    if options.date is not None:
        day = datetime(options.date.year, options.date.month, options.date.day, tzinfo=tz)
    start_spec = specs["start"]
    start = _instant(row.get(start_spec.column), start_spec, tz, rate, day)
    fields: dict[str, Any] = {"phase": "complete", "start": start.isoformat()}
    if "duration" in specs:
        fields["duration"] = _seconds(row.get(specs["duration"].column), specs["duration"], rate)
    elif "end" in specs:
        spec = specs["end"]
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        end = _instant(row.get(spec.column), spec, tz, rate, midnight)
        if spec.format not in (None, "iso", "timecode") and "%d" not in spec.format:
            # A clock time only: on the start's day (past midnight handled below).
            end = datetime.combine(start.date(), end.timetz())
        if spec.inclusive:
            end += (
                timedelta(seconds=1) if rate is None else timedelta(microseconds=round(1e6 / rate))
            )
        if end <= start:
            end += timedelta(days=1)  # ran past midnight, written with the clock time only
        fields["duration"] = (end - start).total_seconds()
    for name, spec in specs.items():
        if name in ("start", "end", "duration"):
            continue
        value: Any = row.get(spec.column)
        if spec.map is not None:
            value = spec.map.get(value, spec.map.get("*"))
        if value in (None, ""):
            continue
        if name == "kk_fraction":
            value = float(value)
        elif name == "seq":
            value = int(value)
        fields[name] = value
    fields.setdefault("event_id", f"{start.isoformat()}#{number}")
    return Record(fields, raw, number)


def _seconds(text: str, spec: FieldSpec, rate: Fraction | None) -> float:
    if spec.unit == "timecode" or (spec.format == "timecode"):
        if rate is None:
            msg = "a timecode duration needs frame_rate in the mapping or --frame-rate"
            raise ValueError(msg)
        return timecode.to_us(text, rate) / 1e6
    number = float(text.replace(",", "."))
    if spec.unit == "ms":
        return number / 1000
    if spec.unit == "frames":
        if rate is None:
            msg = "a duration in frames needs frame_rate in the mapping or --frame-rate"
            raise ValueError(msg)
        return float(Fraction(int(number)) / rate)
    return number
