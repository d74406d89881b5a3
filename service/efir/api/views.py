"""Pieces of a channel's live state as the API shows them (status, board)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from efir.api.models import FeedInfo, OnAir
from efir.core.timebase import format_local

if TYPE_CHECKING:
    from efir.daemon.monitor import Channel, Monitor


def feed_info(monitor: Monitor, ch: Channel, now: int) -> FeedInfo:
    """The channel's feed: state at ``now`` and the last event and heartbeat (local times)."""
    tz = ch.engine.tz
    f = ch.feed
    return FeedInfo(
        state=monitor.feed_state(ch, now),
        adapter_status=f.adapter_status,
        last_event=None if f.last_event_us is None else format_local(f.last_event_us, tz),
        last_heartbeat=None
        if f.last_heartbeat_us is None
        else format_local(f.last_heartbeat_us, tz),
    )


def on_air_now(ch: Channel, now: int) -> OnAir | None:
    """The primary item airing at ``now``, or ``None``."""
    item = ch.engine.on_air(now)
    if item is None:
        return None
    tz = ch.engine.tz
    ev = item.event
    end = item.end if item.end is not None else item.planned_end
    return OnAir(
        event_id=item.event_id,
        title=ev.title,
        kind=None if ev.kind is None else str(ev.kind),
        language=ev.language,
        start=format_local(item.start, tz),
        planned_end=None if end is None else format_local(end, tz),
    )
