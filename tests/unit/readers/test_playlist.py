"""Where a playlist's day starts: dates in file names, clock times, wall-clock instants."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efir.core.timebase import US_PER_S, to_us
from efir.readers.playlist import named_day, parse_clock, seconds_us, wall_us

BERLIN = ZoneInfo("Europe/Berlin")


@given(
    st.dates(date(1990, 1, 1), date(2099, 12, 31)),
    st.times().map(lambda t: t.replace(microsecond=0)),
)
def test_a_vendor_file_name_gives_its_date_and_time(on: date, at: time) -> None:
    assert named_day(f"{on:%Y_%m_%d}_{at:%H_%M_%S}.ply") == (on, at)
    assert named_day(f"{on:%Y-%m-%d}.json") == (on, None)
    assert named_day(f"AR{on:%Y%m%d}.tvbrab") == (on, None)


def test_a_name_without_a_valid_date_gives_none() -> None:
    assert named_day("playlist.ply") is None
    assert named_day("2026_13_45_00_00_00.ply") is None


@given(st.times())
def test_any_clock_time_reads_back(at: time) -> None:
    assert parse_clock(at.isoformat()) == at


@pytest.mark.parametrize("text", ["24:00", "6", "06:60", "x", "06:00:00.1234567"])
def test_what_is_not_a_clock_time_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="clock time"):
        parse_clock(text)


@pytest.mark.parametrize("text", ["-1", "nan", "inf", "1e9", "x"])
def test_lengths_are_bounded(text: str) -> None:
    with pytest.raises(ValueError, match="seconds"):
        seconds_us(text)


def test_a_wall_clock_time_stays_on_the_wall_across_a_change_of_offset() -> None:
    # 29 March 2026: Berlin moves from +01:00 to +02:00 at 02:00.
    got = wall_us(date(2026, 3, 29), (3 * 3600 + 1800) * US_PER_S, BERLIN)
    assert got == to_us(datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN))
