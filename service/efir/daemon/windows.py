"""Window results as the API, the store and the audit show them (one shape)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from efir.audit.report import window_dict
from efir.core.timebase import format_local
from efir.store.database import StoredWindow

if TYPE_CHECKING:
    from efir.core.result import WindowResult
    from efir.daemon.monitor import Channel


def window_object(ch: Channel, w: WindowResult) -> dict[str, Any]:
    """The ``efir.audit/1`` window object, plus the live figures of DESIGN section 5."""
    rule = ch.engine.rules[w.rule].rule
    out = window_dict(w, ch.engine.tz, rule.type)
    out["status"] = str(w.status)
    out["needed_s"] = None if w.needed_s is None else round(w.needed_s, 6)
    out["slack_s"] = None if w.slack_s is None else round(w.slack_s, 6)
    out["deadline"] = None if w.deadline is None else format_local(w.deadline, ch.engine.tz)
    out["budget_s"] = None if w.budget_s is None else round(w.budget_s, 6)
    out["provisional"] = w.provisional
    out["settled_status"] = None if w.settled_status is None else str(w.settled_status)
    return out


def stored_window(ch: Channel, w: WindowResult, now: int) -> StoredWindow:
    """A closed window, ready for the ``window_results`` table."""
    figures = window_dict(w, ch.engine.tz, ch.engine.rules[w.rule].rule.type)
    return StoredWindow(
        channel_id=ch.profile.id,
        rule=w.rule,
        window_start_us=w.window_start,
        window_end_us=w.window_end,
        verdict=str(w.verdict),
        figures=figures,
        revision=0,
        revised_from=None,
        updated_us=now,
    )
