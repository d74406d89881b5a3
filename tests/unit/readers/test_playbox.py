"""PlayBox AirBox playlists: a real day of BRIDGE TV, and playlists written from the layout."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from efir.core.event import AsRunEvent
from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import LineError, ReadOptions, Skipped
from efir.readers.classify import build_classifier
from efir.readers.registry import RECORD_READERS, detect_format, reader_for

DATA = Path(__file__).parents[2] / "data" / "playbox"
REAL = DATA / "2019_01_28_00_00_00.ply"
MOSCOW = ZoneInfo("Europe/Moscow")
ALMATY = ZoneInfo("Asia/Almaty")


def at(text: str, tz: ZoneInfo = MOSCOW) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=tz))


def _read(path: Path, **options: object) -> list[object]:
    opts = ReadOptions(timezone=options.pop("timezone", MOSCOW), **options)  # type: ignore[arg-type]
    return list(reader_for(path, None).read(path, opts))


def _write(tmp_path: Path, lines: list[str], name: str = "2026_12_01_06_00_00.ply") -> Path:
    path = tmp_path / name
    path.write_bytes("\r\n".join(lines).encode("windows-1251") + b"\r\n")
    return path


def _media(list_id: str, path: str, length: float, title: str, *extra: str) -> list[str]:
    return [
        f"#LISTID {list_id}",
        "#DYNAMICMEDIA FALSE",
        "#TYPE MPEG2 (48 kHz)",
        *extra,
        "#TC 0.00000",
        f'"{path}";0.00000;{length:.5f};;{title}',
    ]


def test_the_real_day_reads_every_item_on_its_date_and_skips_what_cannot_air() -> None:
    assert detect_format(REAL) == "playbox"
    got = _read(REAL)
    events = [e for e in got if isinstance(e, AsRunEvent)]
    skipped = Counter(s.reason for s in got if isinstance(s, Skipped))
    assert not [e for e in got if isinstance(e, LineError)]
    assert len(events) == 987  # 992 media lines, 5 marked #MISSING
    assert skipped["media missing when the playlist was saved: cannot air"] == 5
    assert skipped["WAITTO: a hold until a time of day"] == 1
    # The header names 29 January (the file was renamed 28): the header wins.
    first = events[0]
    assert (first.event_id, first.house_id, first.artist) == (
        "2064825075200",
        "collage_btv_2",
        "COLLAGE",
    )
    assert first.start == at("2019-01-29T00:00:00")
    assert first.duration == 60 * US_PER_S
    # Items run on: each starts where the one before ended, except at the hold.
    gaps = [
        (a, b)
        for a, b in itertools.pairwise(events)
        if b.start != a.start + a.duration  # type: ignore[operator]
    ]
    assert len(gaps) == 1
    before, after = gaps[0]
    assert after.start == at("2019-01-29T16:59:55")  # WAITTO 61195 s
    assert before.start + before.duration < after.start  # type: ignore[operator]
    assert len({e.event_id for e in events}) == len(events)
    last = events[-1]
    assert last.start + last.duration < at("2019-01-30T00:00:00")  # type: ignore[operator]


def test_folders_classify_commercials_through_raw_path() -> None:
    rule = {"when": {"raw.Path": {"regex": r"(?i)\\commercial\\"}}, "set": {"kind": "advertising"}}
    rules = build_classifier({"rules": [rule]}, "test")
    got = _read(REAL, classify=rules)
    ads = [e for e in got if isinstance(e, AsRunEvent) and str(e.kind) == "advertising"]
    assert len(ads) == 260
    # Counted by hand (a text search for the folder, mark-out minus mark-in summed).
    assert sum(e.duration or 0 for e in ads) == 4560 * US_PER_S


def test_a_hold_already_passed_starts_the_next_item_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            "#PLAYLISTTC 06:00:00:00",
            *_media("1", r"V:\News\n1.mpg", 1800, "News"),
            "#LISTID 2",
            "#EVENT WAITTO 22200.00000",  # 06:10: already past at 06:30
            *_media("3", r"V:\Film\f.mpg", 36000, "Film"),
            "#LISTID 4",
            "#EVENT WAITTO 3600.00000",  # 01:00, more than 12 h before 16:30: tomorrow
            *_media("5", r"V:\Night\n.mpg", 60, "Night"),
            "#LISTID 6",
            "#EVENT ShowLogoPreset 1;-500",
            "#MISSING",
            *_media("7", r"V:\Gone\g.mpg", 30, "Gone"),
        ],
    )
    news, _, film, _, night, logo, gone = _read(path, timezone=ALMATY)
    assert isinstance(news, AsRunEvent)
    assert news.start == at("2026-12-01T06:00:00", ALMATY)
    assert isinstance(film, AsRunEvent)
    assert film.start == at("2026-12-01T06:30:00", ALMATY)
    assert isinstance(night, AsRunEvent)
    assert night.start == at("2026-12-02T01:00:00", ALMATY)
    assert isinstance(logo, Skipped)
    assert isinstance(gone, Skipped)


def test_date_and_day_start_options_beat_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, [*_media("1", "a.mpg", 10, "A")], name="playlist.ply")
    (bad,) = _read(path, timezone=ALMATY)
    assert isinstance(bad, LineError)
    assert "--date" in str(bad)
    (item,) = _read(path, timezone=ALMATY, date=date(2027, 1, 1), day_start=time(6))
    assert isinstance(item, AsRunEvent)
    assert item.start == at("2027-01-01T06:00:00", ALMATY)


def test_bad_lines_are_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            "#PLAYLISTTC 00:00:00:00",
            '"a.mpg";x;10;;Broken',
            '"b.mpg";0;0;;Empty',
            "#EVENT WAITTO soon",
            '"c.mpg";0;10.5;;Fine',
            '"d.mpg";0;99999999;;Too long',
        ],
    )
    broken, empty, wait, fine, too_long = _read(path, timezone=ALMATY)
    assert isinstance(broken, LineError)
    assert broken.line == 2
    assert isinstance(empty, Skipped)
    assert isinstance(wait, LineError)
    assert isinstance(fine, AsRunEvent)
    assert fine.start == at("2026-12-01T00:00:00", ALMATY)
    assert fine.duration == 10_500_000
    assert isinstance(too_long, LineError)


def test_raw_keeps_the_directives_of_each_item() -> None:
    records = RECORD_READERS["playbox"].records(REAL, ReadOptions(timezone=MOSCOW))
    first = next(r for r in records if not isinstance(r, LineError | Skipped))
    assert first.raw["Performer"] == "COLLAGE"
    assert first.raw["ListId"] == "2064825075200"
    assert first.raw["Path"].endswith("collage_btv_2.mpg")


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 86399),
    items=st.lists(st.integers(1, 4 * 3600 * 25), min_size=1, max_size=25),
)
def test_any_playlist_written_reads_back_to_the_frame(
    tmp_path_factory: object, start: int, items: list[int]
) -> None:
    h, m, s = start // 3600, start // 60 % 60, start % 60
    lines = [f"#PLAYLISTTC {h:02d}:{m:02d}:{s:02d}:00"]
    for i, frames in enumerate(items):
        lines += _media(str(i), f"V:\\clips\\c{i}.mpg", frames / 25, f"Clip {i}")
    path = _write(tmp_path_factory.mktemp("ply"), lines)  # type: ignore[attr-defined]
    got = _read(path, timezone=ALMATY)
    running = at("2026-12-01T00:00:00", ALMATY) + start * US_PER_S
    for event, frames in zip(got, items, strict=True):
        assert isinstance(event, AsRunEvent)
        assert event.start == running
        assert event.duration == frames * US_PER_S // 25
        running += frames * US_PER_S // 25
