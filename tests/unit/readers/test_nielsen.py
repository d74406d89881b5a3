"""nielsen-nl on the real Omroep Brabant files: kinds, the broadcast day past midnight, ads."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from efir.core.event import AsRunEvent
from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import ReadOptions
from efir.readers.registry import detect_format, reader_for

DATA = Path(__file__).resolve().parents[2] / "data" / "omroep-brabant"
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
OPTIONS = ReadOptions(timezone=AMSTERDAM)


def _events(name: str) -> list[AsRunEvent]:
    path = DATA / name
    out = list(reader_for(path, None).read(path, OPTIONS))
    assert all(isinstance(e, AsRunEvent) for e in out), [
        e for e in out if not isinstance(e, AsRunEvent)
    ][:3]
    return out  # type: ignore[return-value]


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=AMSTERDAM))


def test_both_files_are_detected_as_nielsen() -> None:
    assert detect_format(DATA / "AR20240617.tvbrab") == "nielsen-nl"
    assert detect_format(DATA / "BR20240617.tvbrab") == "nielsen-nl"


def test_the_as_run_has_every_row_with_its_kind() -> None:
    events = _events("AR20240617.tvbrab")
    assert len(events) == 484
    kinds = Counter(str(e.kind) for e in events)
    assert kinds == {"program": 121, "promo": 254, "ident": 79, "advertising": 30}
    assert {e.channel for e in events} == {"ob"}
    assert len({e.event_id for e in events}) == 484  # stable, distinct ids


def test_the_broadcast_day_runs_past_midnight_on_the_right_dates() -> None:
    events = _events("AR20240617.tvbrab")
    first = min(events, key=lambda e: e.start or 0)
    assert first.start == at("2024-06-17T02:00:00")
    # The break written 235618 to 240015 (inclusive) ends fifteen seconds into the 18th.
    brk = next(e for e in events if e.start == at("2024-06-17T23:56:18"))
    assert str(brk.kind) == "advertising"
    assert brk.duration == 238 * US_PER_S
    after = [e for e in events if (e.start or 0) >= at("2024-06-18T00:00:00")]
    assert after, "rows of hours 24 and later are on the next calendar date"
    last = max(events, key=lambda e: e.start or 0)
    assert (last.start or 0) < at("2024-06-18T02:00:00")  # the pivot hour closes the day


def _ad_seconds(events: list[AsRunEvent], lo: int, hi: int) -> float:
    total = 0
    for e in events:
        if str(e.kind) != "advertising" or e.start is None or e.duration is None:
            continue
        total += max(0, min(hi, e.start + e.duration) - max(lo, e.start))
    return total / US_PER_S


def test_ad_seconds_per_evening_hour_equal_a_count_by_hand() -> None:
    events = _events("AR20240617.tvbrab")
    # By hand from the BREAK rows (EndTime inclusive, so +1 s each):
    # 18h: 181255-181556 182, 182726-183017 172, 184034-184223 110, 185606-190008 up to 19:00 234
    assert _ad_seconds(events, at("2024-06-17T18:00"), at("2024-06-17T19:00")) == 698
    # 19h: the last 9 s of that break, 191240-191541 182, 192711-193001 171,
    # 194019-194209 111, 195551-195953 243
    assert _ad_seconds(events, at("2024-06-17T19:00"), at("2024-06-17T20:00")) == 716


def test_the_planned_schedule_reads_with_its_begin_time_column() -> None:
    events = _events("BR20240617.tvbrab")
    assert events
    night = next(e for e in events if e.title == "NACHTPROGRAMMERING")
    assert night.start == at("2024-06-17T02:00:00")
    assert night.duration == 5 * 3600 * US_PER_S  # 020000 to 065959 inclusive
    raw_kinds = Counter(str(e.kind) for e in events)
    assert raw_kinds["program"] > 0
