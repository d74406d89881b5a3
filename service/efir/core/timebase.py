"""Instants and durations as integer microseconds.

Every instant inside the core is an ``int``: microseconds since the Unix epoch,
UTC. Durations are ``int`` microseconds too. Integer arithmetic makes the
splitting of items across window boundaries exact ("to the microsecond") and
sums associative, so an incremental evaluation equals a from-scratch one bit
for bit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from zoneinfo import ZoneInfo

US_PER_S = 1_000_000
#: The instant 0 and one microsecond, for code that converts inline on a hot path.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)


def to_us(instant: datetime) -> int:
    """Return the aware ``instant`` as microseconds since the epoch (UTC)."""
    if instant.tzinfo is None:
        msg = "naive datetime: an instant needs a UTC offset or zone"
        raise ValueError(msg)
    return (instant - EPOCH) // ONE_US


def seconds_to_us(seconds: float) -> int:
    """Round a duration in seconds to whole microseconds."""
    return round(seconds * US_PER_S)


def from_us(us: int, tz: ZoneInfo | None = None) -> datetime:
    """Return the instant ``us`` as an aware datetime in ``tz`` (UTC by default)."""
    utc = EPOCH + timedelta(microseconds=us)
    return utc if tz is None else utc.astimezone(tz)


def local_wall_to_us(wall: datetime, tz: ZoneInfo) -> int:
    """Resolve a naive local wall-clock time in ``tz`` to an instant.

    Ambiguous or skipped wall times resolve with ``fold=0`` (DESIGN section 3):
    the first of a repeated hour, and the pre-transition offset in a gap, which
    makes a skipped boundary coincide with the next existing one.
    """
    return to_us(wall.replace(tzinfo=tz, fold=0))


def local_midnight_us(day: date, tz: ZoneInfo) -> int:
    """Return the instant of local 00:00 (``fold=0``) on ``day`` in ``tz``."""
    return local_wall_to_us(datetime.combine(day, time()), tz)


def format_local(us: int, tz: ZoneInfo) -> str:
    """Format an instant as RFC 3339 in local time with its offset (seconds precision).

    Sub-second parts are kept only when present, so whole-second instants read
    ``2026-01-05T12:00:00+05:00``.
    """
    local = from_us(us, tz)
    spec = "microseconds" if local.microsecond else "seconds"
    return local.isoformat(timespec=spec)


def local_date(us: int, tz: ZoneInfo) -> date:
    """Return the local calendar date of the instant ``us`` in ``tz``."""
    return from_us(us, tz).date()


def merge_spans(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``[lo, hi)`` spans merged where they overlap or touch, in order."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(spans):
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged
