"""Channel profiles: what a channel is, for deciding which rules apply and how."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date  # noqa: TC003 - dataclass field type, resolved at runtime by tools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from efir.core.rules import Media
from efir.core.schedule import OnAirSchedule

CHANNEL_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
DEFAULT_TIMEZONE = "Asia/Almaty"
#: Flags a channel may carry (regulation.md A10); rules select channels by them.
KNOWN_FLAGS = frozenset(
    {"domestic", "obligatory", "ad_only", "intl_agreement_exempt", "foreign_registered"}
)


@dataclass(frozen=True, slots=True)
class ChannelProfile:
    """A monitored channel.

    Attributes:
        id: channel id (``[a-z0-9][a-z0-9_-]{0,63}``), as in MQTT topics and events.
        media: ``tv`` or ``radio``.
        timezone: IANA zone whose wall clock defines the windows (default Asia/Almaty).
        flags: channel flags (``domestic``, ``obligatory``, ``ad_only`` ...).
        rule_pack: rule pack name (``kz``, ``kz-2018``) or path.
        mourning_dates: national mourning days (local dates): no advertising.
        enable: rule ids to enable although disabled by default (e.g. unverified).
        disable: rule ids to switch off for this channel.
        on_air: the local hours the channel should be on air (default: 24/7);
            feed alerts use it, the accounting does not.
        open_grace_s: an open item (a ``start`` without its ``end``) counts up
            to its planned end plus this many seconds at most.
        open_cap_s: an open item with no planned duration counts this many
            seconds from its start at most. Past either bound it is overdue:
            flagged, and its further time is a gap until its ``end`` arrives.
    """

    id: str
    media: Media = Media.TV
    timezone: str = DEFAULT_TIMEZONE
    flags: frozenset[str] = frozenset({"domestic"})
    rule_pack: str = "kz"
    mourning_dates: frozenset[date] = frozenset()
    enable: frozenset[str] = frozenset()
    disable: frozenset[str] = frozenset()
    on_air: OnAirSchedule = field(default_factory=OnAirSchedule)
    open_grace_s: float = 300.0
    open_cap_s: float = 3600.0

    def __post_init__(self) -> None:
        """Validate the id, flags and open-item bounds."""
        if not (self.open_grace_s >= 0 and self.open_cap_s > 0):
            msg = "open_grace_s must be 0 or more and open_cap_s more than 0"
            raise ValueError(msg)
        if not CHANNEL_ID.match(self.id):
            msg = f"channel id {self.id!r} must match {CHANNEL_ID.pattern}"
            raise ValueError(msg)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown IANA time zone {self.timezone!r} (e.g. Asia/Almaty)"
            raise ValueError(msg) from None
        unknown = self.flags - KNOWN_FLAGS
        if unknown:
            msg = f"unknown channel flags {sorted(unknown)}; known: {sorted(KNOWN_FLAGS)}"
            raise ValueError(msg)
