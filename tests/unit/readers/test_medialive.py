"""MediaLive as-run exports, written from the documented record: switches become items."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from efir.core.event import AsRunEvent
from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import LineError, ReadOptions, Skipped
from efir.readers.registry import detect_format, reader_for


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=UTC))


def _record(
    stamp: str,
    action: str,
    url: str = "",
    kind: str = "input_switch_initiated",
    *,
    as_text: bool = True,
) -> dict[str, object]:
    message = {
        "as_run_type": kind,
        "action_name": action,
        "input_id": "1234567",
        "timestamp": stamp,
        "url_path": url,
    }
    return {
        "@timestamp": stamp[:23].replace("T", " "),
        "@message": json.dumps(message) if as_text else message,
    }


def _read(tmp_path: Path, text: str) -> list[object]:
    path = tmp_path / "asrun.json"
    path.write_text(text, encoding="utf-8")
    assert detect_format(path) == "medialive"
    return list(reader_for(path, None).read(path, ReadOptions()))


def test_switches_become_items_in_time_order(tmp_path: Path) -> None:
    records = [
        _record("2026-12-01T10:05:00.250000", "news_PT30M", "s3://b/news/evening.mp4"),
        _record("2026-12-01T10:00:00.000000", "promo", "s3://b/promo/p1.mp4", as_text=False),
        _record("2026-12-01T10:00:00.000000", "promo", "s3://b/promo/p1.mp4"),  # the other pipeline
        _record("2026-12-01T10:01:00.000000", "scte", kind="scte35_splice_insert"),
        _record("2026-12-01T10:03:00", "live-studio"),
    ]
    got = _read(tmp_path, json.dumps(records[::-1]))  # newest first, as exports are
    events = sorted((e for e in got if isinstance(e, AsRunEvent)), key=lambda e: e.start or 0)
    skipped = Counter(s.reason for s in got if isinstance(s, Skipped))
    assert [e.title for e in events] == ["promo", "live-studio", "news_PT30M"]
    promo, live, news = events
    assert promo.start == at("2026-12-01T10:00:00")
    assert promo.duration == 180 * US_PER_S
    assert promo.house_id == "p1"
    assert live.house_id == "1234567"  # a live input: its id
    assert live.duration == 120 * US_PER_S + 250_000
    assert news.duration == 30 * 60 * US_PER_S  # the last switch: its name's duration
    assert skipped == {
        "the same switch logged again (the other pipeline)": 1,
        "as_run_type 'scte35_splice_insert': not an input switch": 1,
    }


def test_json_lines_and_a_last_switch_without_an_end(tmp_path: Path) -> None:
    lines = [
        json.dumps(_record("2026-12-01T10:00:00", "a")),
        "{broken",
        json.dumps(_record("2026-12-01T10:00:10", "b")),
        json.dumps(_record("not a time", "c")),
    ]
    got = _read(tmp_path, "\n".join(lines))
    kinds = Counter(type(g).__name__ for g in got)
    assert kinds == {"AsRunEvent": 1, "LineError": 2, "Skipped": 1}
    (event,) = [g for g in got if isinstance(g, AsRunEvent)]
    assert event.duration == 10 * US_PER_S
    errors = [g for g in got if isinstance(g, LineError)]
    assert sorted(e.line for e in errors) == [2, 4]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 4 * 3600 * US_PER_S), min_size=1, max_size=25, unique=True))
def test_any_switch_sequence_reads_back_to_the_microsecond(
    tmp_path_factory: object, offsets: list[int]
) -> None:
    base = datetime(2026, 12, 1, tzinfo=UTC)
    offsets = sorted(offsets)
    records = [
        _record(
            (base + timedelta(microseconds=o))
            .replace(tzinfo=None)
            .isoformat(timespec="microseconds"),
            f"a{i}",
        )
        for i, o in enumerate(offsets)
    ]
    got = _read(tmp_path_factory.mktemp("ml"), json.dumps(records))  # type: ignore[attr-defined]
    events = [e for e in got if isinstance(e, AsRunEvent)]
    assert len(events) == len(offsets) - 1  # the last has no end
    for event, (a, b) in zip(events, itertools.pairwise(offsets), strict=True):
        assert event.start == to_us(base) + a
        assert event.duration == b - a
