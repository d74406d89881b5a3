"""One window shape for every reader: the ``efir.audit/1`` window object.

The audit's JSON and CSV, the daemon's stored windows, the status and
windows API, alerts and reports all show a window through these functions,
so a figure is named, rounded and dated the same way everywhere:

* :func:`window_dict`: the closed-window object (``efir.audit/1``): local
  RFC 3339 bounds, seconds and shares rounded to the microsecond, verdict;
* :func:`live_window_dict`: the same plus the live figures of DESIGN
  section 5 (status, needed, slack, deadline, budget, provisional);
* :class:`StoredWindow` and :func:`stored_window`: a closed window as the
  ``window_results`` table keeps it (its figures are :func:`window_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from efir.core.rules import RuleType
from efir.core.timebase import format_local

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.result import WindowResult

WINDOW_FIELDS = (
    "rule",
    "window_start",
    "window_end",
    "numerator_s",
    "base_s",
    "unknown_s",
    "gap_s",
    "airtime_s",
    "share",
    "threshold",
    "verdict",
    "transitional",
    "count",
)


def _r(value: float | None) -> float | None:
    """Round seconds and shares to the microsecond the engine is exact to."""
    return None if value is None else round(value, 6)


def window_dict(w: WindowResult, tz: ZoneInfo, rule_type: RuleType) -> dict[str, Any]:
    """Render one window as an ``efir.audit/1`` object."""
    out: dict[str, Any] = {
        "rule": w.rule,
        "window_start": format_local(w.window_start, tz),
        "window_end": format_local(w.window_end, tz),
        "numerator_s": _r(w.numerator_s),
        "base_s": _r(w.base_s),
        "unknown_s": _r(w.unknown_s),
        "gap_s": _r(w.gap_s),
        "airtime_s": _r(w.airtime_s),
        "share": _r(w.share),
        "threshold": w.threshold,
        "verdict": str(w.verdict) if w.verdict is not None else None,
        "transitional": w.transitional,
    }
    if rule_type in (RuleType.MIN_COUNT, RuleType.FORBIDDEN):
        out["count"] = w.count
    if rule_type is RuleType.FORBIDDEN:
        out["occurrences"] = [
            {
                "event_id": o.event_id,
                "start": format_local(o.start, tz),
                "end": format_local(o.end, tz),
                "title": o.title,
                "reason": o.reason,
            }
            for o in w.occurrences
        ]
    return out


def live_window_dict(w: WindowResult, tz: ZoneInfo, rule_type: RuleType) -> dict[str, Any]:
    """:func:`window_dict` plus the live figures of DESIGN section 5."""
    out = window_dict(w, tz, rule_type)
    out["status"] = str(w.status)
    out["needed_s"] = _r(w.needed_s)
    out["slack_s"] = _r(w.slack_s)
    out["deadline"] = None if w.deadline is None else format_local(w.deadline, tz)
    out["budget_s"] = _r(w.budget_s)
    out["provisional"] = w.provisional
    out["settled_status"] = None if w.settled_status is None else str(w.settled_status)
    return out


@dataclass(frozen=True, slots=True)
class StoredWindow:
    """A closed window's stored figures."""

    channel_id: str
    rule: str
    window_start_us: int
    window_end_us: int
    verdict: str
    figures: dict[str, Any]
    revision: int
    revised_from: str | None
    updated_us: int


def stored_window(
    channel_id: str, w: WindowResult, tz: ZoneInfo, rule_type: RuleType, now: int
) -> StoredWindow:
    """A closed window, ready for the ``window_results`` table (first revision)."""
    return StoredWindow(
        channel_id=channel_id,
        rule=w.rule,
        window_start_us=w.window_start,
        window_end_us=w.window_end,
        verdict=str(w.verdict),
        figures=window_dict(w, tz, rule_type),
        revision=0,
        revised_from=None,
        updated_us=now,
    )
