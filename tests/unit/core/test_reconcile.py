"""Plan against as-run, on hand-made days: each outcome, the nearest match, titles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from efir.core.reconcile import Outcome, Slot, reconcile
from efir.core.timebase import US_PER_S

M = 60 * US_PER_S


def slot(
    event_id: str,
    start_min: float,
    length_min: float,
    house: str | None = None,
    title: str | None = None,
) -> Slot:
    return Slot(event_id, round(start_min * M), round((start_min + length_min) * M), house, title)


def test_each_outcome_on_a_hand_made_hour() -> None:
    planned = [
        slot("p-news", 0, 10, "NEWS"),
        slot("p-film", 10, 30, "FILM"),
        slot("p-talk", 40, 10, "TALK"),
        slot("p-quiz", 50, 10, "QUIZ"),
    ]
    aired = [
        slot("a-news", 0.5, 9, "NEWS"),  # 30 s late, 10 % short: as planned
        slot("a-film", 18, 30, "FILM"),  # 8 minutes late: differently
        slot("a-live", 48, 12, "LIVE"),  # not planned: an insertion, filling most of the quiz slot
    ]
    got = {
        (m.planned.event_id if m.planned else None, m.aired.event_id if m.aired else None): m
        for m in reconcile(planned, aired)
    }
    assert got["p-news", "a-news"].outcome is Outcome.AS_PLANNED
    film = got["p-film", "a-film"]
    assert film.outcome is Outcome.DIFFERENTLY
    assert film.shift_us == 8 * M
    assert film.length_change_us == 0
    assert got["p-talk", None].outcome is Outcome.MISSED  # 40-50 aired nothing
    assert got["p-quiz", None].outcome is Outcome.REPLACED  # 50-60: the live show
    assert got[None, "a-live"].outcome is Outcome.INSERTION


def test_the_nearest_unclaimed_item_is_taken_and_titles_match_without_house_ids() -> None:
    planned = [slot("p1", 0, 5, title="Brabant  Nieuws"), slot("p2", 6, 5, title="Brabant Nieuws")]
    aired = [slot("a1", 0, 5, title="BRABANT NIEUWS"), slot("a2", 5, 5, title="brabant nieuws")]
    matches = reconcile(planned, aired)
    assert [(m.planned.event_id, m.aired.event_id) for m in matches if m.planned and m.aired] == [
        ("p1", "a1"),
        ("p2", "a2"),
    ]


@given(
    st.lists(
        st.tuples(st.integers(0, 1440), st.integers(1, 120), st.sampled_from("ABCD")), max_size=30
    ),
    st.lists(
        st.tuples(st.integers(0, 1440), st.integers(1, 120), st.sampled_from("ABCD")), max_size=30
    ),
)
def test_every_item_is_accounted_for_once(
    plan: list[tuple[int, int, str]], air: list[tuple[int, int, str]]
) -> None:
    planned = [slot(f"p{i}", s, n, h) for i, (s, n, h) in enumerate(plan)]
    aired = [slot(f"a{i}", s, n, h) for i, (s, n, h) in enumerate(air)]
    matches = reconcile(planned, aired)
    assert sorted(m.planned.event_id for m in matches if m.planned) == sorted(
        p.event_id for p in planned
    )
    assert sorted(m.aired.event_id for m in matches if m.aired) == sorted(a.event_id for a in aired)
    for m in matches:
        if m.planned and m.aired:
            assert m.planned.house_id == m.aired.house_id
            assert abs(m.aired.start - m.planned.start) <= 30 * M
