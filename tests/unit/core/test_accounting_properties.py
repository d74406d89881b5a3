"""Property tests: the engine's per-window figures equal a brute-force reference.

Random event streams mix every phase, duplicates, corrections, cancels,
out-of-order delivery, secondary and bilingual items, and items crossing
window boundaries, in a zone with a change of offset (Almaty, 2024-02-29)
and one with DST (Amsterdam). Figures must agree within 1 ms (they agree to
float rounding in practice).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from efir.core.channel import ChannelProfile
from efir.core.engine import ChannelEngine, Period
from efir.core.event import INHERITABLE, AsRunEvent, Kind, Layer, Phase
from efir.core.rules import Media, RuleType
from efir.core.timebase import US_PER_S, to_us
from efir.rulepacks import load_pack
from tests.reference import count_in, final_items, share_figures, wall_windows

TOLERANCE_S = 1e-3
KZ = load_pack("kz")
# Every rule switched on, including unverified ones, and flags so all apply.
RULES = tuple(r for r in KZ.rules)
SCENARIOS = {
    "Asia/Almaty": datetime(2024, 2, 28, 20, 0),  # across the 25-hour day
    "Europe/Amsterdam": datetime(2024, 3, 30, 20, 0),  # across the spring-forward night
}
HORIZON_S = 40 * 3600

languages = st.sampled_from(["kk", "ru", "en", "zxx", None])
kinds = st.sampled_from(list(Kind))


@st.composite
def event_streams(draw: st.DrawFn) -> tuple[str, list[AsRunEvent], int]:
    zone = draw(st.sampled_from(sorted(SCENARIOS)))
    base = to_us(SCENARIOS[zone].replace(tzinfo=ZoneInfo(zone)))
    ids = [f"e{i}" for i in range(draw(st.integers(1, 14)))]
    events: list[AsRunEvent] = []
    for _ in range(draw(st.integers(1, 40))):
        if events and draw(st.integers(0, 9)) == 0:
            events.append(draw(st.sampled_from(events)))  # re-delivery
            continue
        phase = draw(st.sampled_from(list(Phase)))
        # Starts on a coarse grid (so items collide) plus microsecond jitter.
        start = base + draw(st.integers(0, HORIZON_S // 600)) * 600 * US_PER_S
        start += draw(st.sampled_from([0, 0, 0, 1, 499_999, 30 * US_PER_S]))
        duration = draw(st.sampled_from([1, 30, 90, 600, 3600, 7 * 3600])) * US_PER_S
        duration += draw(st.sampled_from([0, 0, 7]))
        given_fields = (
            frozenset(INHERITABLE) if phase != Phase.END or draw(st.booleans()) else frozenset()
        )
        kk_fraction = draw(st.sampled_from([None, None, None, 0.0, 0.3, 1.0]))
        event = AsRunEvent(
            channel="c",
            event_id=draw(st.sampled_from(ids)),
            phase=phase,
            start=None if phase == Phase.CANCEL else start,
            duration=duration if phase != Phase.START or draw(st.booleans()) else None,
            kind=draw(kinds),
            layer=Layer.SECONDARY if draw(st.integers(0, 7)) == 0 else Layer.PRIMARY,
            language=draw(languages),
            kk_fraction=kk_fraction,
            origin=draw(st.sampled_from(["domestic", "foreign", None])),
            retransmission=draw(st.integers(0, 5)) == 0,
            tags=frozenset(
                draw(
                    st.sets(
                        st.sampled_from(["news", "sign_language", "venue_advertising"]),
                        max_size=2,
                    )
                )
            ),
            seq=draw(st.sampled_from([None, None, 1, 2, 3])),
            given=given_fields,
        )
        if not given_fields:  # absent fields are defaults (AsRunEvent invariant)
            defaults = AsRunEvent(channel="c", event_id="x")
            event = event._replace(**{f: getattr(defaults, f) for f in INHERITABLE})
        events.append(event)
    now = base + draw(st.integers(0, HORIZON_S)) * US_PER_S
    return zone, events, now


def _engine(zone: str, media: Media) -> ChannelEngine:
    channel = ChannelProfile(
        "c",
        media=media,
        timezone=zone,
        flags=frozenset({"domestic", "obligatory"}),
        enable=frozenset(r.id for r in RULES),
    )
    return ChannelEngine(channel, RULES)


def _assert_same_windows(a: list, b: list) -> None:  # type: ignore[type-arg]
    """Two evaluations agree window by window (figures to a microsecond)."""
    assert [(w.rule, w.window_start, w.window_end, w.count, w.verdict) for w in a] == [
        (w.rule, w.window_start, w.window_end, w.count, w.verdict) for w in b
    ]
    for x, y in zip(a, b, strict=True):
        for field in ("numerator_s", "base_s", "unknown_s", "gap_s", "airtime_s"):
            fx, fy = getattr(x, field), getattr(y, field)
            assert (fx is None and fy is None) or abs(fx - fy) < 1e-6, field


def _compare(engine: ChannelEngine, events: list[AsRunEvent], zone: str, now: int | None) -> None:
    tz = ZoneInfo(zone)
    items = final_items(events)
    first_day = SCENARIOS[zone].replace(hour=0) - timedelta(days=1)
    lo = to_us(first_day.replace(tzinfo=tz))
    hi = lo + 4 * 24 * 3600 * US_PER_S
    results = {
        (w.rule, w.window_start): w for w in engine.windows(lo, hi, now=now, period=Period(lo, hi))
    }
    checked = 0
    for rt in engine.rules.values():
        rule = rt.rule
        if rule.scheme.daypart is not None or rule.scheme.grid.value not in (
            "hour",
            "six_hour",
            "day",
            "week",
        ):
            continue
        for ws, we in wall_windows(rule.scheme.grid.value, first_day, 4, tz):
            got = results.get((rule.id, ws))
            assert got is not None, f"{rule.id}: no window at {ws}"
            assert got.window_end == we
            if rule.is_share:
                ref = share_figures(items, rule, ws, we, now)
                assert abs(got.numerator_s - ref.numerator_us / US_PER_S) < TOLERANCE_S, rule.id
                assert abs(got.base_s - ref.base_us / US_PER_S) < TOLERANCE_S, rule.id
                assert abs(got.unknown_s - ref.unknown_us / US_PER_S) < TOLERANCE_S, rule.id
                assert abs(got.airtime_s - ref.airtime_us / US_PER_S) < TOLERANCE_S, rule.id
                # Gaps are measured on the elapsed part of the window inside the period.
                span = max(min(we, hi, now if now is not None else we) - max(ws, lo), 0)
                assert abs(got.gap_s - max(span - ref.airtime_us, 0) / US_PER_S) < TOLERANCE_S
            elif rule.type is RuleType.MIN_COUNT:
                assert got.count == count_in(items, rule, ws, we, now), rule.id
            checked += 1
    assert checked > 0


@given(event_streams(), st.sampled_from(list(Media)))
def test_window_figures_equal_reference(
    stream: tuple[str, list[AsRunEvent], int], media: Media
) -> None:
    """Per-window seconds, counts and gaps equal the brute-force model at any now."""
    zone, events, now = stream
    engine = _engine(zone, media)
    for event in events:
        engine.apply(event)
    _compare(engine, events, zone, now)


@given(event_streams())
def test_incremental_equals_from_scratch(stream: tuple[str, list[AsRunEvent], int]) -> None:
    """After every prefix, the incrementally updated engine equals a from-scratch evaluation."""
    zone, events, now = stream
    live = _engine(zone, Media.TV)
    tz = ZoneInfo(zone)
    lo = to_us((SCENARIOS[zone] - timedelta(days=1)).replace(tzinfo=tz))
    hi = lo + 4 * 24 * 3600 * US_PER_S
    for n, event in enumerate(events, start=1):
        live.apply(event)
        if n % 5 and n != len(events):
            continue
        fresh = _engine(zone, Media.TV)
        fresh.load(events[:n])  # from scratch: record all, resolve, one sweep
        _assert_same_windows(
            live.windows(lo, hi, now=now, period=Period(lo, hi)),
            fresh.windows(lo, hi, now=now, period=Period(lo, hi)),
        )


@given(event_streams())
def test_cancelling_everything_leaves_nothing(stream: tuple[str, list[AsRunEvent], int]) -> None:
    """Cancelling every item returns every accumulator to zero (no residue from deltas)."""
    zone, events, _ = stream
    engine = _engine(zone, Media.TV)
    for event in events:
        engine.apply(event)
    for event_id in {e.event_id for e in events}:
        engine.apply(AsRunEvent(channel="c", event_id=event_id, phase=Phase.CANCEL, seq=99))
    ledger = engine.ledger
    for scheme in (*ledger._win_secs, *ledger._win_cnts):
        for totals in scheme.values():
            assert all(v == 0 for v in totals.values())
    assert not ledger._line
    assert not ledger._eff
    assert not ledger._sec_keys


@given(event_streams())
def test_bulk_load_equals_one_by_one(stream: tuple[str, list[AsRunEvent], int]) -> None:
    """The audit's bulk path (record all, resolve, one sweep) equals applying events one by one."""
    zone, events, now = stream
    one = _engine(zone, Media.TV)
    for event in events:
        one.apply(event)
    bulk = _engine(zone, Media.TV)
    bulk.load(events)
    tz = ZoneInfo(zone)
    lo = to_us((SCENARIOS[zone] - timedelta(days=1)).replace(tzinfo=tz))
    hi = lo + 4 * 24 * 3600 * US_PER_S
    _assert_same_windows(
        one.windows(lo, hi, now=now, period=Period(lo, hi)),
        bulk.windows(lo, hi, now=now, period=Period(lo, hi)),
    )

    def resolved(engine: ChannelEngine) -> list[tuple[object, ...]]:
        # Profile ids depend on interning order; compare the profiles they stand for.
        profiles = engine.book.profiles.profiles
        return sorted((*item._replace(pid=0), profiles[item.pid]) for item in engine.book.items())

    assert resolved(one) == resolved(bulk)


@given(event_streams(), st.data())
def test_bulk_load_equals_applying_one_by_one_inside_a_clip(
    stream: tuple[str, list[AsRunEvent], int], data: st.DataObject
) -> None:
    """An audit's clipped ledger: the one-sweep load equals applying event by event."""
    zone, events, now = stream
    lo, hi = _span(zone)
    a = lo + data.draw(st.integers(0, 60), label="clip from (h)") * 3600 * US_PER_S
    b = a + data.draw(st.integers(0, 60), label="clip length (h)") * 3600 * US_PER_S + 1
    channel = ChannelProfile("c", timezone=zone, enable=frozenset(r.id for r in RULES))
    one = ChannelEngine(channel, RULES, clip=(a, b))
    for event in events:
        one.apply(event)
    bulk = ChannelEngine(channel, RULES, clip=(a, b))
    bulk.load(events)
    _assert_same_windows(
        one.windows(lo, hi, now=now, period=Period(lo, hi)),
        bulk.windows(lo, hi, now=now, period=Period(lo, hi)),
    )


def _span(zone: str) -> tuple[int, int]:
    lo = to_us((SCENARIOS[zone] - timedelta(days=1)).replace(tzinfo=ZoneInfo(zone)))
    return lo, lo + 4 * 24 * 3600 * US_PER_S
