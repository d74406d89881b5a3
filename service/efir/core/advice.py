"""One plain sentence per live window: what to do, and by when (DESIGN section 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from efir.core.status import Status
from efir.core.timebase import format_local

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.result import WindowResult

_DAY_US = 24 * 3600 * 1_000_000
_FINE = (Status.SECURED, Status.ON_TRACK, Status.COMPLIES, Status.NOT_APPLICABLE)


def advice(w: WindowResult, tz: ZoneInfo) -> str:
    """``""`` when nothing needs doing; else e.g. ``air 47 min more … by 17:12 …``."""
    end = format_local(w.window_end, tz)[11:16]
    start = format_local(w.window_start, tz)[11:16]
    span = f"the {start}-{end} window"
    if w.window_end - w.window_start > _DAY_US:  # a week: name it by its dates
        first, last = format_local(w.window_start, tz)[:10], format_local(w.window_end, tz)[:10]
        span = f"the window {first} to {last}"
    if w.status in _FINE:
        return ""
    if w.deadline is not None and w.needed_s:
        by = format_local(w.deadline, tz)[11:16]
        minutes = f"{w.needed_s / 60:.0f} min"
        return f"air {minutes} more of qualifying content, starting by {by}, or {span} is lost"
    if w.status is Status.UNAVOIDABLE and w.needed_s is not None:
        return f"{span} can no longer be met"
    if w.status is Status.UNAVOIDABLE and w.budget_s is not None:
        return f"the cap in {span} is exceeded"
    if w.budget_s is not None and w.status in (Status.AT_RISK, Status.EXHAUSTED):
        return f"at most {max(w.budget_s, 0):.0f} s more in {span}"
    if w.status is Status.VIOLATION:
        return f"{span} was violated"
    return ""
