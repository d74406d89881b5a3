"""On-air schedule: the local hours a channel is meant to be on air.

Most Kazakh channels broadcast around the clock; some sign off at night (many
regional TV and radio stations). Feed alerts must not call a channel that has
signed off "stale", nor count its night as a gap. A schedule is a list of
spans written as a person would: ``"06:00-02:00"`` (every day, past midnight
into the next), ``"mon-fri 06:00-24:00"``, ``"sat,sun 08:00-23:30"``. The days
name the local day a span *starts*. An empty schedule means 24/7.

Spans are half-open ``[start, end)`` on the channel's local wall clock,
resolved with ``fold=0`` like window boundaries (DESIGN section 3). Instants
are µs UTC. Pure and I/O-free.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from efir.core.calendar import format_clock, parse_clock
from efir.core.timebase import local_date, local_midnight_us, local_wall_to_us, merge_spans

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(
    r"^\s*(?:(?P<days>[a-z,\-\s]+?)\s+)?(?P<start>\d\d:\d\d)\s*-\s*(?P<end>\d\d:\d\d)\s*$"
)


@dataclass(frozen=True, slots=True)
class AirSpan:
    """On air from ``start`` to ``end`` minutes after local midnight of each day in ``days``.

    ``end <= start`` means the span runs past midnight into the next day
    (``start == end`` is the whole day). ``days`` are ISO weekdays 0=Monday.
    """

    days: frozenset[int]
    start: int
    end: int

    def __str__(self) -> str:
        """The span as it is written in configuration."""
        days = "" if len(self.days) == 7 else ",".join(DAYS[d] for d in sorted(self.days)) + " "
        return f"{days}{format_clock(self.start)}-{format_clock(self.end)}"


def parse_span(text: str) -> AirSpan:
    """Parse ``[days ]HH:MM-HH:MM``; days: ``mon-fri``, ``sat,sun``, ``daily`` (default)."""
    m = _SPAN.match(text.lower())
    if m is None:
        msg = f"an on-air span is [days ]HH:MM-HH:MM, e.g. 'mon-fri 06:00-01:00', not {text!r}"
        raise ValueError(msg)
    start, end = parse_clock(m["start"]), parse_clock(m["end"])
    if start == 24 * 60:
        msg = f"an on-air span cannot start at 24:00: {text!r}"
        raise ValueError(msg)
    return AirSpan(_parse_days(m["days"] or "daily", text), start, end)


def _parse_days(text: str, whole: str) -> frozenset[int]:
    days: set[int] = set()
    for raw in text.replace(" ", "").split(","):
        if raw in {"daily", "*"}:
            days.update(range(7))
            continue
        first, _, last = raw.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            msg = f"unknown day {raw!r} in on-air span {whole!r}; days are {', '.join(DAYS)}"
            raise ValueError(msg)
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)])
    return frozenset(days)


@dataclass(frozen=True, slots=True)
class OnAirSchedule:
    """When a channel should be on air; no spans: always."""

    spans: tuple[AirSpan, ...] = ()

    @classmethod
    def parse(cls, texts: list[str] | tuple[str, ...]) -> OnAirSchedule:
        """A schedule from spans as written in configuration."""
        return cls(tuple(parse_span(t) for t in texts))

    @property
    def always(self) -> bool:
        """Whether the channel is on air around the clock (no spans configured)."""
        return not self.spans

    def intervals(self, lo: int, hi: int, tz: ZoneInfo) -> list[tuple[int, int]]:
        """On-air ``[a, b)`` intervals inside ``[lo, hi)``, merged and in order."""
        if hi <= lo:
            return []
        if self.always:
            return [(lo, hi)]
        raw: list[tuple[int, int]] = []
        day = local_date(lo, tz) - timedelta(days=1)  # yesterday's span may run into today
        last = local_date(hi, tz)
        while day <= last:
            for span in self.spans:
                if day.weekday() not in span.days:
                    continue
                a = _at(day, span.start, tz)
                end_day = day + timedelta(days=1) if span.end <= span.start else day
                b = _at(end_day, span.end, tz)
                a, b = max(a, lo), min(b, hi)
                if b > a:
                    raw.append((a, b))
            day += timedelta(days=1)
        return merge_spans(raw)

    def on_air(self, now: int, tz: ZoneInfo) -> bool:
        """Whether the channel should be on air at ``now``."""
        return bool(self.intervals(now, now + 1, tz))

    def on_air_since(self, now: int, tz: ZoneInfo) -> int | None:
        """Start of the on-air stretch holding ``now`` (``None``: off air now).

        Looks back at most eight days: a 24/7 stretch reads as starting then.
        """
        back = now - 8 * 24 * 3600 * 1_000_000
        spans = self.intervals(back, now + 1, tz)
        if not spans or spans[-1][1] <= now:
            return None
        return spans[-1][0]

    def on_air_us(self, lo: int, hi: int, tz: ZoneInfo) -> int:
        """µs of ``[lo, hi)`` the channel should be on air."""
        return sum(b - a for a, b in self.intervals(lo, hi, tz))

    def advance(self, start: int, on_air_us: int, hi: int, tz: ZoneInfo) -> int:
        """The instant after ``start`` by which ``on_air_us`` of on-air time has passed.

        Off-air stretches do not count. Capped at ``hi`` (the window's end);
        a non-positive amount is ``start`` itself.
        """
        if on_air_us <= 0:
            return start
        if self.always:
            return min(start + on_air_us, hi)
        left = on_air_us
        for a, b in self.intervals(start, hi, tz):
            if b - a >= left:
                return a + left
            left -= b - a
        return hi


def _at(day: date, minutes: int, tz: ZoneInfo) -> int:
    """Local ``minutes`` after midnight of ``day`` (``fold=0``); 24:00 is the next midnight."""
    if minutes >= 24 * 60:
        return local_midnight_us(day + timedelta(days=1), tz)
    return local_wall_to_us(datetime.combine(day, time(minutes // 60, minutes % 60)), tz)
