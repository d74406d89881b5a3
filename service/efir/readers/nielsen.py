"""``nielsen-nl``: the Nielsen NL (Hybrid Audit) exchange format, as-run and planned.

ISO-8859-1 text, tab-separated, ``%`` header lines. ``%PIVOTHOUR 020000``: the
broadcast day runs from 02:00:00 to 25:59:59, so hours of 24 and more are on
the next calendar date. ``%COMMENT`` names the columns. Each row: ``Date``
(the broadcast day, ``YYYYMMDD``), ``StartTime`` (``BeginTime`` in planned
files, ``HHMMSS``), ``EndTime`` (the last second aired, inclusive), a rounded
``Duration`` (not used: the length is ``EndTime + 1 s - StartTime``),
``ProgramType``: ``PROGRAMMA`` is a programme, ``PROMO`` a promo,
``STATIONID`` an ident, ``BREAK`` a commercial break as one row. Times are
local to :attr:`ReadOptions.timezone` (Europe/Amsterdam for the Dutch
channels). Neither language nor origin is in the file: ``--classify``.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from efir.readers.base import LineError, Record, Skipped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from efir.readers.base import ReadOptions

#: ``ProgramType`` to Efir's kind (others get none: ``--classify``).
KINDS = {
    "PROGRAMMA": "program",
    "PROMO": "promo",
    "STATIONID": "ident",
    "BREAK": "advertising",
    "COMMERCIAL": "advertising",
}
_DEFAULT_COLUMNS = (
    "ChannelID",
    "Omroep",
    "Date",
    "StartTime",
    "Duration",
    "EndTime",
    "ProgID",
    "ProgramType",
    "UnharmonizedTitle",
)


@functools.lru_cache(maxsize=64)
def _date(text: str) -> datetime:
    """``YYYYMMDD`` as a naive midnight (a file holds a day or two: cached)."""
    if len(text) != 8 or not text.isdigit():
        msg = f"{text!r} is not a date YYYYMMDD"
        raise ValueError(msg)
    return datetime(int(text[:4]), int(text[4:6]), int(text[6:]))  # noqa: DTZ001 - local


@functools.lru_cache(maxsize=4096)
def _clock(text: str) -> timedelta:
    """``HHMMSS`` (hours may be 24 and more) as the time since the date's midnight."""
    if len(text) != 6 or not text.isdigit():
        msg = f"{text!r} is not a time HHMMSS"
        raise ValueError(msg)
    hours, minutes, seconds = int(text[:2]), int(text[2:4]), int(text[4:])
    if minutes > 59 or seconds > 59:
        msg = f"{text!r} is not a time HHMMSS"
        raise ValueError(msg)
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


class NielsenReader:
    """Nielsen NL exchange files (``AR*`` as-run, ``BR*`` planned)."""

    name = "nielsen-nl"

    def sniff(self, head: bytes) -> bool:
        """A ``%FORMAT`` header, or the ``%PIVOTHOUR``/``%COMMENT`` lines."""
        return head.startswith(b"%FORMAT") or (b"%PIVOTHOUR" in head and head.startswith(b"%"))

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per row; header lines set the pivot hour and the column names."""
        source = str(path)
        columns = list(_DEFAULT_COLUMNS)
        pivot = timedelta(0)
        tz = options.timezone
        consumed = 0
        with path.open("rb") as handle:
            for number, raw_line in enumerate(handle, start=1):
                consumed += len(raw_line)
                if progress is not None and number % 4096 == 0:
                    progress(consumed)
                line = raw_line.decode("iso-8859-1").rstrip("\r\n")
                if number == 1:
                    line = line.removeprefix("ï»¿")  # a UTF-8 BOM read as ISO-8859-1
                if not line.strip():
                    continue
                if line.startswith("%"):
                    key, _, value = line[1:].partition("\t")
                    key, _, rest = key.partition(" ")
                    if key == "PIVOTHOUR":
                        try:
                            pivot = _clock(value.strip())
                        except ValueError as exc:
                            yield LineError(source, number, (f"%PIVOTHOUR: {exc}",), "invalid")
                    elif key == "COMMENT":
                        columns = [c.strip() for c in (rest + "\t" + value).split("\t")]
                        columns = [c for c in columns if c] or columns
                    continue
                yield self._row(source, number, line, columns, pivot, tz)
        if progress is not None:
            progress(consumed)

    @staticmethod
    def _row(  # noqa: PLR0917 - the row and what the headers said
        source: str,
        number: int,
        line: str,
        columns: list[str],
        pivot: timedelta,
        tz: ZoneInfo,
    ) -> Record | LineError:
        cells = line.split("\t")
        raw = {name: cells[i].strip() for i, name in enumerate(columns) if i < len(cells)}
        begin = raw.get("StartTime") or raw.get("BeginTime") or ""
        try:
            day = _date(raw.get("Date", ""))
            start = _clock(begin)
            last = _clock(raw.get("EndTime", ""))
        except ValueError as exc:
            return LineError(source, number, (str(exc),), "invalid_field")
        if start < pivot and pivot:
            # A time before the pivot hour written without +24 h: the next calendar day.
            start += timedelta(days=1)
            last += timedelta(days=1)
        end = last + timedelta(seconds=1)  # EndTime is the last second aired
        if end <= start:
            end += timedelta(days=1)  # a row running past 24:00 written with 00:MM
        at = (day + start).replace(tzinfo=tz)
        kind = KINDS.get(raw.get("ProgramType", "").upper())
        house = raw.get("ProgID") or raw.get("PromoID") or None
        fields: dict[str, object] = {
            "event_id": f"{raw.get('Date', '')}-{begin}-{raw.get('ProgramType', '')}-{house or ''}",
            "phase": "complete",
            "start": at.isoformat(),
            "duration": (end - start).total_seconds(),
        }
        if kind is not None:
            fields["kind"] = kind
        if house:
            fields["house_id"] = house
        title = raw.get("UnharmonizedTitle")
        if title:
            fields["title"] = title
        channel = raw.get("Omroep") or raw.get("ChannelID")
        if channel:
            fields["channel"] = channel.lower()
        return Record(fields, raw, number)
