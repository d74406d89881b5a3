"""``itx``: the Grass Valley iTX native text as-run, one pipe-delimited line per event.

``M/d/yyyy-HH:MM:SS.ff|type|house id|title|duration|SOM|EOM|event UUID|``:
the start in local time (``--source-timezone``) with frames after the dot
(30 frames per second unless ``--frame-rate`` says otherwise; the older
variant writes milliseconds, three digits), hours of 24 and more on the next
days; the duration as ``HH:MM:SS.ff`` (or ``.mmm``). Types: ``Live`` and
``Video Clip`` are primary items, ``Logo`` and ``GPI`` secondary events,
``Comment`` rows are not airtime. The UUID is the event id; the house id is
``house_id``. Kind is not in the log: ``--classify``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from efir.readers.base import LineError, Record, Skipped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from efir.readers.base import ReadOptions

#: The frame rate iTX logs are written at when ``--frame-rate`` does not say.
DEFAULT_RATE = Fraction(30)
COLUMNS = ("Start", "Type", "HouseId", "Title", "Duration", "SOM", "EOM", "UUID")
_START = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})-(\d{1,3}):([0-5]\d):([0-5]\d)(?:\.(\d{2,3}))?$")
_LENGTH = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)(?:\.(\d{2,3}))?$")
_SECONDARY = frozenset({"logo", "gpi"})
_NOT_AIRTIME = frozenset({"comment"})


def _fraction_s(text: str | None, rate: Fraction) -> float:
    """``ff`` frames (two digits) or ``mmm`` milliseconds (three) as seconds."""
    if not text:
        return 0.0
    if len(text) == 3:
        return int(text) / 1000
    frame = int(text)
    if frame >= round(rate):
        msg = f"frame {frame} at {float(rate):g} frames per second"
        raise ValueError(msg)
    return float(frame / rate)


class ItxReader:
    """Grass Valley iTX text as-run logs."""

    name = "itx"

    def sniff(self, head: bytes) -> bool:
        """A first line that starts with ``M/d/yyyy-HH:MM:SS`` and has pipes."""
        first = head.split(b"\n", 1)[0].strip()
        stamp = first.split(b"|", 1)[0].decode("ascii", "replace")
        return b"|" in first and _START.match(stamp) is not None

    def records(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per line."""
        source = str(path)
        rate = options.frame_rate or DEFAULT_RATE
        text = path.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            cells = [c.strip() for c in line.split("|")]
            raw = dict(zip(COLUMNS, cells, strict=False))
            kind = raw.get("Type", "").lower()
            if kind in _NOT_AIRTIME:
                yield Skipped(source, number, f"type {raw.get('Type')!r}: not airtime")
                continue
            try:
                record = self._record(raw, number, rate, options)
            except ValueError as exc:
                yield LineError(source, number, (str(exc),), "invalid_field")
                continue
            if not record.fields["duration"]:
                yield Skipped(source, number, "no length (a trigger): not airtime")
                continue
            yield record
        if progress is not None:
            progress(len(text))

    @staticmethod
    def _record(raw: dict[str, str], number: int, rate: Fraction, options: ReadOptions) -> Record:
        m = _START.match(raw.get("Start", ""))
        if m is None:
            msg = f"start {raw.get('Start', '')!r} is not M/d/yyyy-HH:MM:SS.ff"
            raise ValueError(msg)
        month, day, year, hours, minutes, seconds, frac = m.groups()
        midnight = datetime(int(year), int(month), int(day), tzinfo=options.timezone)
        start = midnight + timedelta(
            hours=int(hours),
            minutes=int(minutes),
            seconds=int(seconds) + _fraction_s(frac, rate),
        )
        n = _LENGTH.match(raw.get("Duration", ""))
        if n is None:
            msg = f"duration {raw.get('Duration', '')!r} is not HH:MM:SS.ff"
            raise ValueError(msg)
        h, mi, s, f = n.groups()
        length = int(h) * 3600 + int(mi) * 60 + int(s) + _fraction_s(f, rate)
        uuid = raw.get("UUID") or f"{start.isoformat()}#{number}"
        fields: dict[str, Any] = {
            "event_id": uuid,
            "phase": "complete",
            "start": start.isoformat(),
            "duration": length,
        }
        if raw.get("Type", "").lower() in _SECONDARY:
            fields["layer"] = "secondary"
        if raw.get("HouseId"):
            fields["house_id"] = raw["HouseId"]
        if raw.get("Title"):
            fields["title"] = raw["Title"]
        return Record(fields, raw, number)
