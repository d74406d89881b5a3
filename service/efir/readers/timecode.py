"""SMPTE timecodes (ST 12): ``HH:MM:SS:FF`` non-drop, ``HH:MM:SS;FF`` drop-frame, to µs.

Frame rates are exact fractions (29.97 is 30000/1001). Drop-frame numbering
(29.97 and 59.94 only) skips frame numbers 0 and 1 (0 to 3 at 59.94) at the
start of every minute except every tenth, so the timecode keeps to the
clock; a frame's instant is its number times the frame duration, rounded to
the microsecond. :func:`to_timecode` is the inverse (a frame reads back as
itself).
"""

from __future__ import annotations

import re
from fractions import Fraction

from efir.core.errors import InputError
from efir.core.timebase import US_PER_S

#: The rates a file may name, by how it is usually written.
RATES = {
    "23.976": Fraction(24000, 1001),
    "23.98": Fraction(24000, 1001),
    "24": Fraction(24),
    "25": Fraction(25),
    "29.97": Fraction(30000, 1001),
    "30": Fraction(30),
    "50": Fraction(50),
    "59.94": Fraction(60000, 1001),
    "60": Fraction(60),
}
_TC = re.compile(r"^(\d{1,3}):([0-5]\d):([0-5]\d)([:;.,])(\d{2,3})$")


class TimecodeError(InputError):
    """Not a timecode at the frame rate given."""


def frame_rate(text: str | float | Fraction) -> Fraction:
    """A frame rate from how it is written (``29.97``, ``30000/1001``, ``25``)."""
    if isinstance(text, Fraction):
        return text
    written = str(text).strip()
    if written in RATES:
        return RATES[written]
    try:
        rate = Fraction(written)
    except (ValueError, ZeroDivisionError):
        msg = f"frame rate {written!r} is not a number (say 25, 29.97 or 30000/1001)"
        raise TimecodeError(msg) from None
    for exact in RATES.values():
        if abs(float(exact) - float(rate)) < 0.01:
            return exact
    if rate <= 0:
        msg = f"frame rate {written!r} must be positive"
        raise TimecodeError(msg)
    return rate


def _drop(rate: Fraction) -> int:
    """Frame numbers dropped each minute at ``rate`` (0: not a drop-frame rate)."""
    nominal = round(rate)
    if rate.denominator == 1001 and nominal in (30, 60):
        return 2 * nominal // 30
    return 0


def frames(text: str, rate: Fraction) -> int:
    """The frame count of timecode ``text`` at ``rate`` (drop-frame if written with ``;``/``,``).

    Raises:
        TimecodeError: not a timecode, a frame number at or over the rate, or
            a drop-frame number that does not exist.
    """
    m = _TC.match(text.strip())
    if m is None:
        msg = f"{text!r} is not a timecode HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame)"
        raise TimecodeError(msg)
    hours, minutes, seconds, separator, frame = (
        int(m[1]),
        int(m[2]),
        int(m[3]),
        m[4],
        int(m[5]),
    )
    nominal = round(rate)
    if frame >= nominal:
        msg = f"{text!r}: frame {frame} at {float(rate):g} frames per second"
        raise TimecodeError(msg)
    dropped = _drop(rate) if separator in ";," else 0
    if separator in ";," and not dropped:
        msg = f"{text!r}: drop-frame at {float(rate):g} frames per second (only 29.97 and 59.94)"
        raise TimecodeError(msg)
    total_minutes = 60 * hours + minutes
    if dropped and seconds == 0 and frame < dropped and minutes % 10:
        msg = f"{text!r}: that frame number is dropped in drop-frame timecode"
        raise TimecodeError(msg)
    count = ((3600 * hours + 60 * minutes + seconds) * nominal) + frame
    return count - dropped * (total_minutes - total_minutes // 10)


def to_us(text: str, rate: Fraction) -> int:
    """Timecode ``text`` as µs since 00:00:00:00 (the frame's instant, rounded)."""
    return frames_to_us(frames(text, rate), rate)


def frames_to_us(count: int, rate: Fraction) -> int:
    """``count`` frames at ``rate`` as µs (rounded to the nearest microsecond)."""
    return round(count * US_PER_S / rate)


def us_to_frames(us: int, rate: Fraction) -> int:
    """The frame holding instant ``us`` at ``rate`` (the nearest frame start)."""
    return round(us * rate / US_PER_S)


def to_timecode(count: int, rate: Fraction, *, drop: bool | None = None) -> str:
    """Frame ``count`` written as a timecode (drop-frame by default at 29.97 and 59.94)."""
    nominal = round(rate)
    dropped = _drop(rate) if drop is None or drop else 0
    if dropped:
        per_ten = 10 * 60 * nominal - 9 * dropped  # frames in ten drop-frame minutes
        per_minute = 60 * nominal - dropped
        tens, rest = divmod(count, per_ten)
        extra = 0 if rest < dropped else dropped * ((rest - dropped) // per_minute)
        count += 9 * dropped * tens + extra
    frame = count % nominal
    seconds = count // nominal
    sep = ";" if dropped else ":"
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{sep}{frame:02d}"
