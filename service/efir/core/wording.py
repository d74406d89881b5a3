"""One way to write durations, instants, windows and deadlines, wherever a person reads them.

The terminal, the API's ``advice``, the board and the alerts all use these,
so a week is written one way and a deadline that is not today carries its
weekday and date:

* :func:`duration`: ``45 s``, ``47 min``, ``2 h 10 min``, ``3 d 18 h 09 min``;
* :func:`instant`: ``17:12`` today, ``Fri 2026-11-20 05:50`` on another day;
* :func:`span`: ``12:00-18:00 on 2026-11-22``, ``18:00-24:00 on 2026-11-22``,
  ``the day 2026-11-22``, ``the week 2026-11-16 to 2026-11-22``, or
  ``2026-11-16 06:00 to 2026-11-17 06:00`` for any other span;
* :func:`window_words`: a result's window by :func:`span`;
* :func:`window_label`: the window as an ISO 8601 interval (alert labels);
* :func:`percent`: a share as ``57.3 %``;
* :func:`advice`: one sentence per live window, what to do and by when
  (DESIGN section 5), built from the above.

Times are local to the channel's zone, 24-hour; instants are µs UTC.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from efir.core.status import Status
from efir.core.timebase import format_local, from_us

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.result import WindowResult

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ONE_US = timedelta(microseconds=1)


def duration(seconds: float) -> str:
    """A length for people: seconds under a minute, then minutes, hours and days."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h {minutes:02d} min"


def instant(us: int, tz: ZoneInfo, now: int | None = None) -> str:
    """``HH:MM`` when ``us`` falls on the local day of ``now``; else with weekday and date."""
    t = from_us(us, tz)
    if now is not None and from_us(now, tz).date() == t.date():
        return f"{t:%H:%M}"
    return f"{_WEEKDAYS[t.weekday()]} {t:%Y-%m-%d %H:%M}"


def span(start: int, end: int, tz: ZoneInfo) -> str:
    """A window ``[start, end)`` in words (see the module docstring)."""
    a, b = from_us(start, tz), from_us(end, tz)
    last = b - _ONE_US  # the window's last instant: ends are exclusive
    midnight_a = (a.hour, a.minute) == (0, 0)
    midnight_b = (b.hour, b.minute) == (0, 0)
    if a.date() == last.date():
        if midnight_a and midnight_b:
            return f"the day {a:%Y-%m-%d}"
        until = "24:00" if midnight_b else f"{b:%H:%M}"
        return f"{a:%H:%M}-{until} on {a:%Y-%m-%d}"
    if midnight_a and midnight_b and (last.date() - a.date()).days == 6:
        return f"the week {a:%Y-%m-%d} to {last:%Y-%m-%d}"
    if midnight_a and midnight_b:
        return f"{a:%Y-%m-%d} to {last:%Y-%m-%d}"
    return f"{a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M}"


def window_words(w: WindowResult, tz: ZoneInfo) -> str:
    """A result's window in words (:func:`span` of its start and end)."""
    return span(w.window_start, w.window_end, tz)


def window_label(w: WindowResult, tz: ZoneInfo) -> str:
    """The window as an ISO 8601 interval in local time (stable, unique per rule)."""
    return f"{format_local(w.window_start, tz)}/{format_local(w.window_end, tz)}"


def percent(share: float | None, digits: int = 1, missing: str = "-") -> str:
    """A share (0..1) as a percentage with ``digits`` decimals; ``missing`` for ``None``."""
    return missing if share is None else f"{100 * share:.{digits}f} %"


_FINE = (Status.SECURED, Status.ON_TRACK, Status.COMPLIES, Status.NOT_APPLICABLE)


def advice(w: WindowResult, tz: ZoneInfo, now: int | None = None) -> str:
    """``""`` when nothing needs doing; else e.g. ``air 47 min more … by 17:12 …``.

    ``now``: the present, so that a deadline on another day carries its date
    (without it every deadline does).
    """
    window = span(w.window_start, w.window_end, tz)
    if w.status in _FINE:
        return ""
    if w.deadline is not None and w.needed_s:
        by = instant(w.deadline, tz, now)
        more = duration(w.needed_s)
        return f"air {more} more of qualifying content, starting by {by}, or {window} is lost"
    if w.status is Status.UNAVOIDABLE and w.needed_s is not None:
        return f"{window} can no longer be met"
    if w.status is Status.UNAVOIDABLE and w.budget_s is not None:
        return f"the cap in {window} is exceeded"
    if w.budget_s is not None and w.status in (Status.AT_RISK, Status.EXHAUSTED):
        return f"at most {duration(max(w.budget_s, 0))} more in {window}"
    if w.status is Status.VIOLATION:
        return f"{window} was violated"
    return ""
