"""The risk-degree indicator, by the method of the 2018 risk criteria (a self-assessment).

Each requirement has a degree in the rule pack (``risk: gross | major |
minor``). Over the requirements the period could judge (answered
``complies`` or ``does not comply``):

* one gross breach gives **100**;
* otherwise the indicator is ``0.7 * 100 * major breached / major judged
  + 0.3 * 100 * minor breached / minor judged`` (a degree with no judged
  requirement adds nothing);
* **61 to 100** is a high degree of risk, **31 to 60** medium, **0 to 30**
  low.

It is what the as-run can show, computed the way the criteria weigh
breaches; the degrees are Efir's reading of the sanctions, kept as data in
the pack, not the criteria's own list, and the state's assessment also
weighs information Efir does not have (complaints, earlier inspections).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from efir.reports.content import Requirement

HIGH_FROM = 61
MEDIUM_FROM = 31
MAJOR_WEIGHT = 0.7
MINOR_WEIGHT = 0.3


@dataclass(frozen=True, slots=True)
class Risk:
    """The indicator, its degree, and the counts it comes from."""

    indicator: float
    degree: str
    gross_breached: tuple[str, ...]
    major: tuple[int, int]
    minor: tuple[int, int]

    def explain(self) -> str:
        """One sentence: how the indicator was reached."""
        if self.gross_breached:
            return f"gross breach of {', '.join(self.gross_breached)}: 100"
        (mb, mj), (nb, nj) = self.major, self.minor
        return (
            f"0.7 x 100 x {mb}/{mj or 0} major + 0.3 x 100 x {nb}/{nj or 0} minor "
            f"= {self.indicator:g}"
        )


def degree_of(indicator: float) -> str:
    """``high``, ``medium`` or ``low`` for an indicator from 0 to 100."""
    if indicator >= HIGH_FROM:
        return "high"
    if indicator >= MEDIUM_FROM:
        return "medium"
    return "low"


def assess(checklist: Sequence[Requirement]) -> Risk:
    """The indicator of a checklist (requirements not judged or not rated are left out)."""
    judged = [r for r in checklist if r.answer in {"complies", "does not comply"} and r.risk]
    breached = [r for r in judged if r.answer == "does not comply"]
    gross = tuple(r.rule for r in breached if r.risk == "gross")

    def ratio(degree: str) -> tuple[int, int]:
        return (
            sum(1 for r in breached if r.risk == degree),
            sum(1 for r in judged if r.risk == degree),
        )

    major, minor = ratio("major"), ratio("minor")
    if gross:
        indicator = 100.0
    else:
        indicator = round(
            MAJOR_WEIGHT * 100 * (major[0] / major[1] if major[1] else 0.0)
            + MINOR_WEIGHT * 100 * (minor[0] / minor[1] if minor[1] else 0.0),
            1,
        )
    return Risk(indicator, degree_of(indicator), gross, major, minor)
