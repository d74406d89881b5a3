"""Live state of every monitored channel: its engine, its feed, its closed windows.

Synchronous and I/O-free (the async parts call it); time is passed in as µs UTC.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from efir.core.engine import ROLLING_US, ChannelEngine
from efir.core.event import Phase
from efir.core.feed import Feed, FeedState
from efir.core.forecast import Forecast, PlanBook, forecast
from efir.core.timebase import US_PER_S, merge_spans
from efir.rulepacks import load_pack

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from efir.core.book import Change, Item
    from efir.core.channel import ChannelProfile
    from efir.core.event import AsRunEvent
    from efir.core.result import WindowResult
    from efir.rulepacks import RulePack

DAY_US = 24 * 3600 * US_PER_S
#: Live state keeps every item that may touch an open window: the longest
#: window (a week) and the trailing seven days, plus two days of closed
#: windows a restart re-stores (what a crash kept from being stored), plus one
#: day for items that started before and run into them (an item lasts at most
#: a day).
HORIZON_US = ROLLING_US + 3 * DAY_US


def live_since(now: int) -> int:
    """Windows starting at or after this instant are complete in the live state."""
    return now - HORIZON_US + DAY_US


#: An event reporting an instant this long before its receipt is part of a
#: catch-up (a live adapter reports within seconds).
CATCH_UP_LAG_US = 120 * US_PER_S
#: A catch-up is over once no such event arrived for this long.
CATCH_UP_HOLD_US = 10 * US_PER_S
#: Longest a catch-up holds closed windows and gap alerts back.
CATCH_UP_MAX_US = 15 * 60 * US_PER_S


@dataclass
class Channel:
    """One channel's live state."""

    profile: ChannelProfile
    pack: RulePack
    engine: ChannelEngine
    feed: Feed = field(default_factory=Feed)
    #: Closed windows up to this instant have been handed out for storing.
    closed_until: int = 0
    #: ``[lo, hi)`` spans changed by late events, whose closed windows need re-storing.
    dirty: list[tuple[int, int]] = field(default_factory=list)
    events: int = 0
    #: Events for instants before the live horizon: stored, not counted live.
    beyond_horizon: int = 0
    #: ``(since, upto_id)`` of the restored checkpoint or the last compaction:
    #: where a restored id's versions are (live horizon start, highest row id
    #: the live state reflected then).
    history: tuple[int, int] = (0, 0)
    #: Receipt of the first and the latest event of a catch-up (events for
    #: instants long past, as an adapter re-sends after a lost session).
    lagging_since: int | None = None
    last_lagging_us: int | None = None
    #: The planned schedule (its latest version over each span), for forecasts.
    plan: PlanBook = field(default_factory=PlanBook)

    def forecasts(self, now: int, results: list[WindowResult]) -> dict[str, Forecast]:
        """Per open share window of ``results``, the forecast when the plan covers its rest."""
        out: dict[str, Forecast] = {}
        if not self.plan.items:
            return out
        for w in results:
            bound = self.engine.rules.get(w.rule)
            if bound is None or not bound.rule.is_share or w.window_end <= now:
                continue
            rest = self.plan.overlapping(now, w.window_end)
            if not rest or w.numerator_s is None or w.base_s is None:
                continue
            out[w.rule] = forecast(
                bound.rule,
                w.threshold,
                w.numerator_s * US_PER_S,
                w.base_s * US_PER_S,
                now,
                w.window_end,
                rest,
            )
        return out

    def catching_up(self, now: int) -> bool:
        """Whether the feed is replaying the past (see :data:`CATCH_UP_LAG_US`).

        While it does, closed windows are stored as usual but their violations
        page only once it is done (their figures are half-replayed), and
        feed-gap alerts wait: the gap is the part not replayed yet. A catch-up
        is believed for :data:`CATCH_UP_MAX_US` at most, so a feed that always
        lags still pages. Corrections and cancels are deliberate late fixes,
        not a replay: they do not start one.
        """
        last, since = self.last_lagging_us, self.lagging_since
        if last is None or since is None:
            return False
        return now - last <= CATCH_UP_HOLD_US and now - since <= CATCH_UP_MAX_US

    def note_lag(self, event: AsRunEvent, received_us: int) -> None:
        """Remember an event that reports an instant long before its receipt."""
        if event.start is None or event.phase in (Phase.CORRECTION, Phase.CANCEL):
            return
        at = event.start
        if event.phase is not Phase.START and event.duration is not None:
            at += event.duration
        if received_us - at <= CATCH_UP_LAG_US:
            return
        last = self.last_lagging_us
        if last is None or received_us - last > CATCH_UP_HOLD_US:
            self.lagging_since = received_us
        self.last_lagging_us = received_us

    def status(self, now: int) -> list[WindowResult]:
        """Per active rule, the window holding ``now``."""
        return self.engine.status(now)

    def on_air_since(self, now: int) -> int | None:
        """Start of the on-air stretch holding ``now``: ``0`` for 24/7, ``None`` off air."""
        schedule = self.profile.on_air
        if schedule.always:
            return 0
        return schedule.on_air_since(now, self.engine.tz)

    def on_air_gap_s(self, w: WindowResult, now: int) -> float:
        """Seconds of ``w``'s elapsed on-air time with no primary item (``w.gap_s`` if 24/7)."""
        schedule = self.profile.on_air
        if schedule.always:
            return w.gap_s
        spans = schedule.intervals(w.window_start, min(now, w.window_end), self.engine.tz)
        gap = 0
        for a, b in spans:
            gap += b - a - self.engine.airtime(a, b, now)
        return max(gap, 0) / US_PER_S


class Monitor:
    """Every channel's engine and feed; the daemon's single source of live figures."""

    def __init__(
        self,
        profiles: Iterable[ChannelProfile],
        *,
        stale_after_s: float,
        started_us: int | None = None,
    ) -> None:
        """Build an empty engine per channel; ``started_us``: when Efir started listening."""
        self.stale_after_us = round(stale_after_s * US_PER_S)
        self.started_us = started_us
        self.channels: dict[str, Channel] = {}
        #: Held by whoever changes or reads the live state across an ``await``:
        #: the ingest writer from a batch's commit to its last applied event,
        #: checkpoints while they capture, the API while it evaluates off the
        #: event loop. Nothing sees a batch half applied.
        self.lock = asyncio.Lock()
        #: Each channel's feed as last stored (``Feed.saved()``), see :meth:`unsaved_feeds`.
        self._feeds_saved: dict[str, tuple[str | None, int | None, int | None]] = {}
        for profile in profiles:
            pack = load_pack(profile.rule_pack)
            engine = ChannelEngine(profile, pack.rules)
            self.channels[profile.id] = Channel(profile, pack, engine)

    def feed_state(self, ch: Channel, now: int) -> FeedState:
        """``ch``'s feed state at ``now``, by its on-air hours.

        A channel never heard from is ``unknown`` until Efir has listened for
        ``stale_after_s`` of the channel's on-air time, then ``stale``.
        """
        on_air_since = ch.on_air_since(now)
        state = ch.feed.state(now, self.stale_after_us, on_air_since)
        never_heard_long = (
            self.started_us is not None
            and now - max(self.started_us, on_air_since or 0) > self.stale_after_us
        )
        return FeedState.STALE if state is FeedState.UNKNOWN and never_heard_long else state

    # ------------------------------------------------------------------ feeds
    def restore_feed(
        self,
        channel_id: str,
        adapter_status: str | None,
        last_event_us: int | None,
        last_heartbeat_us: int | None,
    ) -> None:
        """Give a channel its feed as stored before the restart."""
        feed = self.channels[channel_id].feed
        feed.adapter_status, feed.last_event_us = adapter_status, last_event_us
        feed.last_heartbeat_us = last_heartbeat_us
        self._feeds_saved[channel_id] = feed.saved()

    def heard_heartbeat(self, channel_id: str, now: int) -> None:
        """The channel's adapter sent a heartbeat at ``now``."""
        ch = self.channels.get(channel_id)
        if ch is not None:
            ch.feed.last_heartbeat_us = now

    def heard_status(self, channel_id: str, status: str) -> bool:
        """The adapter's retained status (or its Last Will) said ``online`` or ``offline``.

        Returns whether it was taken (a monitored channel and a known status).
        """
        ch = self.channels.get(channel_id)
        if ch is None or status not in {"online", "offline"}:
            return False
        ch.feed.adapter_status = status
        return True

    def unsaved_feeds(self) -> list[tuple[str, tuple[str | None, int | None, int | None]]]:
        """Channels whose feed changed since it was last stored, with :meth:`Feed.saved`."""
        out = []
        for cid, ch in self.channels.items():
            saved = ch.feed.saved()
            if saved != self._feeds_saved.get(cid):
                out.append((cid, saved))
        return out

    def feed_stored(
        self, channel_id: str, saved: tuple[str | None, int | None, int | None]
    ) -> None:
        """``saved`` (from :meth:`unsaved_feeds`) is now in the store."""
        self._feeds_saved[channel_id] = saved

    def get(self, channel_id: str) -> Channel | None:
        """The channel, or ``None`` if it is not monitored."""
        return self.channels.get(channel_id)

    # ----------------------------------------------------------------- input
    def load(self, channel_id: str, events: Iterable[AsRunEvent], now: int) -> int:
        """Rebuild a channel from stored events (restart); return how many were loaded."""
        ch = self.channels[channel_id]
        loaded = list(events)
        ch.engine.load(loaded)
        ch.events = len(loaded)
        ch.closed_until = now
        return len(loaded)

    def restore(
        self, channel_id: str, data: dict[str, Any], *, since: int, upto: int, now: int
    ) -> int:
        """Rebuild a channel from a checkpoint (restart); return how many items it holds.

        Raises:
            CheckpointError: the checkpoint cannot be restored (call :meth:`reset`).
        """
        ch = self.channels[channel_id]
        items = ch.engine.restore(data, since)
        ch.events = items
        ch.closed_until = now
        ch.history = (since, upto)
        return items

    def compact(
        self, channel_id: str, data: dict[str, Any], *, since: int, upto: int
    ) -> tuple[int, int]:
        """Replace a channel's engine by one restored from ``data``, its checkpoint now.

        What the live state no longer needs goes: items starting before
        ``since`` (the live horizon's start) and every version held in
        memory. Windows starting at or after :func:`live_since` keep their
        figures exactly (an item lasts at most a day). A kept item's versions
        come back from the store when a new version of it arrives
        (:meth:`hydrate`), up to row ``upto``, the highest row ``data``
        reflects. Returns ``(items before, items after)``.

        Call it with no event half applied (under :attr:`lock`).
        """
        ch = self.channels[channel_id]
        before = len(ch.engine)
        engine = ChannelEngine(ch.profile, ch.pack.rules)
        after = engine.restore(data, since)
        ch.engine = engine
        ch.history = (since, upto)
        return before, after

    def reset(self, channel_id: str) -> None:
        """Give a channel an empty engine (after a failed restore)."""
        ch = self.channels[channel_id]
        ch.engine = ChannelEngine(ch.profile, ch.pack.rules)
        ch.events = 0
        ch.history = (0, 0)

    def replay(self, channel_id: str, events: Iterable[AsRunEvent]) -> int:
        """Apply stored events after a restored checkpoint; return how many changed an item.

        Restored ids among them must be hydrated first (:meth:`hydrate`).
        """
        ch = self.channels[channel_id]
        changed = 0
        for event in events:
            change = ch.engine.apply(event)
            if change is not None:
                changed += 1
                # Committed before the stop, its closed windows perhaps not re-stored.
                self._changed(ch, change, ch.closed_until)
        ch.events += changed
        return changed

    def needs_history(self, event: AsRunEvent) -> bool:
        """Whether ``event``'s id was restored without its versions (hydrate it first)."""
        ch = self.channels.get(event.channel)
        return ch is not None and ch.engine.needs_history(event.event_id)

    def hydrate(
        self, channel_id: str, event_id: str, versions: Sequence[AsRunEvent], now: int
    ) -> Change | None:
        """Give a restored id its stored versions; remember closed windows it changed."""
        ch = self.channels[channel_id]
        change = ch.engine.hydrate(event_id, versions)
        if change is not None:
            self._changed(ch, change, now)
        return change

    def apply(self, event: AsRunEvent, received_us: int, now: int) -> Change | None:
        """Apply one committed event; remember spans of closed windows it changed.

        An event for an instant before the live horizon (``now - HORIZON_US``)
        is stored but not applied: the live state no longer holds what it
        would change (as after a restart); ``efir audit`` covers that past.
        """
        ch = self.channels[event.channel]
        feed = ch.feed
        feed.last_event_us = max(feed.last_event_us or 0, received_us)
        if feed.adapter_status == "offline":
            feed.adapter_status = "online"  # an event proves the adapter is back
        ch.note_lag(event, received_us)
        if event.start is not None and event.start < now - HORIZON_US:
            ch.beyond_horizon += 1
            return None
        change = ch.engine.apply(event)
        if change is None:
            return None
        ch.events += 1
        self._changed(ch, change, now)
        return change

    @staticmethod
    def _changed(ch: Channel, change: Change, now: int) -> None:
        for item in (change.before, change.after):
            if item is not None and item.start < ch.closed_until:
                ch.dirty.append((item.start, _end(item, now)))

    # ----------------------------------------------------------------- reads
    def closed_windows(self, now: int) -> list[tuple[Channel, list[WindowResult]]]:
        """Windows that closed since the last call, and closed windows late events changed."""
        out: list[tuple[Channel, list[WindowResult]]] = []
        for ch in self.channels.values():
            results: list[WindowResult] = []
            if now > ch.closed_until:
                results.extend(self._closed(ch, ch.closed_until, now, now))
            # Late events re-store only windows the live state holds whole (as a
            # restart does): an older one keeps its stored figures.
            floor = live_since(now)
            for lo, hi in merge_spans(ch.dirty):
                late = self._closed(ch, max(lo, floor), min(hi, ch.closed_until), now)
                results.extend(w for w in late if w.window_start >= floor)
            ch.dirty.clear()
            ch.closed_until = max(ch.closed_until, now)
            if results:
                out.append((ch, _unique(results)))
        return out

    def start_closing_from(self, channel_id: str, since: int) -> None:
        """Store windows closed after ``since`` at the next call of :meth:`closed_windows`."""
        self.channels[channel_id].closed_until = since

    @staticmethod
    def _closed(ch: Channel, lo: int, hi: int, now: int) -> list[WindowResult]:
        if hi <= lo:
            return []
        # Windows intersecting [lo, hi) that have closed by now.
        return [w for w in ch.engine.windows(lo, hi, now=now) if w.window_end <= now]


def _end(item: Item, now: int) -> int:
    return item.end if item.end is not None else max(now, item.start + 1)


def _unique(results: list[WindowResult]) -> list[WindowResult]:
    seen: dict[tuple[str, int], WindowResult] = {}
    for w in results:
        seen[w.rule, w.window_start] = w
    return list(seen.values())
