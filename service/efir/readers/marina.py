"""``marina``: the Pebble Beach Marina text as-run ("Marina Text AsRun v1.0").

A short header (``Channel:``, ``From: dd/mm/yy HH:MM:SS to ...``), a row of
column names and a ruler of dashes that gives each column's extent, then
one row per logged event: TYPE, START TIME, END TIME, MEDIA ID, EVENT,
TITLE, SOM, SEGMENT, DURATION, START TYPE, STRT OFFSET, END TYPE, END
OFFSET, DEVICE STREAM, RECONCILE KEY, HOUSE ID, STATUS (the status text may
run past its column: the last column takes the rest of the line).

* Times are ``dd/mm/yyyy HH:MM:SS;FF``, the local wall clock
  (``--source-timezone``) with a drop-frame timecode's frames (``;``, 29.97
  frames per second) or non-drop ones (``:``, 25 frames per second);
  ``--frame-rate`` sets the rate of both. An item runs from START TIME to
  END TIME; DURATION is used only when END TIME is blank.
* Each media item is logged twice, a ``Media Event`` on the player and a
  ``Switch Event`` to the output (same times and media id): it is one item,
  read once, with the switch row's status and device (what the output
  took) and the player under ``raw.PLAYER``. Live segments are switch events
  with no media id.
* STATUS ``Missed`` and ``Descheduled`` did not air (skipped, counted);
  ``Completed``, ``Play Next`` (ended by the operator) and others air, their
  status kept under ``raw.STATUS`` (``Lost XPoint Path``: the player ran but
  the router's path was lost; a station that counts it as not aired says so
  in its classification review). ``Comment`` rows are not airtime.
* TYPE ``S`` is a secondary event; every other type is primary.
* The MEDIA ID is the ``house_id``; the kind is only in the station's media
  id conventions (``COM...`` for commercials): ``--classify``.
"""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from efir.core.timebase import US_PER_S, local_midnight_us
from efir.readers import timecode
from efir.readers.base import LineError, Record, Skipped
from efir.readers.playlist import rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from efir.readers.base import ReadOptions

#: Frames per second when ``--frame-rate`` does not say: 29.97 for drop-frame
#: times (``;``), 25 for non-drop ones (``:``; a wall-clock log at a
#: fractional rate must drop frames, so a non-drop one is PAL, as in Kazakhstan).
DROP_RATE = Fraction(30000, 1001)
NON_DROP_RATE = Fraction(25)
NOT_AIRED = frozenset({"missed", "descheduled"})
#: The documented layout, used when a file has no ruler line.
COLUMNS = (
    ("TYPE", 4),
    ("START TIME", 22),
    ("END TIME", 22),
    ("MEDIA ID", 32),
    ("EVENT", 20),
    ("TITLE", 32),
    ("SOM", 11),
    ("SEGMENT", 32),
    ("DURATION", 11),
    ("START TYPE", 12),
    ("STRT OFFSET", 11),
    ("END TYPE", 12),
    ("END OFFSET", 11),
    ("DEVICE STREAM", 32),
    ("RECONCILE KEY", 32),
    ("HOUSE ID", 32),
    ("STATUS", 10),
)
_STAMP = re.compile(r"^(\d{2})/(\d{2})/(\d{4}) (\d{2}:\d{2}:\d{2}[:;.,]\d{2})$")
_RULER = re.compile(r"^[ -]+$")
_PAIR = frozenset({"media event", "switch event"})

Spans = list[tuple[str, int, int | None]]


def _default_spans() -> Spans:
    """The documented layout's extents: its header and ruler, as Marina writes them."""
    names = " " + " ".join(name.ljust(width) for name, width in COLUMNS)
    return _spans(names, " " + " ".join("-" * width for _, width in COLUMNS))


def _spans(names: str, ruler: str) -> Spans:
    """Each column's name and extent from the ruler of dashes under the names."""
    spans: Spans = [
        (names[m.start() : m.end()].strip() or f"COLUMN {i}", m.start(), m.end())
        for i, m in enumerate(re.finditer(r"-+", ruler), start=1)
    ]
    last, begin, _ = spans[-1]
    spans[-1] = (last, begin, None)  # the status may run past its column
    return spans


def _instant(text: str, tz: ZoneInfo, rate: Fraction | None) -> int:
    """``dd/mm/yyyy HH:MM:SS;FF`` in ``tz`` as UTC µs (``rate``: ``None`` for the defaults)."""
    m = _STAMP.match(text)
    if m is None:
        msg = f"{text!r} is not dd/mm/yyyy HH:MM:SS;FF"
        raise ValueError(msg)
    day, month, year, clock = m.groups()
    if rate is None:
        rate = DROP_RATE if clock[8] in ";," else NON_DROP_RATE
    return local_midnight_us(date(int(year), int(month), int(day)), tz) + timecode.to_us(
        clock, rate
    )


def _length(text: str, rate: Fraction | None) -> int:
    """A DURATION timecode as µs (``rate``: ``None`` for the defaults)."""
    if rate is None:
        rate = DROP_RATE if text[8:9] in {";", ","} else NON_DROP_RATE
    return timecode.to_us(text, rate)


class MarinaReader:
    """Pebble Beach Marina text as-run logs."""

    name = "marina"

    def sniff(self, head: bytes) -> bool:
        """The ``Log Output - Marina Text AsRun`` banner."""
        return head.startswith(b"Log Output - Marina") or b"Marina Text AsRun" in head[:200]

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per item (its Media and Switch rows read once)."""
        source = str(path)
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("windows-1252", "replace")
        lines = text.splitlines()
        spans, first = _default_spans(), 0
        for number, line in enumerate(lines[:40]):
            if line.lstrip().startswith("TYPE") and number + 1 < len(lines):
                ruler = lines[number + 1]
                if _RULER.match(ruler) and "-" in ruler:
                    spans, first = _spans(line, ruler), number + 2
                    break
        rate = options.frame_rate
        held: tuple[int, dict[str, str]] | None = None
        for number, line in enumerate(lines[first:], start=first + 1):
            if not line.strip() or (first == 0 and not line.startswith(" ")):
                continue  # the header, when no ruler said where the rows begin
            raw = {
                name: cell
                for name, begin, end in spans
                if (cell := line[begin:end].strip() if end is not None else line[begin:].strip())
            }
            if held is not None:
                if _same_item(held[1], raw):
                    yield self._record(source, held[0], _merged(held[1], raw), options, rate)
                    held = None
                    continue
                yield self._record(source, held[0], held[1], options, rate)
                held = None
            if raw.get("EVENT", "").lower() in _PAIR and raw.get("START TIME"):
                held = (number, raw)  # its pair may follow
                continue
            yield self._record(source, number, raw, options, rate)
        if held is not None:
            yield self._record(source, held[0], held[1], options, rate)
        if progress is not None:
            progress(len(data))

    @staticmethod
    def _record(
        source: str, number: int, raw: dict[str, str], options: ReadOptions, rate: Fraction | None
    ) -> Record | LineError | Skipped:
        status = raw.get("STATUS", "")
        if status.lower() in NOT_AIRED:
            return Skipped(source, number, f"status {status!r}: did not air")
        if raw.get("EVENT", "").lower() == "comment":
            return Skipped(source, number, "comment row: not airtime")
        tz = options.timezone
        try:
            start = _instant(raw.get("START TIME", ""), tz, rate)
            if raw.get("END TIME"):
                length = _instant(raw["END TIME"], tz, rate) - start
            else:
                length = _length(raw.get("DURATION", ""), rate)
        except ValueError as exc:
            return LineError(source, number, (str(exc),), "invalid_field")
        if length <= 0:
            return Skipped(source, number, "no length (end not after start): not airtime")
        media = raw.get("MEDIA ID")
        fields: dict[str, Any] = {
            "event_id": raw.get("RECONCILE KEY")
            or f"{raw['START TIME']}|{media or raw.get('TITLE', '')}"[:128],
            "phase": "complete",
            "start": rfc3339(start, tz),
            "duration": length / US_PER_S,
        }
        if raw.get("TYPE", "").upper() == "S":
            fields["layer"] = "secondary"
        if media:
            fields["house_id"] = media
        if raw.get("TITLE"):
            fields["title"] = raw["TITLE"]
        return Record(fields, raw, number)


def _same_item(first: dict[str, str], second: dict[str, str]) -> bool:
    """The Media and the Switch row of one item: same times and media id, one of each event."""
    return (
        {first.get("EVENT", "").lower(), second.get("EVENT", "").lower()} == _PAIR
        and first.get("START TIME") == second.get("START TIME")
        and first.get("END TIME") == second.get("END TIME")
        and first.get("MEDIA ID") == second.get("MEDIA ID")
    )


def _merged(first: dict[str, str], second: dict[str, str]) -> dict[str, str]:
    """One item from its two rows: the switch row's fields, the player's stream kept."""
    media, switch = (
        (first, second)
        if first.get("EVENT", "").lower() == "media event"
        else (
            second,
            first,
        )
    )
    merged = {**media, **switch}
    if media.get("DEVICE STREAM"):
        merged["PLAYER"] = media["DEVICE STREAM"]
    return merged
