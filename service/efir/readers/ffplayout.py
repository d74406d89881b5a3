"""``ffplayout``: the daily JSON playlist of ffplayout, a plan of one channel's day.

``{"channel": ..., "date": "YYYY-MM-DD", "program": [{"in", "out",
"duration", "source", "category"?, "title"?}, ...]}``: each item plays
``out - in`` seconds of its source, one after another from the playlist's
start: ``--day-start`` when given, else the playlist's ``begin`` (older
versions write it), else 00:00, on ``--date`` or the playlist's ``date``
(else the date in the file's name), in the channel's zone
(``--source-timezone``: ffplayout's day start is a local clock time).
``category: "advertisement"`` (the one category the engine knows) makes an
item advertising; other categories are kept under ``raw.category`` for
``--classify``. ``house_id`` is the source's file name without extension.
Each item is named ``program[N]`` in errors; its event id is the date, the
index and the source, stable across re-reads of the same playlist.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import msgspec

from efir.core.timebase import US_PER_S
from efir.readers.base import LineError, Record, Skipped, oversized
from efir.readers.playlist import (
    MAX_SPAN_US,
    PROGRAM_LIST,
    TOO_LONG,
    day_origin,
    named_day,
    parse_clock,
    rfc3339,
    seconds_us,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from efir.readers.base import ReadOptions

#: The largest playlist read (a day is a few hundred kB; this bounds memory).
MAX_BYTES = 64 << 20
_KINDS = {"advertisement": "advertising"}


class FfplayoutReader:
    """ffplayout JSON playlists."""

    name = "ffplayout"

    def sniff(self, head: bytes) -> bool:
        """A JSON object with a ``program`` list (``"program": [``)."""
        return head.startswith(b"{") and PROGRAM_LIST.search(head) is not None

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per programme item, at the running time of the playlist."""
        source = str(path)
        refused = oversized(path, MAX_BYTES, "playlist")
        if refused is not None:
            yield refused
            return
        size = path.stat().st_size
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf")
        try:
            doc = msgspec.json.decode(data)
        except (msgspec.DecodeError, RecursionError) as exc:
            yield LineError(source, 1, (f"not JSON: {exc}",), "malformed_json", "document")
            return
        if not isinstance(doc, dict) or not isinstance(doc.get("program"), list):
            reason = "not an ffplayout playlist: no object with a 'program' list"
            yield LineError(source, 1, (reason,), "invalid", "document")
            return
        try:
            on, running = self._start(path, doc, options)
        except ValueError as exc:
            yield LineError(source, 1, (str(exc),), "invalid_field", "document")
            return
        first = running
        for index, item in enumerate(doc["program"]):
            if running - first > MAX_SPAN_US:
                where = f"program[{index}]"
                yield LineError(source, index + 1, (TOO_LONG,), "invalid_field", where)
                return
            got = self._item(source, index, item, on, running, options.timezone)
            if isinstance(got, Record):
                running += round(got.fields["duration"] * US_PER_S)
            yield got
        if progress is not None:
            progress(size)

    @staticmethod
    def _start(path: Path, doc: dict[str, Any], options: ReadOptions) -> tuple[date, int]:
        """The playlist's date and the instant (UTC µs) its first item starts.

        Raises:
            ValueError: no date anywhere, or a ``date`` or ``begin`` that is not one.
        """
        on = options.date
        if on is None and isinstance(doc.get("date"), str):
            try:
                on = date.fromisoformat(doc["date"])
            except ValueError as exc:
                msg = f"date {doc['date']!r} is not YYYY-MM-DD"
                raise ValueError(msg) from exc
        if on is None:
            named = named_day(path.name)
            if named is None:
                msg = "the playlist gives no date (no 'date', none in its name); pass --date"
                raise ValueError(msg)
            on = named[0]
        clock = options.day_start
        begin = doc.get("begin")
        if clock is None and isinstance(begin, str) and begin.strip():
            clock = parse_clock(begin)
        return on, day_origin(on, clock or time(0), options.timezone)

    @staticmethod
    def _item(  # noqa: PLR0917 - the item and where the playlist is
        source: str, index: int, item: object, on: date, running: int, tz: ZoneInfo
    ) -> Record | LineError | Skipped:
        where = f"program[{index}]"
        if not isinstance(item, dict):
            return LineError(source, index + 1, ("an item is not an object",), "invalid", where)
        raw = {
            str(k): v if isinstance(v, str) else msgspec.json.encode(v).decode()
            for k, v in item.items()
            if v is not None
        }
        try:
            mark_in = seconds_us(raw.get("in", "0"))
            mark_out = seconds_us(raw.get("out", ""))
        except ValueError as exc:
            reason = f"in or out: {exc}"
            return LineError(source, index + 1, (reason,), "invalid_field", where)
        if mark_out <= mark_in:
            return Skipped(source, index + 1, "no length (out not after in): not airtime", where)
        media = raw.get("source", "")
        fields: dict[str, Any] = {
            "event_id": f"{on.isoformat()}#{index}:{PurePath(media).name}"[:128],
            "phase": "complete",
            "start": rfc3339(running, tz),
            "duration": (mark_out - mark_in) / US_PER_S,
        }
        kind = _KINDS.get(raw.get("category", "").strip().lower())
        if kind is not None:
            fields["kind"] = kind
        stem = PurePath(media).stem
        if stem:
            fields["house_id"] = stem
        if raw.get("title"):
            fields["title"] = raw["title"]
        return Record(fields, raw, index + 1, where)
