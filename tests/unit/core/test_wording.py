"""One way to write windows, durations and deadlines (terminal, API advice, board, alerts)."""

from __future__ import annotations

from dataclasses import replace

from efir.core.result import WindowResult
from efir.core.status import Status
from efir.core.wording import advice, duration, instant, span, window_words
from tests.helpers import ALMATY, at


def test_durations() -> None:
    assert [duration(s) for s in (0, 45, 60, 2820, 7800, 90 * 3600 + 540)] == [
        "0 s",
        "45 s",
        "1 min",
        "47 min",
        "2 h 10 min",
        "3 d 18 h 09 min",
    ]


def test_a_deadline_not_today_carries_its_weekday_and_date() -> None:
    now = at(2026, 11, 18, 4, 0)  # a Wednesday
    assert instant(at(2026, 11, 18, 17, 12), ALMATY, now) == "17:12"
    assert instant(at(2026, 11, 20, 5, 50), ALMATY, now) == "Fri 2026-11-20 05:50"
    assert instant(at(2026, 11, 20, 5, 50), ALMATY) == "Fri 2026-11-20 05:50"


def test_windows_are_written_one_way() -> None:
    assert span(at(2026, 11, 22, 12), at(2026, 11, 22, 18), ALMATY) == "12:00-18:00 on 2026-11-22"
    assert span(at(2026, 11, 22, 18), at(2026, 11, 23, 0), ALMATY) == "18:00-24:00 on 2026-11-22"
    assert (
        span(at(2026, 11, 22), at(2026, 11, 23), ALMATY) == "the day 2026-11-22"
    )  # not 00:00-00:00
    week = span(at(2026, 11, 16), at(2026, 11, 23), ALMATY)
    assert week == "the week 2026-11-16 to 2026-11-22"


def _week_window() -> WindowResult:
    return WindowResult(
        rule="lang_week",
        window_start=at(2026, 11, 16),
        window_end=at(2026, 11, 23),
        numerator_s=0.0,
        base_s=0.0,
        unknown_s=0.0,
        gap_s=0.0,
        airtime_s=0.0,
        share=None,
        threshold=0.55,
        transitional=False,
        verdict=None,
        status=Status.AT_RISK,
        needed_s=90 * 3600 + 540,
        slack_s=0.0,
        deadline=at(2026, 11, 20, 5, 50),
    )


def test_advice_and_alert_texts_name_the_day_of_a_later_deadline() -> None:
    now = at(2026, 11, 18, 4, 33)
    w = _week_window()
    text = advice(w, ALMATY, now)
    assert text == (
        "air 3 d 18 h 09 min more of qualifying content, starting by Fri 2026-11-20 05:50, "
        "or the week 2026-11-16 to 2026-11-22 is lost"
    )
    assert window_words(w, ALMATY) == "the week 2026-11-16 to 2026-11-22"
    today = replace(w, deadline=at(2026, 11, 18, 17, 12), needed_s=2820.0)
    assert "starting by 17:12, or" in advice(today, ALMATY, now)
