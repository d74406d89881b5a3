"""Pebble Beach Marina text as-run: a real excerpt, and rows written from the layout."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from efir.core.event import AsRunEvent, Layer
from efir.core.timebase import US_PER_S, to_us
from efir.readers import timecode
from efir.readers.base import LineError, ReadOptions, Record, Skipped
from efir.readers.marina import COLUMNS
from efir.readers.registry import RECORD_READERS, detect_format, reader_for

REAL = (
    Path(__file__).parents[2] / "data" / "marina" / "Tx List-Marina Text 20250701_055959 Marina.txt"
)
SANTIAGO = ZoneInfo("America/Santiago")
DF = Fraction(30000, 1001)
WIDTHS = [w for _, w in COLUMNS]
HEAD = [
    "Log Output - Marina Text AsRun v1.0",
    "Filename: 'test.txt'",
    "Channel: 'A) Tx List'",
    "From: 01/12/26 06:00:00 to 02/12/26 06:00:00",
    "Created : 01/12/26 06:00:19",
    "",
    " " + " ".join(n.ljust(w) for n, w in COLUMNS),
    " " + " ".join("-" * w for w in WIDTHS),
]


def _row(**cells: str) -> str:
    values = [cells.get(name.replace(" ", "_").lower(), "") for name, _ in COLUMNS]
    return " " + " ".join(v.ljust(w) for v, w in zip(values, WIDTHS, strict=True))


def _item(
    start: str, end: str, media: str, title: str, status: str = "Completed", **more: str
) -> list[str]:
    common = {"type": "P", "start_time": start, "end_time": end, "media_id": media, "title": title}
    return [
        _row(**common, event="Media Event", device_stream="A) CNN-P", status=status, **more),
        _row(
            **common,
            event="Switch Event",
            device_stream="MediaStream -> PGM",
            status=status,
            **more,
        ),
    ]


def _read(tmp_path: Path, rows: list[str]) -> list[object]:
    path = tmp_path / "marina.txt"
    path.write_text("\n".join([*HEAD, *rows]) + "\n", encoding="utf-8")
    assert detect_format(path) == "marina"
    return list(reader_for(path, None).read(path, ReadOptions(timezone=SANTIAGO)))


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=SANTIAGO))


def test_the_real_excerpt_reads_each_item_once() -> None:
    assert detect_format(REAL) == "marina"
    got = list(reader_for(REAL, None).read(REAL, ReadOptions(timezone=SANTIAGO)))
    events = [e for e in got if isinstance(e, AsRunEvent)]
    skipped = Counter(s.reason for s in got if isinstance(s, Skipped))
    assert not [e for e in got if isinstance(e, LineError)]
    # 25 data rows: 11 items logged twice, one live segment, three comments.
    assert len(events) == 12
    assert skipped == {"status 'Descheduled': did not air": 2, "status 'Missed': did not air": 1}
    first = events[0]
    assert (first.house_id, first.title) == ("ENT300625015", "TOLERANCIA B1TX 30-06-2025")
    # 05:27:33;17 is a drop-frame timecode at 29.97 frames per second.
    assert first.start == at("2025-07-01T00:00:00") + timecode.to_us("05:27:33;17", DF)
    assert first.duration == timecode.to_us("00:38:00;07", DF)  # END - START, as DURATION says
    live = next(e for e in events if e.title == "CNN PRIME")
    assert live.house_id is None
    assert live.start == at("2025-07-01T00:00:00") + timecode.to_us("20:00:11;05", DF)
    # Items follow each other to the frame: one item's end is the next one's start.
    for a, b in itertools.pairwise(events[:8]):
        assert a.start + a.duration == b.start  # type: ignore[operator]


def test_one_record_keeps_the_switch_row_and_the_player() -> None:
    records = [
        r
        for r in RECORD_READERS["marina"].records(REAL, ReadOptions(timezone=SANTIAGO))
        if isinstance(r, Record)
    ]
    first = records[0]
    assert first.raw["EVENT"] == "Switch Event"
    assert first.raw["DEVICE STREAM"] == "MediaStream -> PGM"
    assert first.raw["PLAYER"] == "A) CNN-P"
    assert first.raw["STATUS"] == "Completed"
    live = next(r for r in records if r.raw.get("TITLE") == "CNN PRIME")
    assert live.raw["STATUS"] == "Play Next"
    assert live.raw["DEVICE STREAM"] == "Evertz:Studio 1"


def test_statuses_types_lone_rows_and_overflowing_status(tmp_path: Path) -> None:
    d = "01/12/2026 "
    rows = [
        *_item(d + "10:00:00;00", d + "10:00:30;00", "COM1", "Spot", status="Lost XPoint Path"),
        *_item(d + "10:00:30;00", d + "10:00:50;00", "COM2", "Spot 2", status="Missed"),
        _row(
            type="S",
            start_time=d + "10:00:00;00",
            end_time=d + "10:00:50;00",
            media_id="LOGO",
            event="Media Event",
            status="Completed",
        ),
        _row(
            type="P",
            start_time=d + "10:00:50;00",
            end_time=d + "10:00:50;00",
            media_id="Z",
            event="Switch Event",
        ),
        _row(
            type="P",
            start_time="31/02/2026 10:00:00;00",
            end_time=d + "10:02:00;00",
            media_id="BAD",
            event="Switch Event",
        ),
        _row(
            type="P",
            start_time=d + "23:59:50;00",
            duration="00:00:20;00",
            media_id="NIGHT",
            event="Switch Event",
        ),
        _row(type="P", event="Comment", status="Completed"),
    ]
    lost, missed, logo, empty, bad, night, comment = _read(tmp_path, rows)
    assert isinstance(lost, AsRunEvent)  # the player ran; the status is kept
    assert lost.duration == timecode.to_us("00:00:30;00", DF)
    assert isinstance(missed, Skipped)
    assert isinstance(logo, AsRunEvent)
    assert logo.layer is Layer.SECONDARY
    assert isinstance(empty, Skipped)
    assert isinstance(bad, LineError)
    assert isinstance(night, AsRunEvent)
    assert night.duration == timecode.to_us("00:00:20;00", DF)
    assert isinstance(comment, Skipped)


def test_a_log_without_its_ruler_is_read_in_the_documented_columns(tmp_path: Path) -> None:
    d = "01/12/2026 "
    path = tmp_path / "marina.txt"
    lines = [*HEAD[:6], *_item(d + "10:00:00:00", d + "10:00:10:00", "A", "A")]
    path.write_text("\n".join(lines) + "\n")
    (event,) = list(reader_for(path, None).read(path, ReadOptions(timezone=SANTIAGO)))
    assert isinstance(event, AsRunEvent)
    assert event.duration == 10 * US_PER_S  # ':' frames: non-drop, 25 per second


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 20 * 3600 * 30),
    st.lists(st.integers(1, 3600 * 30), min_size=1, max_size=20),
)
def test_any_log_written_reads_back_to_the_frame(
    tmp_path_factory: object, start: int, lengths: list[int]
) -> None:
    rows, frame = [], start
    for i, length in enumerate(lengths):
        a, b = frame, frame + length
        day_a, day_b = (
            a // timecode.frames("24:00:00;00", DF),
            b // timecode.frames("24:00:00;00", DF),
        )
        per_day = timecode.frames("24:00:00;00", DF)
        stamp_a = f"{1 + day_a:02d}/12/2026 {timecode.to_timecode(a - day_a * per_day, DF)}"
        stamp_b = f"{1 + day_b:02d}/12/2026 {timecode.to_timecode(b - day_b * per_day, DF)}"
        rows += _item(stamp_a, stamp_b, f"M{i}", f"T{i}")
        frame = b
    got = _read(tmp_path_factory.mktemp("marina"), rows)  # type: ignore[attr-defined]
    frame = start
    midnight = at("2026-12-01T00:00:00")
    for event, length in zip(got, lengths, strict=True):
        assert isinstance(event, AsRunEvent)
        assert event.start == midnight + timecode.frames_to_us(frame, DF)
        end = midnight + timecode.frames_to_us(frame + length, DF)
        assert event.start + event.duration == end  # type: ignore[operator]
        frame += length
