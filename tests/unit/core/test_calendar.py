"""Calendar: wall-clock windows, fold=0, DST and offset changes, dayparts."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from efir.core.calendar import Calendar, Daypart, Grid, Scheme, parse_clock
from efir.core.timebase import US_PER_S

AMS = ZoneInfo("Europe/Amsterdam")
ALMATY = ZoneInfo("Asia/Almaty")
H = 3600 * US_PER_S


def test_spring_forward_drops_the_skipped_hour() -> None:
    """Amsterdam 2024-03-31: 02:00-03:00 does not exist; the day has 23 one-hour atoms."""
    atoms = Calendar(AMS, [Scheme(Grid.HOUR)]).atoms_of_day(date(2024, 3, 31))
    assert len(atoms) == 23
    assert all(a.end - a.start == H for a in atoms)
    assert [a.wall.hour for a in atoms][:3] == [0, 1, 3]


def test_fall_back_makes_the_repeated_hour_two_hours_long() -> None:
    """Amsterdam 2024-10-27: the 02:00 hour (fold=0 start) lasts two real hours."""
    atoms = Calendar(AMS, [Scheme(Grid.HOUR)]).atoms_of_day(date(2024, 10, 27))
    assert len(atoms) == 24
    assert atoms[2].wall.hour == 2
    assert atoms[2].end - atoms[2].start == 2 * H
    assert sum(a.end - a.start for a in atoms) == 25 * H


def test_six_hour_and_week_windows() -> None:
    """Six-hour windows start at 00/06/12/18; weeks start Monday 00:00 (configurable)."""
    s6 = Scheme(Grid.SIX_HOUR)
    assert s6.window_of(datetime(2026, 3, 2, 17, 59)) == (
        datetime(2026, 3, 2, 12),
        datetime(2026, 3, 2, 18),
    )
    week = Scheme(Grid.WEEK)
    assert week.window_of(datetime(2026, 3, 8, 23, 0)) == (
        datetime(2026, 3, 2),
        datetime(2026, 3, 9),
    )
    sunday = Scheme(Grid.WEEK, week_start=6)
    assert sunday.window_of(datetime(2026, 3, 8, 23, 0)) == (
        datetime(2026, 3, 8),
        datetime(2026, 3, 15),
    )


def test_broadcast_day_start() -> None:
    """A day starting at 06:00 holds 05:59 in the previous day's window."""
    day = Scheme(Grid.DAY, day_start=parse_clock("06:00"))
    assert day.window_of(datetime(2026, 3, 2, 5, 59)) == (
        datetime(2026, 3, 1, 6),
        datetime(2026, 3, 2, 6),
    )


def test_daypart_clips_windows_and_adds_atom_boundaries() -> None:
    """An hour grid clipped to 18:00-23:00 exists only in those hours; :30 boundaries become atoms."""
    evening = Scheme(Grid.HOUR, daypart=Daypart.parse("18:00", "23:00"))
    assert evening.window_of(datetime(2026, 3, 2, 17, 0)) is None
    assert evening.window_of(datetime(2026, 3, 2, 22, 59)) == (
        datetime(2026, 3, 2, 22),
        datetime(2026, 3, 2, 23),
    )
    half = Scheme(Grid.DAY, daypart=Daypart.parse("16:30", "22:00"))
    atoms = Calendar(ALMATY, [half]).atoms_of_day(date(2026, 3, 2))
    assert len(atoms) == 25  # 24 hours plus the split at 16:30
    assert half.window_of(datetime(2026, 3, 2, 16, 45)) == (
        datetime(2026, 3, 2, 16, 30),
        datetime(2026, 3, 2, 22),
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grid": Grid.WEEK, "daypart": Daypart(0, 60)}, "week"),
        ({"grid": Grid.ROLLING_7D}, "rolling_7d"),
        ({"grid": Grid.DAY, "week_start": 7}, "week_start"),
    ],
)
def test_invalid_schemes_are_refused(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    """Combinations the model cannot express fail loudly at load time."""
    with pytest.raises(ValueError, match=message):
        Scheme(**kwargs)


def test_daypart_must_not_cross_midnight() -> None:
    """22:00-06:00 must be written as two dayparts."""
    with pytest.raises(ValueError, match="cross"):
        Daypart.parse("22:00", "06:00")
    with pytest.raises(ValueError, match="clock time"):
        parse_clock("25:00")


def test_next_window_of_a_daypart_today_or_tomorrow() -> None:
    """Before 18:00 the next evening hour is today's 18:00; after 23:00 it is tomorrow's."""
    from efir.core.timebase import to_us  # noqa: PLC0415

    evening = Scheme(Grid.HOUR, daypart=Daypart.parse("18:00", "23:00"))
    cal = Calendar(ALMATY, [evening])

    def at(day: int, hour: int) -> int:
        return to_us(datetime(2026, 3, day, hour, tzinfo=ALMATY))

    assert cal.next_window(evening, at(2, 10)) == (at(2, 18), at(2, 19))
    assert cal.next_window(evening, at(2, 23)) == (at(3, 18), at(3, 19))
