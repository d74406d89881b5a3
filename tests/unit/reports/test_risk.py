"""The risk indicator on hand-computed checklists."""

from __future__ import annotations

import pytest

from efir.reports.content import Requirement
from efir.reports.risk import assess, degree_of


def _r(rule: str, risk: str | None, answer: str) -> Requirement:
    return Requirement(rule, rule, "ref", "", answer, 1, int(answer == "does not comply"), risk, "")


def test_one_gross_breach_is_100() -> None:
    risk = assess([_r("a", "gross", "does not comply"), _r("b", "major", "complies")])
    assert (risk.indicator, risk.degree, risk.gross_breached) == (100.0, "high", ("a",))


def test_major_and_minor_breaches_are_weighted_by_share_of_their_degree() -> None:
    checklist = [
        _r("m1", "major", "does not comply"),
        _r("m2", "major", "complies"),
        _r("m3", "major", "complies"),
        _r("m4", "major", "complies"),
        _r("n1", "minor", "does not comply"),
        _r("n2", "minor", "complies"),
        _r("g", "gross", "complies"),
        _r("off", "major", "not applicable"),  # not judged: not counted
        _r("unrated", None, "does not comply"),  # no degree in the pack: not counted
    ]
    risk = assess(checklist)
    # 0.7 x 100 x 1/4 + 0.3 x 100 x 1/2 = 17.5 + 15
    assert risk.indicator == 32.5
    assert risk.degree == "medium"
    assert (risk.major, risk.minor) == ((1, 4), (1, 2))
    assert "1/4 major" in risk.explain()


def test_every_major_breached_is_high_and_none_is_low() -> None:
    majors = [_r(f"m{i}", "major", "does not comply") for i in range(3)]
    assert assess([*majors, _r("n", "minor", "complies")]).indicator == 70.0
    assert assess([*majors, _r("n", "minor", "complies")]).degree == "high"
    clean = assess([_r("m", "major", "complies"), _r("n", "minor", "complies")])
    assert (clean.indicator, clean.degree) == (0.0, "low")


@pytest.mark.parametrize(
    ("indicator", "degree"),
    [
        (0, "low"),
        (30, "low"),
        (30.9, "low"),
        (31, "medium"),
        (60, "medium"),
        (61, "high"),
        (100, "high"),
    ],
)
def test_degrees_of_the_criteria(indicator: float, degree: str) -> None:
    assert degree_of(indicator) == degree
