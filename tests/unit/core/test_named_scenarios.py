"""Named scenarios from the engine issue: calendar edge cases and counting semantics."""

from __future__ import annotations

from datetime import date

import pytest

from efir.core.engine import Period
from efir.core.status import Status
from efir.core.timebase import US_PER_S, format_local
from tests.helpers import ALMATY, at, by_rule, engine, ev

H = 3600


def test_25_hour_day_2024_02_29_almaty() -> None:
    """Almaty's 2024-02-29 lasted 25 h; its 18:00-24:00 interval 7 h and 23:00 hour 2 h."""
    eng = engine()
    start = at(2024, 2, 29, 0, 0)
    # One continuous Kazakh programme over the whole real day (25 h).
    eng.apply(ev("day", start, 25 * H))
    end = start + 25 * H * US_PER_S
    period = Period(start, end)
    results = eng.windows(start, end, now=end, period=period)
    six = by_rule(results, "lang_6h")
    assert [round((w.window_end - w.window_start) / US_PER_S / H, 6) for w in six] == [6, 6, 6, 7]
    last = six[-1]
    assert format_local(last.window_start, ALMATY) == "2024-02-29T18:00:00+06:00"
    assert format_local(last.window_end, ALMATY) == "2024-03-01T00:00:00+05:00"
    assert last.base_s == 7 * H
    assert last.gap_s == 0
    day = by_rule(results, "ads_day")
    assert len(day) == 1
    assert day[0].window_end - day[0].window_start == 25 * H * US_PER_S
    evening = eng.ledger.windows(eng.rules["ads_evening_hour"].scheme, start, end)
    # 18:00 .. 22:00 hours last one hour each (the long hour is 23:00, outside 18-23).
    assert [(e - s) // (US_PER_S * H) for s, e in evening] == [1, 1, 1, 1, 1]


def test_23_00_hour_of_the_long_day_lasts_two_hours() -> None:
    """The repeated local hour 23:00 on 2024-02-29 is one hour window lasting 2 real hours."""
    from efir.core.calendar import Calendar, Grid, Scheme  # noqa: PLC0415

    cal = Calendar(ALMATY, [Scheme(Grid.HOUR)])
    atoms = cal.atoms_of_day(date(2024, 2, 29))
    assert len(atoms) == 24
    assert atoms[-1].end - atoms[-1].start == 2 * H * US_PER_S


def test_week_28_dec_2026_to_3_jan_2027_is_transitional_at_60_percent() -> None:
    """The week spanning 1 January 2027 uses the strictest threshold (60 %) and says so."""
    eng = engine()
    monday = at(2026, 12, 28, 0, 0)
    eng.apply(ev("a", monday, 7 * 24 * H * 0.58, language="kk"))
    eng.apply(
        ev("b", monday + round(7 * 24 * H * 0.58 * US_PER_S), 7 * 24 * H * 0.42, language="ru")
    )
    end = at(2027, 1, 4, 0, 0)
    week = by_rule(eng.windows(monday, end, now=end, period=Period(monday, end)), "lang_week")
    assert len(week) == 1
    assert week[0].threshold == 0.60
    assert week[0].transitional is True
    assert week[0].share == pytest.approx(0.58)
    assert week[0].verdict is Status.VIOLATION  # 58 % passes 55 %, fails 60 %


def test_transitional_policies_start_and_end() -> None:
    """Policies `start` and `end` pick the threshold at the window's start or end."""
    from dataclasses import replace  # noqa: PLC0415

    from efir.core.rules import TransitionalPolicy  # noqa: PLC0415
    from tests.helpers import KZ  # noqa: PLC0415

    rule = KZ.rule("lang_week")
    midnight = {date(2025, 1, 1): at(2025, 1, 1, 0, 0), date(2027, 1, 1): at(2027, 1, 1, 0, 0)}
    ws, we = at(2026, 12, 28, 0, 0), at(2027, 1, 4, 0, 0)
    start = replace(rule, transitional=TransitionalPolicy.START)
    end = replace(rule, transitional=TransitionalPolicy.END)
    assert start.threshold_for(ws, we, midnight.__getitem__) == (0.55, True)
    assert end.threshold_for(ws, we, midnight.__getitem__) == (0.60, True)


def test_1_january_2025_threshold_step() -> None:
    """The six-hour interval before 2025 uses 50 %, the first one of 2025 uses 55 %."""
    eng = engine()
    lo, hi = at(2024, 12, 31, 18, 0), at(2025, 1, 1, 6, 0)
    eng.apply(ev("x", lo, 12 * H, language="kk"))
    six = by_rule(eng.windows(lo, hi, now=hi, period=Period(lo, hi)), "lang_6h")
    assert [(w.threshold, w.transitional) for w in six] == [(0.50, False), (0.55, False)]
    week = by_rule(eng.windows(lo, hi, now=hi), "lang_week")
    assert week[0].threshold == 0.55
    assert week[0].transitional is True


def test_item_spanning_midnight_and_week_boundary_is_split() -> None:
    """Sunday 23:30 - Monday 00:30 puts 30 min in each day and each week."""
    eng = engine()
    start = at(2026, 1, 11, 23, 30)  # Sunday
    eng.apply(ev("x", start, H))
    lo, hi = at(2026, 1, 5, 0, 0), at(2026, 1, 19, 0, 0)
    results = eng.windows(lo, hi, now=hi, period=Period(lo, hi))
    days = {w.window_start: w.airtime_s for w in by_rule(results, "ads_day") if w.airtime_s}
    assert days == {at(2026, 1, 11, 0, 0): 1800, at(2026, 1, 12, 0, 0): 1800}
    weeks = {w.window_start: w.base_s for w in by_rule(results, "lang_week") if w.base_s}
    assert weeks == {at(2026, 1, 5, 0, 0): 1800, at(2026, 1, 12, 0, 0): 1800}


def test_zxx_is_outside_the_language_base_and_unknown_counts_against() -> None:
    """`zxx` leaves numerator and base; unknown language stays in the base, reported apart."""
    eng = engine()
    t = at(2026, 3, 2, 0, 0)
    eng.apply(ev("kk", t, 3 * H, language="kk"))
    eng.apply(ev("music", t + 3 * H * US_PER_S, H, language="zxx"))
    eng.apply(ev("unknown", t + 4 * H * US_PER_S, 2 * H, language=None))
    end = t + 6 * H * US_PER_S
    (w,) = by_rule(eng.windows(t, end, now=end, period=Period(t, end)), "lang_6h")
    assert (w.numerator_s, w.base_s, w.unknown_s, w.airtime_s) == (3 * H, 5 * H, 2 * H, 6 * H)
    assert w.share == pytest.approx(0.6)
    assert w.verdict is Status.COMPLIES


def test_kk_fraction_counts_its_share_and_overrides_language() -> None:
    """A bilingual item with kk_fraction 0.3 adds 30 % of its time to the numerator, even if `zxx`."""
    eng = engine()
    t = at(2026, 3, 2, 6, 0)
    eng.apply(ev("bi", t, 2 * H, language="zxx", kk_fraction=0.3))
    eng.apply(ev("ru", t + 2 * H * US_PER_S, 4 * H, language="ru"))
    end = t + 6 * H * US_PER_S
    (w,) = by_rule(eng.windows(t, end, now=end, period=Period(t, end)), "lang_6h")
    assert w.numerator_s == pytest.approx(0.6 * H)
    assert w.base_s == 6 * H
    assert w.unknown_s == 0


def test_ad_break_across_18_00_counts_90_s_in_the_evening_hour() -> None:
    """Ads 17:59:30-18:01:30: 30 s fall before the evening rule, 90 s in its 18:00 hour."""
    eng = engine()
    t = at(2026, 3, 2, 17, 0)
    eng.apply(ev("p1", t, 59 * 60 + 30))
    eng.apply(ev("ads", at(2026, 3, 2, 17, 59, 30), 120, "advertising", language="ru"))
    eng.apply(ev("p2", at(2026, 3, 2, 18, 1, 30), 58 * 60 + 30))
    lo, hi = at(2026, 3, 2, 0, 0), at(2026, 3, 3, 0, 0)
    results = eng.windows(lo, hi, now=hi, period=Period(t, at(2026, 3, 2, 19, 0)))
    evening = by_rule(results, "ads_evening_hour")
    assert evening[0].window_start == at(2026, 3, 2, 18, 0)
    assert evening[0].numerator_s == 90
    assert evening[0].base_s == H
    assert all(w.window_start >= at(2026, 3, 2, 18, 0) for w in evening)
    day = by_rule(results, "ads_day")
    assert day[0].numerator_s == 120
    six = by_rule(results, "lang_6h")
    by_start = {w.window_start: w for w in six}
    assert by_start[at(2026, 3, 2, 12, 0)].base_s == H - 30  # ad seconds leave the base
    assert by_start[at(2026, 3, 2, 18, 0)].base_s == H - 90


def test_overlap_later_start_cuts_earlier_and_equal_start_newest_wins() -> None:
    """A later-starting item cuts the earlier one; of equal starts the newest version wins."""
    eng = engine()
    t = at(2026, 3, 2, 0, 0)
    eng.apply(ev("long", t, 4 * H, language="ru"))
    eng.apply(ev("cut", t + H * US_PER_S, 1800, language="kk"))  # long is cut at 01:00
    eng.apply(ev("same-old", t + 3 * H * US_PER_S, 600, language="ru"))
    eng.apply(ev("same-new", t + 3 * H * US_PER_S, 300, language="kk"))
    end = t + 6 * H * US_PER_S
    (w,) = by_rule(eng.windows(t, end, now=end, period=Period(t, end)), "lang_6h")
    assert w.airtime_s == H + 1800 + 300
    assert w.numerator_s == 1800 + 300
    assert w.gap_s == 6 * H - (H + 1800 + 300)


def test_live_status_min_share_gives_needed_slack_and_deadline() -> None:
    """At 15:00 with 3 h aired 1 h Kazakh, 55 % of 6 h needs 2.3 h more, deadline 15:42."""
    eng = engine()
    t = at(2026, 3, 2, 12, 0)
    eng.apply(ev("kk", t, H, language="kk"))
    eng.apply(ev("ru", t + H * US_PER_S, 2 * H, language="ru"))
    now = at(2026, 3, 2, 15, 0)
    (w,) = by_rule(eng.status(now), "lang_6h")
    assert w.needed_s == pytest.approx(0.55 * 6 * H - H)  # 2.3 h
    assert w.slack_s == pytest.approx(3 * H - 2.3 * H)
    assert w.deadline == now + round(0.7 * H * US_PER_S)
    assert format_local(w.deadline, ALMATY) == "2026-03-02T15:42:00+05:00"
    assert w.status is Status.AT_RISK  # needs 2.3 h of the 3 h left: 77 %, between 55 % and 90 %
    assert w.verdict is None


def test_a_channel_that_signs_off_counts_only_its_on_air_hours_as_time_left() -> None:
    """On air 06:00-01:00: at 00:30 of 00:00-06:00 only 30 min of airtime remain."""
    now = at(2026, 3, 2, 0, 30)
    results = {}
    for name, hours in (("24/7", ()), ("signs off", ("06:00-01:00",))):
        eng = engine(on_air=hours)
        eng.apply(ev("ru", at(2026, 3, 2, 0, 0), 30 * 60, language="ru"))
        (results[name],) = by_rule(eng.status(now), "lang_6h")
    # 24/7: 5.5 h left, 3.3 h needed: at risk. Off air from 01:00: the window is already lost.
    assert results["24/7"].status is Status.AT_RISK
    lost = results["signs off"]
    assert lost.status is Status.UNAVOIDABLE
    assert lost.needed_s == pytest.approx(0.55 * 3600)  # 55 % of the 1 h it will have aired
    assert lost.slack_s == pytest.approx(30 * 60 - 0.55 * 3600)


def test_deadline_skips_the_hours_off_air() -> None:
    """On air 05:00-01:00; at 00:30 with 30 min Kazakh aired, 54 min slack: 30 before 01:00,
    24 after 05:00, so the deadline is 05:24."""
    eng = engine(on_air=("05:00-01:00",))
    eng.apply(ev("kk", at(2026, 3, 2, 0, 0), 30 * 60, language="kk"))
    (w,) = by_rule(eng.status(at(2026, 3, 2, 0, 30)), "lang_6h")
    assert w.needed_s == pytest.approx(0.55 * 2 * 3600 - 30 * 60)  # 36 min of 90 left
    assert w.slack_s == pytest.approx(54 * 60)
    assert format_local(w.deadline, ALMATY) == "2026-03-02T05:24:00+05:00"
    assert w.status is Status.ON_TRACK  # 36 of 90 min: 40 %
    # At 03:00, off air: only 05:00-06:00 is left to make up the 30 min not aired at 00:30.
    (night,) = by_rule(eng.status(at(2026, 3, 2, 3, 0)), "lang_6h")
    assert night.needed_s == pytest.approx(0.55 * 90 * 60 - 30 * 60)  # 19.5 min in 05:00-06:00


@pytest.mark.parametrize(
    ("kk_hours", "aired_hours", "status"),
    [
        (3.5, 4.0, Status.SECURED),  # 3.5 h >= 55 % of 6 h (3.3 h)
        (2.0, 3.0, Status.ON_TRACK),  # needs 1.3 h of 3 h left: 43 % <= 55 %
        (1.2, 3.0, Status.AT_RISK),  # needs 2.1 h of 3 h: 70 %
        (0.5, 3.0, Status.CRITICAL),  # needs 2.8 h of 3 h: 93 % > 90 %
        (0.0, 3.0, Status.UNAVOIDABLE),  # needs 3.3 h of 3 h
    ],
)
def test_live_status_thresholds(kk_hours: float, aired_hours: float, status: Status) -> None:
    """Status bands of DESIGN section 5 for a 12:00-18:00 interval."""
    eng = engine()
    t = at(2026, 3, 2, 12, 0)
    if kk_hours:
        eng.apply(ev("kk", t, kk_hours * H, language="kk"))
    rest = aired_hours - kk_hours
    if rest:
        eng.apply(ev("ru", t + round(kk_hours * H * US_PER_S), rest * H, language="ru"))
    (w,) = by_rule(eng.status(t + round(aired_hours * H * US_PER_S)), "lang_6h")
    assert w.status is status


def test_open_item_airs_up_to_now_and_end_settles_it() -> None:
    """A start without end counts up to now; its end replaces that with the real span."""
    eng = engine()
    t = at(2026, 3, 2, 12, 0)
    eng.apply(ev("live", t, None, phase="start"))
    (w,) = by_rule(eng.status(at(2026, 3, 2, 12, 20)), "lang_6h")
    assert w.numerator_s == 1200
    (w,) = by_rule(eng.status(at(2026, 3, 2, 12, 50)), "lang_6h")
    assert w.numerator_s == 3000
    assert eng.ledger.on_air(at(2026, 3, 2, 12, 50)) is not None
    eng.apply(ev("live", t, 1800, phase="end", given=frozenset()))
    (w,) = by_rule(eng.status(at(2026, 3, 2, 12, 50)), "lang_6h")
    assert w.numerator_s == 1800
    assert w.gap_s == 1200


def test_max_share_budget_and_unavoidable() -> None:
    """Ad budget = 20 % of the whole hour minus ads aired; over the cap it is unavoidable."""
    eng = engine()
    t = at(2026, 3, 2, 18, 0)
    eng.apply(ev("ads", t, 600, "advertising"))
    (w,) = by_rule(eng.status(at(2026, 3, 2, 18, 10)), "ads_evening_hour")
    assert w.budget_s == pytest.approx(0.2 * H - 600)
    assert w.status is Status.ON_TRACK
    eng.apply(ev("ads2", t + 600 * US_PER_S, 700, "advertising"))
    (w,) = by_rule(eng.status(at(2026, 3, 2, 18, 22)), "ads_evening_hour")
    assert w.status is Status.UNAVOIDABLE
    assert w.budget_s < 0


def test_status_outside_a_daypart_shows_the_upcoming_window() -> None:
    """At 10:00 the evening-hour rule reports the 18:00 window with its full budget."""
    eng = engine()
    (w,) = by_rule(eng.status(at(2026, 3, 2, 10, 0)), "ads_evening_hour")
    assert w.window_start == at(2026, 3, 2, 18, 0)
    assert w.budget_s == pytest.approx(720)
    assert w.status is Status.ON_TRACK


def test_count_rules_idents_and_signed_news_daypart() -> None:
    """Idents count per day; a signed newscast counts only if it starts 16:00-22:00."""
    eng = engine()
    day = at(2026, 3, 2, 0, 0)
    for i, hour in enumerate((6, 9, 12, 15)):
        eng.apply(ev(f"id{i}", at(2026, 3, 2, hour, 0), 10, "ident", language="zxx"))
    eng.apply(
        ev("news-early", at(2026, 3, 2, 15, 0, 10), 900, tags=frozenset({"news", "sign_language"}))
    )
    end = at(2026, 3, 3, 0, 0)
    results = eng.windows(day, end, now=end, period=Period(day, end))
    (ids,) = by_rule(results, "channel_id_day")
    assert (ids.count, ids.verdict) == (4, Status.COMPLIES)
    (news,) = by_rule(results, "sign_news_day")
    assert news.window_start == at(2026, 3, 2, 16, 0)
    assert (news.count, news.verdict) == (0, Status.VIOLATION)
    eng.apply(ev("news", at(2026, 3, 2, 19, 0), 900, tags=frozenset({"news", "subtitles"})))
    (news,) = by_rule(eng.windows(day, end, now=end, period=Period(day, end)), "sign_news_day")
    assert (news.count, news.verdict) == (1, Status.COMPLIES)


def test_forbidden_rules_mourning_banned_and_interruption() -> None:
    """Ads on a mourning day, a banned category, and an ad splitting a children's show."""
    eng = engine(mourning=frozenset({date(2026, 3, 2)}))
    t = at(2026, 3, 2, 10, 0)
    eng.apply(ev("kids1", t, 600, tags=frozenset({"children"}), house_id="K1", title="Kids"))
    eng.apply(ev("spot", t + 600 * US_PER_S, 30, "advertising", ad_category="alcohol"))
    eng.apply(
        ev(
            "kids2",
            t + 630 * US_PER_S,
            600,
            tags=frozenset({"children"}),
            house_id="K1",
            title="Kids",
        )
    )
    day, end = at(2026, 3, 2, 0, 0), at(2026, 3, 3, 0, 0)
    results = eng.windows(day, end, now=end, period=Period(day, end))
    for rule in ("ads_mourning_days", "ads_banned_category", "ads_interrupt_protected"):
        (w,) = by_rule(results, rule)
        assert w.verdict is Status.VIOLATION, rule
        assert [o.event_id for o in w.occurrences] == ["spot"], rule
    next_day = by_rule(
        eng.windows(
            end, end + 24 * H * US_PER_S, now=end, period=Period(end, end + 24 * H * US_PER_S)
        ),
        "ads_mourning_days",
    )
    assert next_day[0].verdict is Status.COMPLIES


def test_secondary_items_are_never_airtime() -> None:
    """A crawl or logo (secondary layer) adds no seconds and cuts nothing."""
    eng = engine()
    t = at(2026, 3, 2, 0, 0)
    eng.apply(ev("prog", t, 6 * H, language="kk"))
    eng.apply(ev("crawl", t + H * US_PER_S, H, "advertising", layer="secondary", language="ru"))
    end = t + 6 * H * US_PER_S
    results = eng.windows(t, end, now=end, period=Period(t, end))
    (six,) = by_rule(results, "lang_6h")
    assert (six.numerator_s, six.base_s) == (6 * H, 6 * H)
    (day,) = by_rule(results, "ads_day")
    assert day.numerator_s == 0


def test_unverified_rules_are_off_unless_enabled() -> None:
    """Unverified rules do not run by default; a channel can enable them."""
    assert "age18_daytime" not in engine().rules
    assert "age18_daytime" in engine(enable=frozenset({"age18_daytime"})).rules


def test_rules_apply_by_media_and_flags() -> None:
    """Radio gets the radio domestic rule; a non-domestic channel gets no language rule."""
    from efir.core.rules import Media  # noqa: PLC0415

    radio = engine(media=Media.RADIO)
    assert "domestic_radio_week" in radio.rules
    assert "domestic_tv_week" not in radio.rules
    assert "sign_news_day" not in radio.rules
    foreign = engine(flags=frozenset({"foreign_registered"}))
    assert "lang_6h" not in foreign.rules
    ad_only = engine(flags=frozenset({"domestic", "ad_only"}))
    assert "ads_day" not in ad_only.rules


def test_rolling_7d_trend_cuts_mid_atom_exactly() -> None:
    """The trailing seven days start mid-item and mid-hour; seconds are exact at both ends."""
    eng = engine()
    t = at(2026, 3, 1, 0, 0)
    # Eight days of hourly items: even hours Kazakh, odd hours Russian.
    for h in range(8 * 24):
        eng.apply(ev(f"h{h}", t + h * H * US_PER_S, H, language="kk" if h % 2 == 0 else "ru"))
    now = at(2026, 3, 8, 12, 30)  # 7 days back is 2026-03-01 12:30, inside the Kazakh 12:00 hour
    w = eng.rolling("lang_week", now)
    assert (w.window_start, w.window_end) == (at(2026, 3, 1, 12, 30), now)
    # 7 days = 168 h; the first half-hour (12:30-13:00) is Kazakh and so is the last (12:00-12:30).
    assert w.base_s == 168 * H
    assert w.numerator_s == pytest.approx(84 * H)
    assert w.gap_s == 0
    assert w.verdict is Status.VIOLATION  # 50 % < 55 %


def test_upcoming_window_on_a_day_without_data_while_an_item_is_on_air() -> None:
    """At 23:30 with a live item on air, the evening rule looks ahead to tomorrow 18:00."""
    eng = engine()
    eng.apply(ev("late", at(2026, 3, 2, 23, 10), None, phase="start"))
    (w,) = by_rule(eng.status(at(2026, 3, 2, 23, 30)), "ads_evening_hour")
    assert w.window_start == at(2026, 3, 3, 18, 0)
    assert w.budget_s == pytest.approx(720)


def test_advertising_not_in_kazakh_is_an_occurrence_and_unknown_is_apart() -> None:
    """AD-LANG: an ad in Russian only is an occurrence; a bilingual ad complies; unknown apart."""
    eng = engine()
    t = at(2026, 3, 2, 20, 0)
    spots = [
        ("kk-spot", 30, {"language": "kk"}),
        ("ru-spot", 20, {"language": "ru"}),
        ("bilingual", 15, {"language": "ru", "kk_fraction": 0.3}),
        ("no-language", 45, {"language": None}),
        ("ru-crawl", 60, {"language": "ru", "layer": "secondary"}),
    ]
    at_us = t
    for event_id, seconds, fields in spots:
        eng.apply(ev(event_id, at_us, seconds, "advertising", **fields))  # type: ignore[arg-type]
        at_us += seconds * US_PER_S
    eng.apply(ev("ru-film", at_us, 3600, language="ru"))  # a programme: not this rule's
    day, end = at(2026, 3, 2, 0, 0), at(2026, 3, 3, 0, 0)
    (w,) = by_rule(eng.windows(day, end, now=end, period=Period(day, end)), "ads_language")
    assert w.verdict is Status.VIOLATION
    assert [o.event_id for o in w.occurrences] == ["ru-spot"]
    assert w.unknown_s == 45
    # The next day, Kazakh and unknown ads only: it complies, the unknown seconds said apart.
    t2 = at(2026, 3, 3, 9, 0)
    eng.apply(ev("kk-2", t2, 30, "advertising"))
    eng.apply(ev("unknown-2", t2 + 30 * US_PER_S, 20, "advertising", language=None))
    day2, end2 = end, at(2026, 3, 4, 0, 0)
    (w2,) = by_rule(eng.windows(day2, end2, now=end2, period=Period(day2, end2)), "ads_language")
    assert (w2.verdict, w2.count, w2.unknown_s) == (Status.COMPLIES, 0, 20)
