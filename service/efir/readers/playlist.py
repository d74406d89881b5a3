"""What playlist readers share: where a day of items without clock times starts.

A playlist (a plan, not an as-run) lists items and their lengths; the items
run on one after another from the playlist's start. The start is a date and
a clock time in the source's zone: the ``--date`` and ``--day-start`` options
when given (the user knows best), else what the file says (its header or its
name, as the vendor writes them), else midnight. Times are kept as UTC
microseconds so that the running sum is exact and a change of UTC offset in
the day (daylight saving) moves no item.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from efir.core.timebase import US_PER_S, from_us, local_wall_to_us

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

_NAMED_DAY = re.compile(
    r"(?<!\d)(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})"
    r"(?:[-_ T.]?(\d{2})[-_:.]?(\d{2})(?:[-_:.]?(\d{2}))?)?(?!\d)"
)
#: The longest item a playlist may give (a week: longer is a mistake, not a plan).
MAX_ITEM_S = 7 * 86400
#: How far after its start a playlist may run (items past it are refused).
MAX_SPAN_US = 31 * 86400 * US_PER_S
TOO_LONG = "the playlist runs more than 31 days past its start: the rest is not read"
#: A JSON playlist's list of items (ffplayout), which JSON-lines detection leaves alone.
PROGRAM_LIST = re.compile(rb'"program"\s*:\s*\[')
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,6}))?)?$")


def named_day(name: str) -> tuple[date, time | None] | None:
    """The date (and the start time, if written) in a playlist's file name.

    ``2019_01_28_00_00_00.ply`` (PlayBox), ``2021-04-28.json`` (ffplayout),
    ``20240617``: ``None`` when the name holds no valid date.
    """
    for m in _NAMED_DAY.finditer(name):
        year, month, day, hours, minutes, seconds = m.groups()
        try:
            on = date(int(year), int(month), int(day))
            at = (
                time(int(hours), int(minutes), int(seconds or 0))
                if hours is not None and minutes is not None
                else None
            )
        except ValueError:
            continue
        return on, at
    return None


def parse_clock(text: str) -> time:
    """``HH:MM[:SS[.ffffff]]`` as a time of day (``--day-start``, ffplayout's ``begin``).

    Raises:
        ValueError: not a clock time.
    """
    m = _CLOCK.match(text.strip())
    if m is None or int(m.group(1)) > 23:
        msg = f"{text!r} is not a clock time HH:MM[:SS]"
        raise ValueError(msg)
    hours, minutes, seconds, fraction = m.groups()
    micro = int((fraction or "").ljust(6, "0")) if fraction else 0
    return time(int(hours), int(minutes), int(seconds or 0), micro)


def day_origin(on: date, at: time, tz: ZoneInfo) -> int:
    """The instant (UTC µs) of clock time ``at`` on ``on`` in ``tz`` (``fold=0``)."""
    return local_wall_to_us(datetime.combine(on, at), tz)


def wall_us(on: date, since_midnight_us: int, tz: ZoneInfo) -> int:
    """The instant (UTC µs) of the wall-clock time ``since_midnight_us`` after 00:00 on ``on``.

    A clock reading, not elapsed time: on a day the offset changes,
    ``03:30`` is still 03:30 on the wall. Hours of 24 and more fall on the
    next days.
    """
    wall = datetime.combine(on, time()) + timedelta(microseconds=since_midnight_us)
    return local_wall_to_us(wall, tz)


def rfc3339(us: int, tz: ZoneInfo | None = None) -> str:
    """µs UTC as an RFC 3339 string in ``tz`` (UTC if ``None``), exact to the microsecond.

    Readers write starts in the source's zone, so that ``efir convert`` shows
    the times the file shows.
    """
    return from_us(us, tz).isoformat()


def seconds_us(text: str) -> int:
    """A length in seconds as written (``184.00000``, ``647.68``) as µs.

    Raises:
        ValueError: not a number of seconds from 0 to :data:`MAX_ITEM_S`.
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= MAX_ITEM_S:
        msg = f"{text!r} is not a length in seconds from 0 to {MAX_ITEM_S}"
        raise ValueError(msg)
    return round(value * US_PER_S)
