"""csv through a mapping: delimited and fixed width, a round trip to the frame, classification."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from efir.core.event import AsRunEvent
from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import LineError, ReadOptions
from efir.readers.classify import ClassifyError, load_classifier
from efir.readers.delimited import MappingError, load_mapping
from efir.readers.registry import reader_for
from efir.readers.timecode import frames_to_us, to_timecode

ALMATY = ZoneInfo("Asia/Almaty")
CSV_MAPPING = {
    "delimiter": ";",
    "fields": {
        "start": {"column": ["Date", "Time"], "format": "%d.%m.%Y %H:%M:%S"},
        "end": {"column": "End", "format": "%H:%M:%S", "inclusive": True},
        "kind": {"column": "Type", "map": {"COM": "advertising", "PRG": "program"}},
        "title": "Title",
        "house_id": "House",
        "language": "Lang",
    },
}


def _read(path: Path, mapping: dict[str, object], **options: object) -> list[object]:
    opts = ReadOptions(timezone=ALMATY, mapping=mapping, **options)  # type: ignore[arg-type]
    return list(reader_for(path, "csv").read(path, opts))


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=ALMATY))


def test_a_delimited_log_with_an_inclusive_end_and_a_kind_map(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "Date;Time;End;Type;Title;House;Lang\n"
        "01.12.2026;23:50:00;00:09:59;PRG;Tүнгі жаңалықтар;P1;kk\n"
        "02.12.2026;00:10:00;00:10:29;COM;Spot;C7;ru\n"
        "02.12.2026;xx;00:10:29;COM;Bad;C8;ru\n",
        encoding="utf-8",
    )
    news, spot, bad = _read(path, CSV_MAPPING)
    assert isinstance(news, AsRunEvent)
    assert news.start == at("2026-12-01T23:50:00")
    assert news.duration == 20 * 60 * US_PER_S  # ran past midnight, end second inclusive
    assert (str(news.kind), news.language, news.title) == ("program", "kk", "Tүнгі жаңалықтар")
    assert isinstance(spot, AsRunEvent)
    assert str(spot.kind) == "advertising"
    assert isinstance(bad, LineError)
    assert bad.line == 4


def test_a_fixed_width_log_in_windows_1251_with_timecodes(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    rows = [
        "2026-12-01 10:00:00:00 00:00:30:12 Жарнама   ",
        "2026-12-01 10:00:30:12 00:29:29:13 Хабар     ",
    ]
    path.write_bytes("\n".join(rows).encode("windows-1251"))
    mapping = {
        "layout": "fixed",
        "encoding": "windows-1251",
        "frame_rate": "25",
        "widths": [["date", 11], ["tc", 12], ["dur", 12], ["title", 10]],
        "fields": {
            "start": {"column": "tc", "format": "timecode"},
            "duration": {"column": "dur", "unit": "timecode"},
            "title": "title",
        },
    }
    ad, show = _read(path, mapping, date=datetime(2026, 12, 1).date())
    assert isinstance(ad, AsRunEvent)
    assert ad.title == "Жарнама"
    assert ad.duration == 30 * US_PER_S + 480_000
    assert isinstance(show, AsRunEvent)
    assert show.start == at("2026-12-01T10:00:30.480")
    assert str(show.kind) == "program"  # no kind given: a programme


def test_a_mapping_that_cannot_work_is_refused_plainly() -> None:
    with pytest.raises(MappingError, match="`start`"):
        load_mapping({"fields": {"title": "T"}})
    with pytest.raises(MappingError, match="widths"):
        load_mapping({"layout": "fixed", "fields": {"start": "a"}})
    with pytest.raises(MappingError, match="encoding"):
        load_mapping({"encoding": "nope-1", "fields": {"start": "a"}})


_KINDS = st.sampled_from(["program", "advertising", "promo", "ident"])


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(st.integers(0, 3 * 25 * 3600), st.integers(1, 25 * 3600), _KINDS),
        min_size=1,
        max_size=30,
    )
)
def test_any_stream_written_with_timecodes_reads_back_to_the_frame(
    tmp_path_factory: pytest.TempPathFactory, items: list[tuple[int, int, str]]
) -> None:
    rate = Fraction(25)
    day = datetime(2026, 12, 1, tzinfo=ALMATY)
    lines = ["date,start,duration,kind,id"]
    for i, (begin, length, kind) in enumerate(items):
        start = begin % (24 * 3600 * 25)
        lines.append(
            f"{day:%Y-%m-%d},{to_timecode(start, rate)},{to_timecode(length, rate)},{kind},E{i}"
        )
    path = tmp_path_factory.mktemp("rt") / "log.csv"
    path.write_text("\n".join(lines))
    mapping = {
        "frame_rate": "25",
        "fields": {
            "start": {"column": "start", "format": "timecode"},
            "duration": {"column": "duration", "unit": "timecode"},
            "kind": "kind",
            "event_id": "id",
        },
    }
    got = _read(path, mapping, date=day.date())
    assert all(isinstance(e, AsRunEvent) for e in got)
    for e, (begin, length, kind) in zip(got, items, strict=True):
        start = begin % (24 * 3600 * 25)
        assert e.start == to_us(day) + frames_to_us(start, rate)  # type: ignore[union-attr]
        assert e.duration == frames_to_us(length, rate)  # type: ignore[union-attr]
        assert str(e.kind) == kind  # type: ignore[union-attr]


def _classify(tmp_path: Path, rules: object) -> object:
    path = tmp_path / "classify.yaml"
    path.write_text(yaml.safe_dump(rules, allow_unicode=True))
    return load_classifier(path)


def test_classification_first_match_wins_and_sets_only_what_is_missing(tmp_path: Path) -> None:
    classifier = _classify(
        tmp_path,
        {
            "default": {"language": "ru"},
            "rules": [
                {"when": {"house_id": {"prefix": "C"}}, "set": {"kind": "advertising"}},
                {
                    "when": {"raw.Lang": {"equals": "kk"}},
                    "set": {"language": "kk", "origin": "domestic"},
                },
                {"when": {"any": {"regex": "(?i)жаңалық"}}, "set": {"tags": ["news"]}},
            ],
        },
    )
    path = tmp_path / "log.csv"
    path.write_text(
        "Date;Time;End;Type;Title;House;Lang\n"
        "01.12.2026;10:00:00;10:29:59;;Жаңалықтар;P1;kk\n"
        "01.12.2026;10:30:00;10:30:29;PRG;Spot;C7;\n",
        encoding="utf-8",
    )
    mapping = dict(CSV_MAPPING)
    mapping["fields"] = {k: v for k, v in CSV_MAPPING["fields"].items() if k != "language"}  # type: ignore[attr-defined]
    news, spot = _read(path, mapping, classify=classifier)
    assert isinstance(news, AsRunEvent)
    assert isinstance(spot, AsRunEvent)
    assert (news.language, news.origin, str(news.kind)) == ("kk", "domestic", "program")
    assert news.tags == frozenset()  # the second rule matched first
    assert str(spot.kind) == "program"  # the file's kind stays: rules set only what is missing
    assert spot.language == "ru"  # the default
    report = classifier.report()  # type: ignore[attr-defined]
    assert [r["records"] for r in report["rules"]] == [0, 1, 0]
    assert report["default"]["records"] == 1


def test_a_classification_file_that_cannot_work_names_the_rule(tmp_path: Path) -> None:
    with pytest.raises(ClassifyError, match="rule 1"):
        _classify(
            tmp_path,
            {
                "rules": [
                    {"when": {"title": {"prefix": "A", "regex": "B"}}, "set": {"kind": "promo"}}
                ]
            },
        )
    with pytest.raises(ClassifyError, match="sets only"):
        _classify(
            tmp_path, {"rules": [{"when": {"title": {"equals": "A"}}, "set": {"start": "x"}}]}
        )
    with pytest.raises(ClassifyError, match="regular expression"):
        _classify(
            tmp_path, {"rules": [{"when": {"title": {"regex": "("}}, "set": {"kind": "promo"}}]}
        )
    (tmp_path / "bad.yaml").write_text("rules: [\n")
    with pytest.raises(ClassifyError, match="not valid YAML"):
        load_classifier(tmp_path / "bad.yaml")
