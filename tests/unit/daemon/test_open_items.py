"""Open items (a ``start`` whose ``end`` has not arrived): bounded, provisional, and flagged.

A catch-up replay (each start, then its end, in time order, as adapters send
after a lost session) used to page critical for every channel: a start of
hours ago counted as airing until now. An open item now counts up to its
planned end plus a grace (or a cap without one), a lost status resting on it
does not page, and a break that is really stuck raises its own alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import msgspec
import pytest

from efir.config.settings import ChannelConfig, Settings
from efir.core.alerting.alert import Alert, Condition, Severity, State
from efir.core.alerting.inhibit import OPEN_ITEM_OVERDUE
from efir.core.alerting.lifecycle import Timing, apply, step
from efir.core.status import Status
from efir.core.timebase import US_PER_S, to_us
from efir.daemon.alerting import Alerter
from efir.daemon.monitor import Monitor
from efir.metrics import Metrics
from efir.schema.asrun import parse_event
from efir.sim.feed import FeedSpec, generate
from tests.helpers import ALMATY

MONDAY = datetime(2026, 11, 16, tzinfo=ALMATY)


def _setup(now: int) -> tuple[Monitor, Alerter]:
    settings = Settings(
        channels=[ChannelConfig(id="qaz-tv"), ChannelConfig(id="qaz-radio", media="radio")]
    )
    monitor = Monitor(settings.profiles(), stale_after_s=300)
    monitor.started_us = now - 3600 * US_PER_S
    for ch in monitor.channels.values():
        ch.closed_until = to_us(MONDAY)  # as a start on an empty store leaves it
    alerter = Alerter(
        settings,
        monitor,
        cast("Any", None),
        Metrics(),
        now_us=lambda: now,
        wake_delivery=lambda: None,
    )
    return monitor, alerter


def _firing(alerts: dict[str, Alert]) -> list[str]:
    return [a.summary for a in alerts.values() if a.state is State.FIRING]


def _events(channel: str, media: str, until: datetime, *, planned: bool) -> list[dict[str, Any]]:
    spec = FeedSpec(channel, media=media, phases="start_end", seed=11)  # type: ignore[arg-type]
    out = list(generate(spec, MONDAY, until))
    if not planned:  # adapters that do not know the planned duration
        out = [
            {k: v for k, v in e.items() if k != "duration" or e["phase"] != "start"} for e in out
        ]
    return out


@pytest.mark.parametrize("planned", [True, False], ids=["planned", "no-planned-duration"])
@pytest.mark.parametrize("hour", [11, 17, 20, 22])
def test_a_catch_up_replay_pages_nothing(hour: int, planned: bool) -> None:
    """A day replayed in air order, in batches as the writer commits them: nothing fires."""
    until = MONDAY + timedelta(hours=hour, minutes=50)
    now = to_us(until + timedelta(minutes=5))
    monitor, alerter = _setup(now)
    timing = Timing()
    alerts: dict[str, Alert] = {}
    feeds = [
        *_events("qaz-tv", "tv", until, planned=planned),
        *_events("qaz-radio", "radio", until, planned=planned),
    ]
    feeds.sort(key=lambda e: (e["start"], e["phase"] == "end"))
    for i in range(0, len(feeds), 25):
        for payload in feeds[i : i + 25]:
            event = parse_event(msgspec.json.encode(payload), now_us=now)
            monitor.apply(event, now, now)
        for ch in monitor.channels.values():
            conditions: list[Condition] = alerter.conditions(ch, now)
            apply(alerts, step(alerts, ch.profile.id, conditions, now, timing))
        assert _firing(alerts) == [], f"after {i + 25} of {len(feeds)} events"
        # Closed windows are stored as they are, but judged for alerts only
        # once the replay is done, not half-replayed.
        for ch, windows in monitor.closed_windows(now):
            assert ch.catching_up(now)
            alerter.on_closed(ch, windows, now)
            assert not alerter._violations
    # Once every end is in, nothing is open and nothing provisional.
    for ch in monitor.channels.values():
        assert not ch.engine.ledger.has_open
        assert not any(w.provisional for w in ch.status(now))
    later = now + 11 * US_PER_S
    assert not any(ch.catching_up(later) for ch in monitor.channels.values())
    assert set(alerter._held) == {"qaz-tv", "qaz-radio"}
    for ch in monitor.channels.values():
        alerter.conditions(ch, later)  # releases the held windows, judged on full figures
        lo = to_us(MONDAY)
        lost = {
            (w.rule, w.window_start)
            for w in ch.engine.windows(lo, later, now=later)
            if w.verdict is Status.VIOLATION and w.window_start >= lo and w.window_end <= now
        }
        recorded = {(r, s) for c, r, s in alerter._violations if c == ch.profile.id}
        assert recorded == lost
    assert not alerter._held


def _ad_start(now: int, minutes_ago: float, duration: float | None) -> bytes:
    start = datetime.fromtimestamp((now / US_PER_S) - minutes_ago * 60, tz=ALMATY)
    payload: dict[str, Any] = {
        "schema": "efir.asrun/1",
        "channel": "qaz-tv",
        "event_id": "break-1",
        "phase": "start",
        "start": start.isoformat(),
        "kind": "advertising",
        "language": "ru",
        "title": "Evening break",
    }
    if duration is not None:
        payload["duration"] = duration
    return msgspec.json.encode(payload)


@pytest.mark.parametrize(("duration", "counted_s"), [(30.0, 330.0), (None, 3600.0)])
def test_a_stuck_break_says_so_and_counts_only_to_its_bound(
    duration: float | None, counted_s: float
) -> None:
    """An ad start eight hours old with no end: bounded, flagged, and never 'unavoidable'."""
    now = to_us(MONDAY.replace(hour=17))
    monitor, alerter = _setup(now)
    monitor.apply(parse_event(_ad_start(now, 8 * 60, duration), now_us=now), now, now)
    ch = monitor.channels["qaz-tv"]
    status = {w.rule: w for w in ch.status(now)}
    assert status["ads_day"].numerator_s == pytest.approx(counted_s)
    assert status["ads_day"].status is not Status.UNAVOIDABLE  # was 89.7 % unavoidable
    conditions = {c.alertname: c for c in alerter.conditions(ch, now)}
    stuck = conditions[OPEN_ITEM_OVERDUE]
    assert stuck.active
    assert stuck.severity is Severity.WARNING
    assert "Evening break (advertising, started 09:00:00" in stuck.summary
    assert "no end received" in stuck.summary
    # Its end arrives: the item is closed, nothing is overdue any more.
    end = msgspec.json.decode(_ad_start(now, 8 * 60, 30.0))
    end["phase"] = "end"
    monitor.apply(parse_event(msgspec.json.encode(end), now_us=now), now, now)
    assert not {c.alertname: c for c in alerter.conditions(ch, now)}[OPEN_ITEM_OVERDUE].active


def test_a_lost_status_resting_on_an_open_item_is_provisional_and_does_not_page() -> None:
    """An open ad 40 minutes long in the evening hour: unavoidable, but provisional."""
    now = to_us(MONDAY.replace(hour=20, minute=45))
    monitor, alerter = _setup(now)
    # The day's feed ends before 19:00; the break starts at 20:04, alone in its hour.
    day = list(generate(FeedSpec("qaz-tv", seed=5), MONDAY, MONDAY.replace(hour=18, minute=30)))
    for payload in day:
        monitor.apply(parse_event(msgspec.json.encode(payload), now_us=now), now, now)
    monitor.apply(parse_event(_ad_start(now, 41, 40 * 60.0), now_us=now), now, now)
    ch = monitor.channels["qaz-tv"]
    hour = next(w for w in ch.status(now) if w.rule == "ads_evening_hour")
    assert hour.status is Status.UNAVOIDABLE
    assert hour.provisional
    assert hour.settled_status is not None
    assert hour.settled_status is not Status.UNAVOIDABLE
    risk = [c for c in alerter.conditions(ch, now) if c.rule == "ads_evening_hour" and c.active]
    assert all(c.severity is not Severity.CRITICAL for c in risk)
    # The end arrives: closed items now lock it in, and it pages.
    end = msgspec.json.decode(_ad_start(now, 41, 40 * 60.0))
    end["phase"] = "end"
    monitor.apply(parse_event(msgspec.json.encode(end), now_us=now), now, now)
    hour = next(w for w in ch.status(now) if w.rule == "ads_evening_hour")
    assert (hour.status, hour.provisional) == (Status.UNAVOIDABLE, False)
    risk = [c for c in alerter.conditions(ch, now) if c.rule == "ads_evening_hour" and c.active]
    assert [c.severity for c in risk] == [Severity.CRITICAL]
