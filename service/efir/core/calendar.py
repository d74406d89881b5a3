"""Window schemes on the local wall clock, and the atoms that refine them all.

A *scheme* (grid + options) partitions local time into half-open windows
``[start, end)`` whose boundaries are wall-clock times in the channel's IANA
zone, resolved with ``fold=0`` (DESIGN section 3). A window lasts the real
elapsed time between its boundaries: on 2024-02-29 in Asia/Almaty (UTC+6 to
UTC+5 at midnight) the day lasted 25 h and its 18:00-24:00 interval 7 h; a
skipped wall time makes a window empty, and empty windows do not exist.

*Atoms* are the coarsest partition that refines every scheme a channel uses
(at least every clock hour), so every window is a union of whole atoms and an
item is split once per atom it touches.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

from efir.core.timebase import from_us, local_date, local_wall_to_us

if TYPE_CHECKING:
    from collections.abc import Sequence
    from zoneinfo import ZoneInfo

_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)
_MINUTES_PER_DAY = 24 * 60
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Grid(StrEnum):
    """Window grids of DESIGN section 3."""

    HOUR = "hour"
    SIX_HOUR = "six_hour"
    DAY = "day"
    WEEK = "week"
    ROLLING_7D = "rolling_7d"


def parse_clock(text: str) -> int:
    """Parse ``HH:MM`` (00:00-24:00) into minutes after local midnight."""
    match = _CLOCK.match(text)
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not 0 <= minutes <= _MINUTES_PER_DAY:
        msg = f"not a clock time HH:MM between 00:00 and 24:00: {text!r}"
        raise ValueError(msg)
    return minutes


def format_clock(minutes: int) -> str:
    """Format minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class Daypart:
    """A daily local-time interval ``[start, end)`` in minutes after midnight (end ≤ 1440)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        """Validate the bounds."""
        if not 0 <= self.start < self.end <= _MINUTES_PER_DAY:
            msg = (
                f"daypart {format_clock(self.start)}-{format_clock(self.end)} must satisfy "
                "00:00 <= from < to <= 24:00 (split dayparts that cross midnight)"
            )
            raise ValueError(msg)

    @classmethod
    def parse(cls, start: str, end: str) -> Daypart:
        """Build from ``HH:MM`` strings."""
        return cls(parse_clock(start), parse_clock(end))

    def __str__(self) -> str:
        """Render as ``HH:MM-HH:MM``."""
        return f"{format_clock(self.start)}-{format_clock(self.end)}"


@dataclass(frozen=True, slots=True)
class Scheme:
    """A partition of local time into windows.

    Attributes:
        grid: ``hour`` (clock hours), ``six_hour`` (00-06, 06-12, 12-18, 18-24),
            ``day`` (local day starting at ``day_start``), ``week`` (seven days from
            ``week_start`` at ``day_start``).
        week_start: first weekday of a week, 0 = Monday.
        day_start: minutes after midnight a day (and week) starts at; 0 = calendar day.
        daypart: when set, each window is clipped to this daily interval and
            windows outside it do not exist (e.g. hours 18:00-23:00 only).
    """

    grid: Grid
    week_start: int = 0
    day_start: int = 0
    daypart: Daypart | None = None

    def __post_init__(self) -> None:
        """Validate combinations the model cannot express."""
        if self.grid is Grid.ROLLING_7D:
            msg = "rolling_7d is a trend view, not a partition; it has no scheme"
            raise ValueError(msg)
        if self.grid is Grid.WEEK and self.daypart is not None:
            msg = "a daypart cannot clip a week window (it would not be contiguous)"
            raise ValueError(msg)
        if not 0 <= self.week_start <= 6:
            msg = "week_start must be 0 (Monday) .. 6 (Sunday)"
            raise ValueError(msg)
        if not 0 <= self.day_start < _MINUTES_PER_DAY:
            msg = "day_start must be within the day"
            raise ValueError(msg)

    def boundary_minutes(self) -> frozenset[int]:
        """Wall-clock minutes (within a day) where this scheme may place a boundary."""
        minutes = {self.day_start}
        if self.daypart is not None:
            minutes |= {self.daypart.start, self.daypart.end % _MINUTES_PER_DAY}
        return frozenset(minutes)

    def window_of(self, wall: datetime) -> tuple[datetime, datetime] | None:
        """Return the naive local window ``[start, end)`` holding wall time ``wall``.

        ``None`` when ``wall`` lies outside the scheme's daypart.
        """
        if self.grid is Grid.HOUR:
            start = wall.replace(minute=0, second=0, microsecond=0)
            end = start + _HOUR
        elif self.grid is Grid.SIX_HOUR:
            start = wall.replace(hour=wall.hour // 6 * 6, minute=0, second=0, microsecond=0)
            end = start + 6 * _HOUR
        else:
            start = datetime.combine(wall.date(), time()) + timedelta(minutes=self.day_start)
            if wall < start:
                start -= _DAY
            if self.grid is Grid.WEEK:
                start -= timedelta(days=(start.weekday() - self.week_start) % 7)
                end = start + _WEEK
            else:
                end = start + _DAY
        if self.daypart is None:
            return start, end
        anchor = datetime.combine(start.date(), time())
        lo = anchor + timedelta(minutes=self.daypart.start)
        hi = anchor + timedelta(minutes=self.daypart.end)
        if self.daypart.start < self.day_start:  # the daypart falls on the next calendar date
            lo += _DAY
            hi += _DAY
        lo, hi = max(lo, start), min(hi, end)
        if not lo <= wall < hi:
            return None
        return lo, hi

    def describe(self) -> str:
        """Short human description, e.g. ``hour 18:00-23:00``."""
        text = str(self.grid)
        if self.grid is Grid.WEEK and self.week_start:
            text += f" from {WEEKDAYS[self.week_start]}"
        if self.day_start:
            text += f" starting {format_clock(self.day_start)}"
        if self.daypart is not None:
            text += f" {self.daypart}"
        return text


@dataclass(frozen=True, slots=True)
class Atom:
    """One atom: ``[start, end)`` in microseconds UTC and its naive local wall start."""

    start: int
    end: int
    wall: datetime


class Calendar:
    """Atoms and windows of a channel's zone for a fixed set of schemes."""

    __slots__ = ("_extra_minutes", "_wall_cache", "schemes", "tz")

    def __init__(self, tz: ZoneInfo, schemes: Sequence[Scheme]) -> None:
        """Create a calendar for ``schemes`` in zone ``tz``."""
        self.tz = tz
        self.schemes = tuple(schemes)
        extra: set[int] = set()
        for scheme in self.schemes:
            extra |= {m for m in scheme.boundary_minutes() if m % 60}
        self._extra_minutes = tuple(sorted(extra))
        self._wall_cache: dict[datetime, int] = {}

    def wall_to_us(self, wall: datetime) -> int:
        """Resolve a naive local wall time (``fold=0``), memoised."""
        us = self._wall_cache.get(wall)
        if us is None:
            us = local_wall_to_us(wall, self.tz)
            self._wall_cache[wall] = us
        return us

    def atoms_of_day(self, day: date) -> list[Atom]:
        """Return the non-empty atoms that start on local ``day``, in order.

        Boundaries: every clock hour plus any non-hour scheme boundary. Wall
        times that resolve to the same instant (a skipped hour) collapse into
        one boundary, which keeps the latest wall time (the one that exists).
        """
        midnight = datetime.combine(day, time())
        minutes = sorted({h * 60 for h in range(24)} | set(self._extra_minutes))
        walls = [midnight + timedelta(minutes=m) for m in minutes]
        instants = [self.wall_to_us(w) for w in walls]
        day_end = self.wall_to_us(midnight + _DAY)
        atoms: list[Atom] = []
        for i, (wall, start) in enumerate(zip(walls, instants, strict=True)):
            end = instants[i + 1] if i + 1 < len(instants) else day_end
            if end > start:
                atoms.append(Atom(start, end, wall))
        return atoms

    def day_plan(self, day: date) -> DayPlan:
        """Return :meth:`atoms_of_day` with, per atom, its window of every scheme (in order).

        Shared by every calendar of the same zone and schemes (channels of one
        rule pack): a restart materialises the same ten days for each channel.
        """
        return _day_plan(self.tz, self.schemes, day)

    def window_us(self, scheme: Scheme, wall: datetime) -> tuple[int, int] | None:
        """Return the window of ``scheme`` holding wall time ``wall`` as UTC microseconds."""
        window = scheme.window_of(wall)
        if window is None:
            return None
        start, end = self.wall_to_us(window[0]), self.wall_to_us(window[1])
        return (start, end) if end > start else None

    def next_window(self, scheme: Scheme, us: int) -> tuple[int, int] | None:
        """Return the first window of ``scheme`` starting at or after ``us``, within two days.

        For a scheme clipped to a daypart the candidates are the daypart's start
        today and tomorrow: constant work, whatever the history.
        """
        today = from_us(us, self.tz).replace(tzinfo=None).date()
        starts = [0] if scheme.daypart is None else [scheme.daypart.start]
        for day in (today, today + _DAY):
            for minutes in starts:
                wall = datetime.combine(day, time()) + timedelta(minutes=minutes)
                window = self.window_us(scheme, wall)
                if window is not None and window[0] >= us:
                    return window
        return None

    def local_day(self, us: int) -> date:
        """Return the local date whose atoms contain instant ``us``."""
        return local_date(us, self.tz)

    def days_between(self, start_us: int, end_us: int) -> list[date]:
        """Return every local date whose atoms intersect ``[start_us, end_us)``."""
        first, last = self.local_day(start_us), self.local_day(max(start_us, end_us - 1))
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def find_atom(starts: list[int], ends: dict[int, int], us: int) -> int | None:
    """Return the start of the materialised atom holding ``us``, or ``None``."""
    i = bisect_right(starts, us) - 1
    if i >= 0:
        start = starts[i]
        if us < ends[start]:
            return start
    return None


#: Per atom of a day: the atom and, per scheme, its window (``None`` outside a daypart).
DayPlan = tuple[tuple[Atom, tuple[tuple[int, int] | None, ...]], ...]


@lru_cache(maxsize=4096)
def _day_plan(tz: ZoneInfo, schemes: tuple[Scheme, ...], day: date) -> DayPlan:
    calendar = Calendar(tz, schemes)
    # An atom's window of a scheme is usually its predecessor's (four six-hour
    # windows a day, one day window): reuse it while the atom's wall start lies
    # inside, rather than work it out again for each of the day's atoms.
    held: list[tuple[datetime, datetime, tuple[int, int] | None] | None] = [None] * len(schemes)
    plan = []
    for atom in calendar.atoms_of_day(day):
        windows: list[tuple[int, int] | None] = []
        for k, scheme in enumerate(schemes):
            last = held[k]
            if last is not None and last[0] <= atom.wall < last[1]:
                windows.append(last[2])
                continue
            walls = scheme.window_of(atom.wall)
            if walls is None:
                windows.append(None)
                continue
            start, end = calendar.wall_to_us(walls[0]), calendar.wall_to_us(walls[1])
            window = (start, end) if end > start else None
            held[k] = (walls[0], walls[1], window)
            windows.append(window)
        plan.append((atom, tuple(windows)))
    return tuple(plan)
