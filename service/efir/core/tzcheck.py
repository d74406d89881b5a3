"""Refuse to run on a zone database that predates Kazakhstan's move to UTC+5.

Kazakhstan unified on UTC+5 from 2024-03-01 (tzdata 2024a). An older
database puts Asia/Almaty at UTC+6, which would shift every window by an
hour: a wrong verdict, not a crash. So every entry point checks first.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from efir.core.errors import ConfigurationError
from efir.core.timebase import from_us

REFERENCE_ZONE = "Asia/Almaty"
EXPECTED_OFFSET = timedelta(hours=5)


class TzDataError(ConfigurationError):
    """The zone database is too old (or broken) to be trusted."""


def check_tzdata(now_us: int) -> None:
    """Raise :class:`TzDataError` unless Asia/Almaty is UTC+5 at ``now_us``."""
    offset = from_us(now_us, ZoneInfo(REFERENCE_ZONE)).utcoffset()
    if offset != EXPECTED_OFFSET:
        msg = (
            f"the time zone database puts {REFERENCE_ZONE} at UTC{_fmt(offset)}, not UTC+05:00: "
            "it predates tzdata 2024a. Update the system package 'tzdata' "
            "(or the Python package: pip install -U tzdata) and restart."
        )
        raise TzDataError(msg)


def _fmt(offset: timedelta | None) -> str:
    if offset is None:
        return "?"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
