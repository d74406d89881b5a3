"""Checkpoints: capture, restore, hydrate; a restart from one equals never stopping."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efir.core.book import HistoryNeededError, Item
from efir.core.channel import ChannelProfile
from efir.core.checkpoint import CheckpointError
from efir.core.engine import ChannelEngine, Period
from efir.core.event import AsRunEvent, Kind, Layer, Phase
from efir.core.profile import Profile
from efir.core.rules import Media
from efir.core.timebase import US_PER_S, to_us
from efir.rulepacks import load_pack
from tests.unit.core.test_accounting_properties import (
    SCENARIOS,
    _assert_same_windows,
    _engine,
    event_streams,
)

ALMATY = ZoneInfo("Asia/Almaty")
T0 = to_us(datetime(2026, 11, 20, 18, 0, tzinfo=ALMATY))
MIN = 60 * US_PER_S
KZ = load_pack("kz")


def _roundtrip(engine: ChannelEngine, now: int) -> dict:  # type: ignore[type-arg]
    """Capture, through JSON as the daemon stores it."""
    return json.loads(json.dumps(engine.capture(now)))  # type: ignore[no-any-return]


def _span(zone: str) -> tuple[int, int]:
    lo = to_us((SCENARIOS[zone] - timedelta(days=1)).replace(tzinfo=ZoneInfo(zone)))
    return lo, lo + 4 * 24 * 3600 * US_PER_S


def _continue(
    restored: ChannelEngine, store: list[AsRunEvent], later: list[AsRunEvent]
) -> ChannelEngine:
    """Apply ``later`` the daemon's way: hydrate a restored id from ``store`` first."""
    for event in later:
        if restored.needs_history(event.event_id):
            restored.hydrate(event.event_id, [e for e in store if e.event_id == event.event_id])
        restored.apply(event)
    return restored


def _items(engine: ChannelEngine, *, orders: bool = True) -> dict[str, tuple[Item, Profile]]:
    """Items by id, each with its profile (profile ids are per engine)."""
    profiles = engine.book.profiles.profiles
    return {
        i.event_id: (i._replace(pid=0, order=i.order if orders else 0), profiles[i.pid])
        for i in engine.book.items()
    }


@given(event_streams(), st.data())
def test_restart_from_a_checkpoint_equals_never_stopping(
    stream: tuple[str, list[AsRunEvent], int], data: st.DataObject
) -> None:
    """Checkpoint after any prefix, restore, go on: same items (to the order) and windows."""
    zone, events, now = stream
    k = data.draw(st.integers(0, len(events)), label="checkpoint after")
    never = _engine(zone, Media.TV)
    for event in events:
        never.apply(event)
    before = _engine(zone, Media.TV)
    for event in events[:k]:
        before.apply(event)
    after = _engine(zone, Media.TV)
    after.restore(_roundtrip(before, now), since=0)
    _continue(after, events[:k], events[k:])
    assert _items(after) == _items(never)
    lo, hi = _span(zone)
    _assert_same_windows(
        after.windows(lo, hi, now=now, period=Period(lo, hi)),
        never.windows(lo, hi, now=now, period=Period(lo, hi)),
    )


@given(event_streams(), st.data())
def test_versions_the_checkpoint_missed_are_picked_up(
    stream: tuple[str, list[AsRunEvent], int], data: st.DataObject
) -> None:
    """Versions stored but not in the checkpoint (another instance wrote them) still count.

    Restore re-reads the rows received shortly before the checkpoint: their ids
    are hydrated from every stored version, then the rows are applied again.
    """
    zone, events, now = stream
    k = data.draw(st.integers(0, len(events)), label="checkpoint after")
    missed = set(data.draw(st.sets(st.integers(0, max(k - 1, 0)), max_size=3), label="missed"))
    never = _engine(zone, Media.TV)
    for event in events:
        never.apply(event)
    before = _engine(zone, Media.TV)
    for n, event in enumerate(events[:k]):
        if n not in missed:
            before.apply(event)
    after = _engine(zone, Media.TV)
    after.restore(_roundtrip(before, now), since=0)
    lookback = [events[n] for n in sorted(missed) if n < k]
    _continue(after, events[:k], lookback + events[k:])
    # A missed winner counts as arriving at restore: only ties between items
    # starting at the same instant could order differently, so orders are not compared.
    assert _items(after, orders=False) == _items(never, orders=False)


def _profile(**kw: object) -> ChannelProfile:
    return ChannelProfile("c", **kw)  # type: ignore[arg-type]


def _event(eid: str, phase: Phase, start: int, minutes: float | None, **kw: object) -> AsRunEvent:
    """A full event; an ``end`` or ``cancel`` gives no attributes (they are inherited)."""
    duration = None if minutes is None else round(minutes * MIN)
    if phase is Phase.END:
        return AsRunEvent("c", eid, phase, start, duration, given=frozenset())
    if phase is Phase.CANCEL:
        return AsRunEvent("c", eid, phase, given=frozenset())
    fields: dict[str, object] = {"kind": Kind.PROGRAM, "language": "kk"} | kw
    return AsRunEvent("c", eid, phase, start, duration, **fields)  # type: ignore[arg-type]


def test_an_end_after_restart_inherits_the_start_it_never_saw() -> None:
    """The start is in the checkpoint; the end arrives after restart, with no attributes."""
    before = ChannelEngine(_profile(), KZ.rules)
    start = _event(
        "a", Phase.START, T0, None, language="ru", title="Жаңалықтар", tags=frozenset({"news"})
    )
    before.apply(start)
    after = ChannelEngine(_profile(), KZ.rules)
    after.restore(_roundtrip(before, T0 + MIN), since=0)
    end = _event("a", Phase.END, T0, 30)
    assert after.needs_history("a")
    with pytest.raises(HistoryNeededError):
        after.apply(end)
    assert after.hydrate("a", [start]) is None  # the versions resolve to the restored item
    change = after.apply(end)
    assert change is not None
    assert change.after is not None
    assert change.after.end == T0 + 30 * MIN
    assert change.after.event.language == "ru"
    assert change.after.event.title == "Жаңалықтар"
    assert change.after.event.tags == frozenset({"news"})


def test_a_cancelled_id_stays_cancelled_when_its_start_comes_again() -> None:
    """A re-delivered start of a cancelled item is a duplicate, not a new item."""
    start = _event("a", Phase.START, T0, None)
    cancel = _event("a", Phase.CANCEL, T0, None)
    before = ChannelEngine(_profile(), KZ.rules)
    before.apply(start)
    before.apply(cancel)
    data = _roundtrip(before, T0 + MIN)
    assert [g[0] for g in data["gone"]] == ["a"]
    after = ChannelEngine(_profile(), KZ.rules)
    after.restore(data, since=0)
    assert after.needs_history("a")
    after.hydrate("a", [start, cancel])
    assert after.apply(start) is None
    assert after.book.item("a") is None


def test_hydrating_without_stored_versions_keeps_the_item() -> None:
    """Retention removed the rows: the restored item stays as it was."""
    before = ChannelEngine(_profile(), KZ.rules)
    before.apply(_event("a", Phase.COMPLETE, T0, 10))
    after = ChannelEngine(_profile(), KZ.rules)
    after.restore(_roundtrip(before, T0), since=0)
    assert after.hydrate("a", []) is None
    assert after.book.item("a") == before.book.item("a")
    assert not after.needs_history("a")


def test_restore_leaves_out_what_lies_before_the_horizon() -> None:
    before = ChannelEngine(_profile(), KZ.rules)
    before.apply(_event("old", Phase.COMPLETE, T0 - 10 * 24 * 60 * MIN, 10))
    before.apply(_event("new", Phase.COMPLETE, T0, 10))
    before.apply(_event("gone", Phase.START, T0 - 10 * 24 * 60 * MIN, None))
    before.apply(_event("gone", Phase.CANCEL, T0, None))
    after = ChannelEngine(_profile(), KZ.rules)
    assert after.restore(_roundtrip(before, T0), since=T0 - 9 * 24 * 60 * MIN) == 1
    assert [i.event_id for i in after.book.items()] == ["new"]
    assert not after.needs_history("old")
    assert not after.needs_history("gone")


def test_a_checkpoint_outlives_a_change_of_rules_and_zone() -> None:
    """The ledger is accounted again at restore: new rules and zone apply to old items."""
    events = [
        _event(f"p{n}", Phase.COMPLETE, T0 + n * 7 * MIN, 7, language=("kk" if n % 3 else "ru"))
        for n in range(60)
    ]
    before = ChannelEngine(_profile(), KZ.rules)
    for event in events:
        before.apply(event)
    changed = _profile(timezone="Europe/Moscow", media=Media.RADIO)
    after = ChannelEngine(changed, KZ.rules)
    after.restore(_roundtrip(before, T0), since=0)
    fresh = ChannelEngine(changed, KZ.rules)
    for event in events:
        fresh.apply(event)
    lo, hi = T0 - 24 * 60 * MIN, T0 + 2 * 24 * 60 * MIN
    now = T0 + 8 * 60 * MIN
    _assert_same_windows(after.windows(lo, hi, now=now), fresh.windows(lo, hi, now=now))


def test_secondary_and_open_items_are_restored() -> None:
    before = ChannelEngine(_profile(), KZ.rules)
    before.apply(_event("crawl", Phase.COMPLETE, T0, 5, layer=Layer.SECONDARY, tags=frozenset()))
    before.apply(_event("live", Phase.START, T0, 60))
    after = ChannelEngine(_profile(), KZ.rules)
    after.restore(_roundtrip(before, T0), since=0)
    assert _items(after) == _items(before)
    now = T0 + 20 * MIN
    assert after.status(now) == before.status(now)
    assert after.ledger.on_air(now) == before.ledger.on_air(now)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "efir.checkpoint/0"}, "format"),
        ({"channel": "other"}, "channel"),
        ({"items": [["a", 1]]}, "damaged"),
        ({"profiles": [["program", "sideways", None, None, None, False, [], None]]}, "damaged"),
    ],
)
def test_an_unusable_checkpoint_is_refused_with_the_reason(
    change: dict[str, object], message: str
) -> None:
    before = ChannelEngine(_profile(), KZ.rules)
    before.apply(_event("a", Phase.COMPLETE, T0, 10))
    data = _roundtrip(before, T0) | change
    with pytest.raises(CheckpointError, match=message):
        ChannelEngine(_profile(), KZ.rules).restore(data, since=0)


#: Stands for the present at capture: later than any cutoff.
_RECENT = 1 << 60
#: The longest item :func:`event_streams` makes (7 h and 7 µs); the daemon's is a day.
LONGEST_US = 7 * 3600 * US_PER_S + 7


def _one_start_per_id(events: list[AsRunEvent]) -> list[AsRunEvent]:
    """Give every version of an id its first version's start.

    Compaction forgets ids whose item starts before the cutoff; a version that
    moves an item across it (a correction nine days late) then starts a new
    item, as after a restart. The property is about everything else.
    """
    first: dict[str, int] = {}
    for event in events:
        if event.start is not None:
            first.setdefault(event.event_id, event.start)
    return [e if e.start is None else e._replace(start=first[e.event_id]) for e in events]


@given(event_streams(), st.data())
def test_compaction_keeps_every_window_the_live_state_holds_whole(
    stream: tuple[str, list[AsRunEvent], int], data: st.DataObject
) -> None:
    """Compacting (capture, restore from the cutoff) then going on equals never compacting.

    The daemon compacts a channel's live state from time to time: items that
    start before the horizon and every version held in memory are dropped,
    and a restored id gets its versions back from the store when a new one
    arrives. Windows starting at least one item length after the cutoff must
    be exactly as if nothing had been dropped, through any number of
    compactions. Events before the cutoff that arrive later are not applied
    (the daemon stores them as beyond the horizon). An item still open at
    the cutoff keeps it from moving past its start: it airs until its
    successor, however late.
    """
    zone, events, now = stream
    base = to_us(SCENARIOS[zone].replace(tzinfo=ZoneInfo(zone)))
    points = sorted(
        data.draw(st.lists(st.integers(0, len(events)), min_size=1, max_size=3), label="at")
    )
    cutoffs = sorted(
        data.draw(
            st.lists(st.integers(0, 40 * 3600), min_size=len(points), max_size=len(points)),
            label="cutoffs (s after base)",
        )
    )
    events = _one_start_per_id(events)
    never = _engine(zone, Media.TV)
    live = _engine(zone, Media.TV)
    stored: list[AsRunEvent] = []
    cutoff = -(1 << 62)
    for n in range(len(events) + 1):
        while points and points[0] == n:
            points.pop(0)
            wanted = base + cutoffs.pop(0) * US_PER_S
            # Open items keep the cutoff at or before their start.
            opened = [i.start for i in live.book.items() if i.end is None and i.primary]
            cutoff = max(cutoff, min([wanted, *opened]))
            compacted = _engine(zone, Media.TV)
            # A lone cancel is dated when it is captured (the daemon's cutoff lies
            # a horizon before that); these streams have no arrival times, so
            # every cancel counts as recent and its mark outlives compactions.
            compacted.restore(live.capture(_RECENT), since=cutoff)
            live = compacted
        if n == len(events):
            break
        event = events[n]
        stored.append(event)
        if event.start is not None and event.start < cutoff:
            continue  # beyond the horizon: stored, not applied
        never.apply(event)
        if live.needs_history(event.event_id):
            # The store gives the versions of the live horizon (what was applied).
            history = [
                e
                for e in stored[:-1]
                if e.event_id == event.event_id and (e.start is None or e.start >= cutoff)
            ]
            live.hydrate(event.event_id, history)
        live.apply(event)
    floor = cutoff + LONGEST_US
    lo, hi = _span(zone)
    period = Period(lo, hi)
    kept = [w for w in live.windows(lo, hi, now=now, period=period) if w.window_start >= floor]
    whole = [w for w in never.windows(lo, hi, now=now, period=period) if w.window_start >= floor]
    _assert_same_windows(kept, whole)
    assert {k: v for k, v in _items(live).items() if v[0].start >= cutoff} == {
        k: v for k, v in _items(never).items() if v[0].start >= cutoff
    }
