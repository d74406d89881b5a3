"""Feed state and gaps by a channel's on-air hours."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from efir.core.channel import ChannelProfile
from efir.core.feed import Feed, FeedState
from efir.core.schedule import OnAirSchedule
from efir.core.timebase import to_us
from efir.daemon.monitor import Monitor
from efir.schema.asrun import parse_event

ALMATY = ZoneInfo("Asia/Almaty")
S = 1_000_000
MIN = 60 * S
STALE = 5 * MIN


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=ALMATY))


def feed(last: str | None, status: str | None = None) -> Feed:
    return Feed(adapter_status=status, last_event_us=None if last is None else at(last))


@pytest.mark.parametrize(
    ("last", "status", "now", "since", "state"),
    [
        # 24/7 (since 0): plain silence.
        ("2026-11-23T10:00", None, "2026-11-23T10:04", 0, FeedState.ONLINE),
        ("2026-11-23T10:00", None, "2026-11-23T10:06", 0, FeedState.STALE),
        ("2026-11-23T10:00", "offline", "2026-11-23T10:01", 0, FeedState.OFFLINE),
        (None, None, "2026-11-23T10:00", 0, FeedState.UNKNOWN),
        # Off air: silence and an adapter that signed off are expected.
        ("2026-11-23T02:00", None, "2026-11-23T04:00", None, FeedState.OFF_AIR),
        ("2026-11-23T02:00", "offline", "2026-11-23T04:00", None, FeedState.OFF_AIR),
        ("2026-11-23T03:58", None, "2026-11-23T04:00", None, FeedState.ONLINE),  # extra hours
        # On air since 06:00 after a night's silence: stale only 5 min after 06:00.
        ("2026-11-23T02:00", None, "2026-11-23T06:04", "2026-11-23T06:00", FeedState.ONLINE),
        ("2026-11-23T02:00", None, "2026-11-23T06:06", "2026-11-23T06:00", FeedState.STALE),
        ("2026-11-23T02:00", "offline", "2026-11-23T06:01", "2026-11-23T06:00", FeedState.OFFLINE),
    ],
)
def test_feed_state_counts_silence_only_on_air(
    last: str | None, status: str | None, now: str, since: str | int | None, state: FeedState
) -> None:
    on_air_since = at(since) if isinstance(since, str) else since
    assert feed(last, status).state(at(now), STALE, on_air_since) is state


def event(event_id: str, start: str, minutes: int) -> str:
    return json.dumps(
        {
            "schema": "efir.asrun/1",
            "channel": "night",
            "event_id": event_id,
            "phase": "complete",
            "start": f"{start}:00+05:00",
            "duration": minutes * 60,
            "kind": "program",
            "language": "kk",
        }
    )


def test_a_channel_that_signs_off_is_off_air_at_night_and_its_gap_counts_only_on_air() -> None:
    profile = ChannelProfile(id="night", on_air=OnAirSchedule.parse(["06:00-01:00"]))
    monitor = Monitor([profile], stale_after_s=300)
    ch = monitor.channels["night"]
    now = at("2026-11-23T06:30")
    # Aired 00:00-00:40 (20 min gap to sign-off at 01:00), then 06:10-06:30 (10 min gap).
    for eid, start, minutes in (("a", "2026-11-23T00:00", 40), ("b", "2026-11-23T06:10", 20)):
        monitor.apply(parse_event(event(eid, start, minutes), now_us=now), now, now)
    assert ch.on_air_since(at("2026-11-23T03:00")) is None
    day = next(w for w in ch.status(now) if w.rule == "lang_6h")
    assert (day.window_start, day.window_end) == (at("2026-11-23T06:00"), at("2026-11-23T12:00"))
    assert ch.on_air_gap_s(day, now) == 10 * 60
    windows = ch.engine.windows(at("2026-11-23T00:00"), at("2026-11-23T06:00"), now=now)
    night = next(w for w in windows if w.rule == "lang_6h")
    assert night.gap_s == 5 * 3600 + 20 * 60  # the engine's gap: every second with no item
    assert ch.on_air_gap_s(night, now) == 20 * 60  # only 00:40-01:00 was meant to be on air


def test_a_247_channel_uses_the_engines_gap() -> None:
    monitor = Monitor([ChannelProfile(id="night")], stale_after_s=300)
    ch = monitor.channels["night"]
    now = at("2026-11-23T06:30")
    monitor.apply(parse_event(event("b", "2026-11-23T06:10", 20), now_us=now), now, now)
    w = next(w for w in ch.status(now) if w.rule == "lang_6h")
    assert ch.on_air_gap_s(w, now) == w.gap_s == 10 * 60
    assert ch.on_air_since(now) == 0


def _programme(event_id: str, start: str, minutes: int = 30, language: str = "kk") -> bytes:
    return json.dumps(
        {
            "schema": "efir.asrun/1",
            "channel": "c",
            "event_id": event_id,
            "phase": "complete",
            "start": f"{start}:00+05:00",
            "duration": minutes * 60,
            "kind": "program",
            "language": language,
        }
    ).encode()


def test_the_live_state_keeps_to_its_horizon() -> None:
    """Events before the horizon are not counted live; late events re-store only
    windows the live state holds whole."""
    monitor = Monitor([ChannelProfile("c")], stale_after_s=300)
    ch = monitor.channels["c"]
    monitor.start_closing_from("c", at("2026-11-10T00:00"))  # as a start on the 10th would
    day = 24 * 60 * MIN
    for n in range(12 * 48):  # twelve days of half-hour programmes from 2026-11-10
        start = at("2026-11-10T00:00") + n * 30 * MIN
        stamp = datetime.fromtimestamp(start / S, ALMATY).strftime("%Y-%m-%dT%H:%M")
        event = parse_event(_programme(f"p{n}", stamp), now_us=start)
        monitor.apply(event, start, start + 30 * MIN)
    now = at("2026-11-22T00:00")
    monitor.closed_windows(now)
    assert len(ch.engine.book) == 12 * 48
    # Today's status is what it was.
    status = monitor.channels["c"].status(now)
    assert status
    # An event ten days old is stored by the caller but not counted live.
    old = parse_event(_programme("p24", "2026-11-10T12:00", language="ru"), now_us=now)
    assert monitor.apply(old, now, now) is None
    assert ch.beyond_horizon == 1
    # A late correction six days back re-stores its windows; one eight and a
    # half days back re-stores its day and six hours, but not its week (begun
    # on Monday 2026-11-09, before the horizon: its stored figures stay).
    six = parse_event(_programme("p300", "2026-11-16T06:00", language="ru"), now_us=now)
    eight = parse_event(_programme("p-old", "2026-11-13T14:00", language="ru"), now_us=now)
    assert monitor.apply(six, now, now) is not None
    assert monitor.apply(eight, now, now) is not None
    restored = [w for _, results in monitor.closed_windows(now) for w in results]
    assert min(w.window_start for w in restored) >= now - 9 * day
    assert any(w.window_start == at("2026-11-13T12:00") for w in restored)
    assert any(w.window_start == at("2026-11-16T06:00") for w in restored)
    assert not any(w.window_start == at("2026-11-09T00:00") for w in restored)


def test_the_monitor_keeps_the_feed_bookkeeping_and_says_what_to_store() -> None:
    monitor = Monitor(
        [ChannelProfile(id="qaz-tv")], stale_after_s=300, started_us=at("2026-12-01T08:00")
    )
    monitor.restore_feed("qaz-tv", "online", at("2026-12-01T07:00"), None)
    assert monitor.unsaved_feeds() == []  # as stored before the restart

    monitor.heard_heartbeat("qaz-tv", at("2026-12-01T08:01"))
    assert monitor.heard_status("qaz-tv", "offline")
    assert not monitor.heard_status("qaz-tv", "sleeping")  # not a status an adapter says
    assert not monitor.heard_status("other", "online")  # not monitored
    monitor.heard_heartbeat("other", at("2026-12-01T08:01"))  # ignored, no error
    saved = ("offline", at("2026-12-01T07:00"), at("2026-12-01T08:01"))
    assert monitor.unsaved_feeds() == [("qaz-tv", saved)]
    # Until the store confirms, the change stays unsaved (a failed save is retried).
    assert monitor.unsaved_feeds() == [("qaz-tv", saved)]
    monitor.feed_stored("qaz-tv", saved)
    assert monitor.unsaved_feeds() == []


def test_an_event_brings_an_offline_adapter_back_online() -> None:
    monitor = Monitor([ChannelProfile(id="qaz-tv")], stale_after_s=300)
    monitor.heard_status("qaz-tv", "offline")
    payload = {
        "schema": "efir.asrun/1",
        "channel": "qaz-tv",
        "event_id": "PR-1",
        "phase": "complete",
        "start": "2026-12-01T08:00:00+05:00",
        "duration": 60,
        "kind": "program",
        "language": "kk",
    }
    now = at("2026-12-01T08:02")
    monitor.apply(parse_event(json.dumps(payload).encode(), now_us=now), now, now)
    ch = monitor.channels["qaz-tv"]
    assert ch.feed.adapter_status == "online"
    assert ch.feed.last_event_us == now
