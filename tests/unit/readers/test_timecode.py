"""SMPTE timecodes: known values, and every frame reads back as itself at every rate."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efir.readers import timecode
from efir.readers.timecode import RATES, TimecodeError, frame_rate, frames, to_timecode

NTSC = Fraction(30000, 1001)


def test_drop_frame_skips_two_numbers_a_minute_but_every_tenth() -> None:
    assert frames("00:00:59;29", NTSC) == 1799
    assert frames("00:01:00;02", NTSC) == 1800  # ;00 and ;01 do not exist
    assert frames("00:10:00;00", NTSC) == 17982
    assert frames("01:00:00;00", NTSC) == 107892  # 29.97 x 3600, to the frame
    with pytest.raises(TimecodeError, match="dropped"):
        frames("00:01:00;00", NTSC)
    assert frames("00:10:00;00", NTSC) == frames("00:09:59;29", NTSC) + 1


def test_one_hour_of_drop_frame_is_one_hour_of_clock_to_a_few_milliseconds() -> None:
    assert abs(timecode.to_us("01:00:00;00", NTSC) - 3_600_000_000) < 4000


def test_non_drop_and_rates() -> None:
    assert frames("00:00:01:00", Fraction(25)) == 25
    assert timecode.to_us("00:00:00:12", Fraction(25)) == 480_000
    assert frame_rate("29.97") == NTSC
    assert frame_rate("23.976") == Fraction(24000, 1001)
    assert frame_rate("29.970") == NTSC
    with pytest.raises(TimecodeError, match="frame 25"):
        frames("00:00:00:25", Fraction(25))
    with pytest.raises(TimecodeError, match="drop-frame"):
        frames("00:00:00;10", Fraction(25))
    with pytest.raises(TimecodeError, match="not a timecode"):
        frames("12:00", Fraction(25))


@given(st.sampled_from(sorted(set(RATES.values()))), st.integers(0, 24 * 3600 * 60))
def test_every_frame_reads_back_as_itself(rate: Fraction, count: int) -> None:
    count %= round(24 * 3600 * rate)
    for drop in {False, timecode._drop(rate) > 0}:
        text = to_timecode(count, rate, drop=drop)
        assert frames(text, rate) == count, text
        us = timecode.frames_to_us(count, rate)
        assert timecode.us_to_frames(us, rate) == count
