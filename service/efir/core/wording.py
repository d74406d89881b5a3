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
* :func:`status_words`: a status as people read it (``at risk``);
* :func:`advice`: one sentence per live window, what to do and by when
  (DESIGN section 5), built from the above.

Each takes the language to write in (``say``, a :class:`~efir.core.phrases.Phrases`;
English by default): the sentences are message ids of the gettext catalogues,
and dates and decimals are written as the language writes them. Times are
local to the channel's zone, 24-hour; instants are µs UTC.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from efir.core.phrases import ENGLISH
from efir.core.status import Status
from efir.core.timebase import format_local, from_us

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.phrases import Phrases
    from efir.core.result import WindowResult

_ONE_US = timedelta(microseconds=1)


def duration(seconds: float, say: Phrases = ENGLISH) -> str:
    """A length for people: seconds under a minute, then minutes, hours and days."""
    s = max(0, round(seconds))
    if s < 60:
        return say("{n} s", n=s)
    minutes = round(s / 60)
    if minutes < 60:
        return say("{n} min", n=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return say("{h} h {m} min", h=hours, m=f"{minutes:02d}")
    days, hours = divmod(hours, 24)
    return say("{d} d {h} h {m} min", d=days, h=hours, m=f"{minutes:02d}")


def instant(us: int, tz: ZoneInfo, now: int | None = None, say: Phrases = ENGLISH) -> str:
    """``HH:MM`` when ``us`` falls on the local day of ``now``; else with weekday and date."""
    t = from_us(us, tz)
    if now is not None and from_us(now, tz).date() == t.date():
        return f"{t:%H:%M}"
    return say(
        "{weekday} {date} {time}", weekday=say.weekday(t), date=say.day(t.date()), time=f"{t:%H:%M}"
    )


def span(start: int, end: int, tz: ZoneInfo, say: Phrases = ENGLISH) -> str:
    """A window ``[start, end)`` in words (see the module docstring)."""
    a, b = from_us(start, tz), from_us(end, tz)
    last = b - _ONE_US  # the window's last instant: ends are exclusive
    midnight_a = (a.hour, a.minute) == (0, 0)
    midnight_b = (b.hour, b.minute) == (0, 0)
    if a.date() == last.date():
        if midnight_a and midnight_b:
            return say("the day {date}", date=say.day(a.date()))
        until = "24:00" if midnight_b else f"{b:%H:%M}"
        return say("{start}-{end} on {date}", start=f"{a:%H:%M}", end=until, date=say.day(a.date()))
    if midnight_a and midnight_b and (last.date() - a.date()).days == 6:
        return say("the week {first} to {last}", first=say.day(a.date()), last=say.day(last.date()))
    if midnight_a and midnight_b:
        return say("{first} to {last}", first=say.day(a.date()), last=say.day(last.date()))
    return say(
        "{first} to {last}",
        first=f"{say.day(a.date())} {a:%H:%M}",
        last=f"{say.day(b.date())} {b:%H:%M}",
    )


def window_words(w: WindowResult, tz: ZoneInfo, say: Phrases = ENGLISH) -> str:
    """A result's window in words (:func:`span` of its start and end)."""
    return span(w.window_start, w.window_end, tz, say)


def window_label(w: WindowResult, tz: ZoneInfo) -> str:
    """The window as an ISO 8601 interval in local time (stable, unique per rule)."""
    return f"{format_local(w.window_start, tz)}/{format_local(w.window_end, tz)}"


def percent(
    share: float | None, digits: int = 1, missing: str = "-", say: Phrases = ENGLISH
) -> str:
    """A share (0..1) as a percentage with ``digits`` decimals; ``missing`` for ``None``."""
    return missing if share is None else f"{say.decimal(100 * share, digits)} %"


#: Each status as people read it (message ids).
STATUS_WORDS = {
    Status.SECURED: "secured",
    Status.ON_TRACK: "on track",
    Status.AT_RISK: "at risk",
    Status.CRITICAL: "critical",
    Status.EXHAUSTED: "exhausted",
    Status.UNAVOIDABLE: "unavoidable",
    Status.COMPLIES: "complies",
    Status.VIOLATION: "violation",
    Status.PARTIAL: "partial",
    Status.NOT_APPLICABLE: "not applicable",
}


def status_words(status: Status, say: Phrases = ENGLISH) -> str:
    """``at risk``, ``on track``, ... in the language of ``say``."""
    return say(STATUS_WORDS[status])


_FINE = (Status.SECURED, Status.ON_TRACK, Status.COMPLIES, Status.NOT_APPLICABLE)


def advice(w: WindowResult, tz: ZoneInfo, now: int | None = None, say: Phrases = ENGLISH) -> str:
    """``""`` when nothing needs doing; else e.g. ``air 47 min more … by 17:12 …``.

    ``now``: the present, so that a deadline on another day carries its date
    (without it every deadline does).
    """
    window = span(w.window_start, w.window_end, tz, say)
    if w.status in _FINE:
        return ""
    if w.deadline is not None and w.needed_s:
        return say(
            "air {more} more of qualifying content, starting by {by}, or {window} is lost",
            more=duration(w.needed_s, say),
            by=instant(w.deadline, tz, now, say),
            window=window,
        )
    if w.status is Status.UNAVOIDABLE and w.needed_s is not None:
        return say("{window} can no longer be met", window=window)
    if w.status is Status.UNAVOIDABLE and w.budget_s is not None:
        return say("the cap in {window} is exceeded", window=window)
    if w.budget_s is not None and w.status in (Status.AT_RISK, Status.EXHAUSTED):
        return say(
            "at most {more} more in {window}", more=duration(max(w.budget_s, 0), say), window=window
        )
    if w.status is Status.VIOLATION:
        return say("{window} was violated", window=window)
    return ""
