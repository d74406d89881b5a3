"""ffplayout JSON playlists, written from the documented layout."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from efir.core.event import AsRunEvent, Kind
from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import LineError, ReadOptions, Skipped
from efir.readers.registry import detect_format, reader_for

ALMATY = ZoneInfo("Asia/Almaty")
#: The playlist of ffplayout's documentation, with the optional begin of older versions.
PLAYLIST = {
    "channel": "Channel 1",
    "date": "2026-12-01",
    "program": [
        {"in": 0, "out": 647.68, "duration": 647.68, "source": "/Media/clip1.mp4"},
        {"in": 0, "out": 149, "duration": 149, "source": "/Media/clip2.mp4"},
        {
            "in": 0,
            "out": 114.72,
            "duration": 114.72,
            "source": "/Media/clip3.mp4",
            "category": "advertisement",
        },
        {
            "in": 10,
            "out": 2531.36,
            "duration": 2531.36,
            "source": "/Media/clip4.mp4",
            "category": "",
        },
    ],
}


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=ALMATY))


def _read(
    tmp_path: Path, doc: object, name: str = "playlist.json", **options: object
) -> list[object]:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=4), encoding="utf-8")
    return list(reader_for(path, None).read(path, ReadOptions(timezone=ALMATY, **options)))  # type: ignore[arg-type]


def test_the_documented_playlist_runs_on_from_midnight(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps(PLAYLIST, indent=4))
    assert detect_format(path) == "ffplayout"
    path.write_text(json.dumps(PLAYLIST))  # on one line: still not JSON lines
    assert detect_format(path) == "ffplayout"
    one, two, ad, four = _read(tmp_path, PLAYLIST)
    assert isinstance(one, AsRunEvent)
    assert one.start == at("2026-12-01T00:00:00")
    assert one.duration == 647_680_000
    assert one.house_id == "clip1"
    assert isinstance(two, AsRunEvent)
    assert two.start == one.start + 647_680_000
    assert isinstance(ad, AsRunEvent)
    assert ad.kind is Kind.ADVERTISING
    assert isinstance(four, AsRunEvent)
    assert four.kind is Kind.PROGRAM  # the default kind: the category says nothing
    assert four.duration == 2_521_360_000  # out minus in
    assert len({e.event_id for e in (one, two, ad, four)}) == 4  # type: ignore[union-attr]


def test_begin_day_start_and_date(tmp_path: Path) -> None:
    doc = {**PLAYLIST, "begin": "06:00:00.000"}
    first = _read(tmp_path, doc)[0]
    assert isinstance(first, AsRunEvent)
    assert first.start == at("2026-12-01T06:00:00")
    first = _read(tmp_path, doc, day_start=time(5, 59, 25))[0]
    assert isinstance(first, AsRunEvent)
    assert first.start == at("2026-12-01T05:59:25")
    undated = {k: v for k, v in PLAYLIST.items() if k != "date"}
    first = _read(tmp_path, undated, name="2027-01-01.json")[0]
    assert isinstance(first, AsRunEvent)
    assert first.start == at("2027-01-01T00:00:00")
    first = _read(tmp_path, PLAYLIST, date=date(2027, 1, 2))[0]
    assert isinstance(first, AsRunEvent)
    assert first.start == at("2027-01-02T00:00:00")
    (error,) = _read(tmp_path, undated)
    assert isinstance(error, LineError)
    assert "--date" in str(error)


def test_bad_items_are_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    doc = {
        "channel": "c",
        "date": "2026-12-01",
        "program": [
            "not an item",
            {"in": 0, "out": "x", "source": "a.mp4"},
            {"in": 5, "out": 5, "source": "b.mp4"},
            {"in": 0, "out": 60, "source": "c.mp4", "title": "Жаңалықтар"},
        ],
    }
    text, bad, empty, fine = _read(tmp_path, doc)
    assert isinstance(text, LineError)
    assert text.element == "program[0]"
    assert isinstance(bad, LineError)
    assert bad.element == "program[1]"
    assert isinstance(empty, Skipped)
    assert isinstance(fine, AsRunEvent)
    assert fine.title == "Жаңалықтар"
    assert fine.start == at("2026-12-01T00:00:00")  # refused items take no time


def test_a_document_that_is_not_a_playlist_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b'{"program": ' + b"[" * 100_000 + b"]" * 100_000 + b', "date": "x"}')
    (got,) = list(reader_for(path, "ffplayout").read(path, ReadOptions()))
    assert isinstance(got, LineError)
    assert got.code == "malformed_json"
    path.write_text(json.dumps({"date": "2026-12-01", "program": {"in": 0}}))
    (got,) = list(reader_for(path, "ffplayout").read(path, ReadOptions()))
    assert isinstance(got, LineError)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3600 * 25), st.integers(1, 4 * 3600 * 25)), min_size=1, max_size=25
    )
)
def test_any_playlist_written_reads_back_to_the_frame(
    tmp_path_factory: object, items: list[tuple[int, int]]
) -> None:
    program = [
        {"in": mark / 25, "out": (mark + length) / 25, "duration": 99999, "source": f"/m/{i}.mp4"}
        for i, (mark, length) in enumerate(items)
    ]
    got = _read(tmp_path_factory.mktemp("ff"), {"date": "2026-12-01", "program": program})  # type: ignore[attr-defined]
    running = at("2026-12-01T00:00:00")
    for event, (_, length) in zip(got, items, strict=True):
        assert isinstance(event, AsRunEvent)
        assert event.start == running
        assert event.duration == length * US_PER_S // 25
        running += length * US_PER_S // 25
