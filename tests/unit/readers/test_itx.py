"""iTX text as-run, written from its documented layout: frames, hours past 23, types."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from efir.core.event import AsRunEvent, Layer
from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import LineError, ReadOptions, Skipped
from efir.readers.registry import detect_format, reader_for

ALMATY = ZoneInfo("Asia/Almaty")
LOG = (
    "12/1/2026-18:00:00.00|Video Clip|NEWS01|Жаңалықтар|00:29:59.15|00:00:00.00|00:29:59.15|u-1|\n"
    "12/1/2026-18:29:59.15|Logo|LOGO1|Logo|00:10:00.00|||u-2|\n"
    "12/1/2026-18:30:00.00|Comment|||00:00:00.00|||u-3|\n"
    "12/1/2026-24:10:00.000|Live|LIVE|Night live|01:00:00.500|||u-4|\n"
    "12/1/2026-25:00:00.00|GPI|||00:00:00.00|||u-5|\n"
    "13/1/2026-10:00:00.00|Live|X|Bad date|00:01:00.00|||u-6|\n"
)


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=ALMATY))


def _read(tmp_path: Path, text: str, **options: object) -> list[object]:
    path = tmp_path / "asrun.txt"
    path.write_text(text, encoding="utf-8")
    assert detect_format(path) == "itx"
    return list(reader_for(path, None).read(path, ReadOptions(timezone=ALMATY, **options)))  # type: ignore[arg-type]


def test_the_log_lines_with_frames_milliseconds_and_hours_past_23(tmp_path: Path) -> None:
    news, logo, comment, live, gpi, bad = _read(tmp_path, LOG)
    assert isinstance(news, AsRunEvent)
    assert (news.event_id, news.house_id, news.title) == ("u-1", "NEWS01", "Жаңалықтар")
    assert news.start == at("2026-12-01T18:00:00")
    assert news.duration == (29 * 60 + 59) * US_PER_S + 500_000  # 15 frames at 30 fps
    assert isinstance(logo, AsRunEvent)
    assert logo.layer is Layer.SECONDARY
    assert logo.start == at("2026-12-01T18:29:59.5")
    assert isinstance(comment, Skipped)
    assert isinstance(live, AsRunEvent)
    assert live.start == at("2026-12-02T00:10:00")  # hour 24: the next day
    assert live.duration == 3600 * US_PER_S + 500_000  # the millisecond variant
    assert isinstance(gpi, Skipped)
    assert isinstance(bad, LineError)
    assert bad.line == 6


def test_a_frame_rate_option_changes_what_a_frame_is(tmp_path: Path) -> None:
    (news, *_) = _read(tmp_path, LOG.splitlines()[0] + "\n", frame_rate=Fraction(25))
    assert isinstance(news, AsRunEvent)
    assert news.duration == (29 * 60 + 59) * US_PER_S + 600_000  # 15 frames at 25 fps


@settings(max_examples=80)
@given(
    st.lists(
        st.tuples(st.integers(0, 47 * 3600 - 1), st.integers(0, 29), st.integers(1, 7200)),
        min_size=1,
        max_size=20,
    )
)
def test_any_log_written_reads_back_to_the_frame(
    tmp_path_factory: object, items: list[tuple[int, int, int]]
) -> None:
    lines = []
    for i, (second, frame, length) in enumerate(items):
        h, m, s = second // 3600, second // 60 % 60, second % 60
        lines.append(
            f"12/1/2026-{h:02d}:{m:02d}:{s:02d}.{frame:02d}|Video Clip|H{i}|T{i}|"
            f"{length // 3600:02d}:{length // 60 % 60:02d}:{length % 60:02d}.00|||id{i}|"
        )
    path = tmp_path_factory.mktemp("itx") / "log.txt"  # type: ignore[attr-defined]
    path.write_text("\n".join(lines))
    got = list(reader_for(path, "itx").read(path, ReadOptions(timezone=ALMATY)))
    for e, (second, frame, length) in zip(got, items, strict=True):
        assert isinstance(e, AsRunEvent)
        assert e.start == at("2026-12-01T00:00:00") + second * US_PER_S + round(
            frame * US_PER_S / 30
        )
        assert e.duration == length * US_PER_S
