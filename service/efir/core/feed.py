"""A channel's playout feed: what Efir heard from its adapter, and whether it is alive.

Instants are µs UTC; the state depends on the channel's on-air hours (a
channel silent outside them is ``off_air``, not ``stale``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FeedState(StrEnum):
    """Whether a channel's playout feed is alive."""

    UNKNOWN = "unknown"  # nothing heard yet, and Efir has not run ``stale_after_s`` on air
    ONLINE = "online"  # events or heartbeats arrive
    STALE = "stale"  # silent for longer than ``stale_after_s``
    OFFLINE = "offline"  # the adapter said so (retained status or Last Will)
    OFF_AIR = "off_air"  # silent outside the channel's on-air hours, as expected


@dataclass
class Feed:
    """What Efir heard from a channel's adapter (instants in µs UTC)."""

    adapter_status: str | None = None
    last_event_us: int | None = None
    last_heartbeat_us: int | None = None

    def state(self, now: int, stale_after_us: int, on_air_since: int | None = 0) -> FeedState:
        """The feed state at ``now``.

        ``on_air_since``: start of the on-air stretch holding ``now`` (``0`` for a
        24/7 channel, ``None`` when the channel is off air now). Silence counts
        only from the start of the stretch: a channel that signed off at 02:00
        and has not yet spoken at 06:05 is stale from 06:00 + ``stale_after``.
        """
        last = self.last_heard_us
        if on_air_since is None:  # off air: silence and "offline" are expected
            recent = last is not None and now - last <= stale_after_us
            if recent and self.adapter_status != "offline":
                return FeedState.ONLINE  # airing outside its hours: fine, it is heard
            return FeedState.OFF_AIR
        if self.adapter_status == "offline":
            return FeedState.OFFLINE
        if last is None:
            return FeedState.UNKNOWN
        silent_since = max(last, on_air_since)
        return FeedState.ONLINE if now - silent_since <= stale_after_us else FeedState.STALE

    def saved(self) -> tuple[str | None, int | None, int | None]:
        """What the store keeps of the feed: status, last event, last heartbeat."""
        return (self.adapter_status, self.last_event_us, self.last_heartbeat_us)

    @property
    def last_heard_us(self) -> int | None:
        """The latest event or heartbeat."""
        heard = [t for t in (self.last_event_us, self.last_heartbeat_us) if t is not None]
        return max(heard) if heard else None
