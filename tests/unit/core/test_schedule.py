"""On-air schedules: parsing, intervals across midnight and weekdays, the 24/7 default."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efir.core.schedule import AirSpan, OnAirSchedule, parse_span
from efir.core.timebase import to_us

ALMATY = ZoneInfo("Asia/Almaty")
S = 1_000_000
H = 3600 * S


def at(text: str, tz: ZoneInfo = ALMATY) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=tz))


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("06:00-02:00", AirSpan(frozenset(range(7)), 360, 120)),
        ("mon-fri 06:00-24:00", AirSpan(frozenset(range(5)), 360, 1440)),
        ("Sat,Sun 08:00-23:30", AirSpan(frozenset({5, 6}), 480, 1410)),
        ("fri-mon 00:00-00:00", AirSpan(frozenset({4, 5, 6, 0}), 0, 0)),
        ("daily 07:15-19:45", AirSpan(frozenset(range(7)), 435, 1185)),
    ],
)
def test_spans_parse_as_written(text: str, span: AirSpan) -> None:
    assert parse_span(text) == span
    assert parse_span(str(span)) == span  # printed as it is written


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("06:00", "HH:MM-HH:MM"),
        ("monday 06:00-08:00", "unknown day 'monday'"),
        ("mon-fri 25:00-08:00", "clock time"),
        ("24:00-06:00", "cannot start at 24:00"),
    ],
)
def test_bad_spans_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_span(text)


def test_no_spans_is_always_on_air() -> None:
    s = OnAirSchedule()
    assert s.always
    lo, hi = at("2026-11-23T03:00"), at("2026-11-23T04:00")
    assert s.intervals(lo, hi, ALMATY) == [(lo, hi)]
    assert s.on_air(lo, ALMATY)


def test_a_span_past_midnight_belongs_to_the_day_it_starts() -> None:
    # Weekdays 06:00-02:00: Friday's span runs into Saturday 02:00; Saturday is dark.
    s = OnAirSchedule.parse(["mon-fri 06:00-02:00"])
    fri, sat, mon = "2026-11-27", "2026-11-28", "2026-11-30"
    assert s.on_air(at(f"{sat}T01:59:59"), ALMATY)
    assert not s.on_air(at(f"{sat}T02:00"), ALMATY)
    assert not s.on_air(at(f"{sat}T12:00"), ALMATY)
    assert not s.on_air(at(f"{mon}T01:00"), ALMATY)  # Sunday did not start a span
    assert s.on_air(at(f"{mon}T06:00"), ALMATY)
    assert s.intervals(at(f"{fri}T00:00"), at(f"{mon}T00:00"), ALMATY) == [
        (at(f"{fri}T00:00"), at(f"{fri}T02:00")),  # Thursday's span
        (at(f"{fri}T06:00"), at(f"{sat}T02:00")),
    ]
    assert s.on_air_since(at(f"{sat}T01:00"), ALMATY) == at(f"{fri}T06:00")
    assert s.on_air_since(at(f"{sat}T03:00"), ALMATY) is None


def test_overlapping_spans_merge() -> None:
    s = OnAirSchedule.parse(["06:00-12:00", "11:00-14:00", "14:00-15:00"])
    day = "2026-11-23"
    assert s.intervals(at(f"{day}T00:00"), at(f"{day}T23:00"), ALMATY) == [
        (at(f"{day}T06:00"), at(f"{day}T15:00"))
    ]
    assert s.on_air_us(at(f"{day}T00:00"), at(f"{day}T23:00"), ALMATY) == 9 * H


def test_spans_follow_the_local_wall_clock_across_a_dst_change() -> None:
    # Europe/Berlin, 2026-03-29: 02:00 -> 03:00. 00:00-06:00 lasts 5 h that night.
    berlin = ZoneInfo("Europe/Berlin")
    s = OnAirSchedule.parse(["00:00-06:00"])
    lo, hi = at("2026-03-28T12:00", berlin), at("2026-03-29T12:00", berlin)
    assert s.on_air_us(lo, hi, berlin) == 5 * H


@given(
    start=st.integers(0, 1439),
    end=st.integers(0, 1440),
    days=st.sets(st.integers(0, 6), min_size=1),
    offset_h=st.integers(0, 24 * 14),
    length_h=st.integers(1, 24 * 8),
)
def test_intervals_agree_with_a_minute_by_minute_check(
    start: int, end: int, days: set[int], offset_h: int, length_h: int
) -> None:
    span = AirSpan(frozenset(days), start, end)
    s = OnAirSchedule((span,))
    lo = at("2026-11-16T00:00") + offset_h * H
    hi = lo + length_h * H
    expected = 0
    for minute in range(0, length_h * 60, 1):
        t = lo + minute * 60 * S
        local = datetime.fromtimestamp(t / S, ALMATY)
        m = local.hour * 60 + local.minute
        today, yesterday = local.weekday(), (local.weekday() - 1) % 7
        if end > start:
            on = today in days and start <= m < end
        else:  # past midnight (or the whole day when equal)
            on = (today in days and m >= start) or (yesterday in days and m < end)
        expected += on
    assert s.on_air_us(lo, hi, ALMATY) == expected * 60 * S
