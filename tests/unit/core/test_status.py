"""Status math of DESIGN section 5, and its invariants."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from efir.core.status import EPSILON_S, Status, max_share_outlook, min_share_outlook, worst

seconds = st.integers(0, 7 * 86400 * 10**6).map(lambda us: us / 10**6)
shares = st.floats(0.05, 0.95, allow_nan=False)


@given(st.data(), seconds, seconds, shares)
def test_min_share_status_tells_whether_the_window_can_still_be_met(
    data: st.DataObject, b: float, r: float, t: float
) -> None:
    """Secured: even no further qualifying airtime meets t. Unavoidable: even all of it fails."""
    q = data.draw(st.floats(0, b, allow_nan=False)) if b else 0.0
    out = min_share_outlook(q, b, r, t, 0.9)
    # In seconds, with the engine's half-microsecond tolerance.
    if out.status is Status.SECURED:
        assert q >= t * (b + r) - EPSILON_S  # met even with no more qualifying content
    if out.status is Status.UNAVOIDABLE:
        assert q + r < t * (b + r) + EPSILON_S  # missed even if all the rest qualifies
    if out.status not in (Status.SECURED, Status.UNAVOIDABLE):
        # Airing base content for `slack` seconds and then only qualifying content meets t exactly.
        assert abs((q + out.needed_s) / (b + r) - t) < 1e-6
        assert out.slack_s >= -EPSILON_S


def test_min_share_bands() -> None:
    """needed/R against t and crit picks the band."""
    assert min_share_outlook(0, 0, 100, 0.5, 0.9).status is Status.ON_TRACK  # 50/100 = t
    assert min_share_outlook(0, 10, 100, 0.5, 0.9).status is Status.AT_RISK  # 55/100
    assert min_share_outlook(0, 80, 100, 0.5, 0.9).status is Status.AT_RISK  # 90/100 = crit
    assert min_share_outlook(0, 90, 100, 0.5, 0.9).status is Status.CRITICAL  # 95/100
    assert min_share_outlook(0, 120, 100, 0.5, 0.9).status is Status.UNAVOIDABLE  # 110 > 100
    assert min_share_outlook(60, 100, 100, 0.5, 0.9).status is Status.ON_TRACK  # 40/100 <= t
    assert min_share_outlook(100, 100, 100, 0.5, 0.9).status is Status.SECURED


def test_max_share_budget() -> None:
    """Budget = c(B+R) - Q; bands at the margin, below 1 s and below zero."""
    assert max_share_outlook(0, 0, 3600, 0.2, 120) == (Status.ON_TRACK, 720)
    assert max_share_outlook(650, 1000, 2600, 0.2, 120)[0] is Status.AT_RISK
    assert max_share_outlook(720, 1000, 2600, 0.2, 120)[0] is Status.EXHAUSTED
    assert max_share_outlook(721, 1000, 2600, 0.2, 120)[0] is Status.UNAVOIDABLE


def test_worst() -> None:
    """Worst status orders live statuses by severity."""
    assert worst([Status.ON_TRACK, Status.CRITICAL, Status.AT_RISK]) is Status.CRITICAL
    assert worst([Status.COMPLIES, Status.VIOLATION]) is Status.VIOLATION
    assert worst([]) is Status.NOT_APPLICABLE
