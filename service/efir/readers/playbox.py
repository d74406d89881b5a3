r"""``playbox``: PlayBox AirBox playlists (``.ply``), a plan of one channel's day.

windows-1251 text, CRLF. ``#`` lines are directives; each media line,
``"path";in;out;;title`` (mark-in and mark-out in seconds), is an item of
``out - in`` seconds. The directives before a media line describe it:
``#LISTID`` (its id in the playlist, the event id), ``#PERFORMER`` (the
artist), ``#TYPE``, ``#TC``, ``#MISSING`` (the media file was not found when
the playlist was saved: the item cannot air and is skipped).

No item has a clock time: items run on from the playlist's start, the
``#PLAYLISTTC HH:MM:SS:FF`` timecode (frames at ``--frame-rate``, default 25)
on the date of the playlist's name (``YYYY_MM_DD_HH_MM_SS.ply``, from the
``#FILENAME`` header, else the file's own name), unless ``--date`` and
``--day-start`` say otherwise. ``#EVENT WAITTO <seconds>`` holds the
playlist until that time of day (seconds after midnight of the playlist's
date, on the next day when that is more than twelve hours before the running
time): the next item starts then, or at once when the running time is
already past it. Other ``#EVENT``, ``#EXTEVENT`` and ``#SUBEVENT`` lines are
secondary events (logos, title boxes, notes, DPI markers) with no airtime.

The kind of an item is not in the file, only in the station's folders
(``V:\VIDEO\Commercial\...``): ``--classify`` on ``raw.Path``. ``house_id``
is the media file's name without its extension.
"""

from __future__ import annotations

import csv
from datetime import time
from fractions import Fraction
from pathlib import PureWindowsPath
from typing import TYPE_CHECKING, Any

from efir.core.timebase import US_PER_S
from efir.readers import timecode
from efir.readers.base import LineError, Record, Skipped
from efir.readers.playlist import (
    MAX_SPAN_US,
    TOO_LONG,
    day_origin,
    named_day,
    rfc3339,
    seconds_us,
    wall_us,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import date
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from efir.readers.base import ReadOptions

#: The frame rate of ``#PLAYLISTTC`` when ``--frame-rate`` does not say (PAL).
DEFAULT_RATE = Fraction(25)
ENCODING = "windows-1251"
#: Directives whose value describes the next media line, kept under ``raw``.
_ITEM_DIRECTIVES = {"LISTID": "ListId", "PERFORMER": "Performer", "TYPE": "Type", "TC": "TC"}
_SECONDARY = frozenset({"EVENT", "EXTEVENT", "SUBEVENT"})
_HALF_DAY_US = 12 * 3600 * US_PER_S
_DAY_US = 2 * _HALF_DAY_US
SECONDARY_REASON = "directive event (logo, title box, note, marker): secondary, not airtime"


class PlayboxReader:
    """PlayBox AirBox ``.ply`` playlists."""

    name = "playbox"

    def sniff(self, head: bytes) -> bool:
        """Directive lines of a PlayBox playlist (``#FILENAME``, ``#PLAYLISTTC``, ``#LISTID``)."""
        return head.startswith(b"#") and (
            b"#PLAYLISTTC" in head
            or b"#PLAYLIST_FILE_NAME" in head
            or head.startswith(b"#LISTID ")
            or b"\n#LISTID " in head
        )

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per media line, at the running time of the playlist."""
        source = str(path)
        data = path.read_bytes()
        text = (
            data[3:].decode("utf-8", "replace")
            if data.startswith(b"\xef\xbb\xbf")
            else data.decode(ENCODING, "replace")
        )
        lines = text.splitlines()
        header = _header(lines)
        try:
            start = self._start(path, header, options)
        except ValueError as exc:
            yield LineError(source, 1, (str(exc),), "missing_date")
            return
        on, running = start
        first = running
        tz = options.timezone
        pending: dict[str, str] = {}
        missing = False
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            if line.startswith("#"):
                key, _, value = line[1:].partition(" ")
                if key == "EVENT" and value.startswith("WAITTO"):
                    try:
                        running = _hold(on, value[6:].strip(), running, tz)
                    except ValueError as exc:
                        yield LineError(source, number, (f"WAITTO: {exc}",), "invalid_field")
                        continue
                    yield Skipped(source, number, "WAITTO: a hold until a time of day")
                elif key in _SECONDARY:
                    yield Skipped(source, number, SECONDARY_REASON)
                elif key == "MISSING":
                    missing = True
                elif key in _ITEM_DIRECTIVES:
                    pending[_ITEM_DIRECTIVES[key]] = value.strip()
                continue
            if running - first > MAX_SPAN_US:
                yield LineError(source, number, (TOO_LONG,), "invalid_field")
                return
            got = self._item(source, number, line, pending, running, missing, tz)
            pending, missing = {}, False
            if isinstance(got, Record):
                running += round(got.fields["duration"] * US_PER_S)
            yield got
        if progress is not None:
            progress(len(data))

    @staticmethod
    def _start(path: Path, header: dict[str, str], options: ReadOptions) -> tuple[date, int]:
        """The playlist's date and the instant its first item starts (UTC µs).

        Raises:
            ValueError: the date is nowhere, or ``#PLAYLISTTC`` is not a timecode.
        """
        named = None
        for name in (header.get("FILENAME"), header.get("PLAYLIST_FILE_NAME"), path.name):
            named = named_day(PureWindowsPath(name).name) if name else None
            if named is not None:
                break
        on = options.date or (named[0] if named else None)
        if on is None:
            msg = "the playlist's date is neither in its name nor in #FILENAME; pass --date"
            raise ValueError(msg)
        tz = options.timezone
        if options.day_start is not None:
            return on, day_origin(on, options.day_start, tz)
        tc = header.get("PLAYLISTTC")
        if tc:
            try:
                return on, wall_us(on, timecode.to_us(tc, options.frame_rate or DEFAULT_RATE), tz)
            except ValueError as exc:
                msg = f"#PLAYLISTTC: {exc}"
                raise ValueError(msg) from exc
        clock = named[1] if named else None
        return on, day_origin(on, clock or time(0), tz)

    @staticmethod
    def _item(  # noqa: PLR0917 - the line and what the directives said
        source: str,
        number: int,
        line: str,
        pending: dict[str, str],
        running: int,
        missing: bool,
        tz: ZoneInfo,
    ) -> Record | LineError | Skipped:
        cells = next(csv.reader([line], delimiter=";", quotechar='"'), [])
        names = ("Path", "In", "Out", "Spare", "Title")
        raw = {**pending, **{n: c for n, c in zip(names, cells, strict=False) if c}}
        if missing:
            return Skipped(source, number, "media missing when the playlist was saved: cannot air")
        try:
            mark_in = seconds_us(raw.get("In", ""))
            mark_out = seconds_us(raw.get("Out", ""))
        except ValueError as exc:
            return LineError(source, number, (f"mark-in or mark-out: {exc}",), "invalid_field")
        if mark_out <= mark_in:
            return Skipped(source, number, "no length (mark-out not after mark-in): not airtime")
        fields: dict[str, Any] = {
            "event_id": raw.get("ListId") or f"line-{number}",
            "phase": "complete",
            "start": rfc3339(running, tz),
            "duration": (mark_out - mark_in) / US_PER_S,
        }
        media = raw.get("Path", "")
        stem = PureWindowsPath(media).stem if media else ""
        if stem:
            fields["house_id"] = stem
        if raw.get("Title"):
            fields["title"] = raw["Title"]
        if raw.get("Performer"):
            fields["artist"] = raw["Performer"]
        return Record(fields, raw, number)


def _hold(on: date, seconds: str, running: int, tz: ZoneInfo) -> int:
    """When the item after ``#EVENT WAITTO <seconds>`` starts (UTC µs).

    The time of day ``seconds`` after midnight of the playlist's date, on a
    later day when that is more than twelve hours before ``running``; at
    ``running`` itself when the playlist is already past it.

    Raises:
        ValueError: ``seconds`` is not a number of seconds.
    """
    hold = seconds_us(seconds)
    target = wall_us(on, hold, tz)
    while target < running - _HALF_DAY_US:  # a time of a later day
        hold += _DAY_US
        target = wall_us(on, hold, tz)
    return max(running, target)


def _header(lines: list[str]) -> dict[str, str]:
    """The playlist-wide directives before the first item (``#FILENAME``, ``#PLAYLISTTC``)."""
    header: dict[str, str] = {}
    for line in lines[:64]:
        if line.startswith("#LISTID"):
            break
        if line.startswith("#"):
            key, _, value = line[1:].partition(" ")
            header[key] = value.strip()
    return header
