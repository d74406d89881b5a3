"""Live status of an open window: warning before a violation locks in (DESIGN section 5).

All quantities are seconds (floats). For an open window ``[ws, we)`` at ``now``:
``q`` numerator so far, ``b`` base so far, ``r`` = remaining seconds
(``we - max(now, ws)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

#: Comparison tolerance in seconds: shares are exact to the microsecond, so a
#: half-microsecond slack only absorbs float rounding of fractional weights.
EPSILON_S = 5e-7


class Status(StrEnum):
    """Window statuses: live ones, then verdicts of closed windows."""

    SECURED = "secured"
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    CRITICAL = "critical"
    EXHAUSTED = "exhausted"
    UNAVOIDABLE = "unavoidable"
    COMPLIES = "complies"
    VIOLATION = "violation"
    PARTIAL = "partial"
    NOT_APPLICABLE = "not_applicable"


#: Statuses that say a window is or will be lost, worst last.
LIVE_ORDER = (
    Status.NOT_APPLICABLE,
    Status.COMPLIES,
    Status.SECURED,
    Status.ON_TRACK,
    Status.PARTIAL,
    Status.AT_RISK,
    Status.EXHAUSTED,
    Status.CRITICAL,
    Status.UNAVOIDABLE,
    Status.VIOLATION,
)


def worst(statuses: list[Status]) -> Status:
    """Return the most severe status of ``statuses`` (``not_applicable`` if empty)."""
    return max(statuses, key=LIVE_ORDER.index, default=Status.NOT_APPLICABLE)


@dataclass(frozen=True, slots=True)
class MinShareOutlook:
    """Outlook of a minimum-share window.

    Attributes:
        status: ``secured``, ``on_track``, ``at_risk``, ``critical`` or ``unavoidable``.
        needed_s: qualifying seconds still required if the rest of the window airs
            base content (0 when secured).
        slack_s: how long the channel can go on without qualifying content before
            the window is lost (negative when unavoidable).
    """

    status: Status
    needed_s: float
    slack_s: float


def min_share_outlook(q: float, b: float, r: float, t: float, crit: float) -> MinShareOutlook:
    """Status math for ``min_share`` with threshold ``t`` and critical ratio ``crit``."""
    needed = t * (b + r) - q
    if needed <= EPSILON_S:
        return MinShareOutlook(Status.SECURED, 0.0, r)
    slack = r - needed
    if r <= 0 or needed > r + EPSILON_S:
        return MinShareOutlook(Status.UNAVOIDABLE, needed, slack)
    ratio = needed / r
    if ratio <= t:
        status = Status.ON_TRACK
    elif ratio <= crit:
        status = Status.AT_RISK
    else:
        status = Status.CRITICAL
    return MinShareOutlook(status, needed, slack)


def max_share_outlook(
    q: float, b: float, r: float, c: float, margin: float
) -> tuple[Status, float]:
    """Status math for ``max_share`` with cap ``c``: return ``(status, budget_s)``.

    ``budget`` = seconds of numerator content still allowed if the window airs to
    its end. ``unavoidable`` once ``q > c·(b + r)``; ``exhausted`` when less than
    a second is left; ``at_risk`` below ``margin``.
    """
    budget = c * (b + r) - q
    if budget < -EPSILON_S:
        return Status.UNAVOIDABLE, budget
    if budget < 1.0:
        return Status.EXHAUSTED, budget
    if budget < margin:
        return Status.AT_RISK, budget
    return Status.ON_TRACK, budget


def count_outlook(count: int, needed: float, r: float, margin: float) -> Status:
    """Status of a ``min_count`` window: ``secured`` once met, else by time left.

    ``at_risk`` when less than ``margin`` seconds remain, ``critical`` in the last
    quarter of that margin.
    """
    if count >= needed:
        return Status.SECURED
    if r <= 0:
        return Status.UNAVOIDABLE
    if r < margin / 4:
        return Status.CRITICAL
    if r < margin:
        return Status.AT_RISK
    return Status.ON_TRACK
