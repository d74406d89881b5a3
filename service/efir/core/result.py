"""Evaluation results: one per rule and window (DESIGN section 6, ``efir.audit/1``)."""

from __future__ import annotations

from dataclasses import dataclass

from efir.core.status import Status  # noqa: TC001 - dataclass field type


@dataclass(frozen=True, slots=True)
class Occurrence:
    """An item that breaks an item rule (or counts towards a count rule).

    ``start``/``end`` are microseconds UTC (effective aired span).
    """

    event_id: str
    start: int
    end: int
    title: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class WindowResult:
    """Figures and outcome of one rule over one window ``[window_start, window_end)``.

    Seconds are floats; instants are microseconds UTC. ``verdict`` is set for
    windows that are closed (or cut by the audited period: ``partial``);
    ``status`` is the live status of an open window, or equals the verdict.
    Fields that do not apply to the rule type are ``None``.

    Attributes:
        rule: rule id.
        window_start: window start (µs UTC).
        window_end: window end (µs UTC).
        numerator_s: qualifying seconds (share rules).
        base_s: base seconds (share rules).
        unknown_s: base seconds whose deciding attribute is unknown.
        gap_s: seconds of the (elapsed part of the) window with no primary item.
        airtime_s: primary airtime in the window.
        share: ``numerator_s / base_s`` (``None`` when the base is empty).
        threshold: threshold in force (strictest by default).
        transitional: the threshold changed inside the window.
        verdict: closed outcome, or ``None`` while open.
        status: live status (equals ``verdict`` once closed).
        needed_s: ``min_share``: qualifying seconds still required.
        slack_s: ``min_share``: seconds that may still pass without qualifying content.
        deadline: ``min_share``: ``now + slack`` while the window can still be met.
        budget_s: ``max_share``: seconds of numerator content still allowed.
        count: ``min_count``: matching items aired; ``forbidden``: occurrences.
        occurrences: matching items (count and forbidden rules).
        provisional: the status says the window is lost (``unavoidable``,
            ``exhausted``, ``violation``) only because of airtime of open items
            (``start`` without ``end`` yet): it does not page as locked in.
        settled_status: with ``provisional``, the status from closed items alone.
    """

    rule: str
    window_start: int
    window_end: int
    numerator_s: float | None
    base_s: float | None
    unknown_s: float | None
    gap_s: float
    airtime_s: float
    share: float | None
    threshold: float | None
    transitional: bool
    verdict: Status | None
    status: Status
    needed_s: float | None = None
    slack_s: float | None = None
    deadline: int | None = None
    budget_s: float | None = None
    count: int | None = None
    occurrences: tuple[Occurrence, ...] = ()
    provisional: bool = False
    settled_status: Status | None = None
