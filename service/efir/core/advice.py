"""One plain sentence per live window: what to do, and by when (DESIGN section 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from efir.core.status import Status
from efir.core.wording import duration, instant, span

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.result import WindowResult

_FINE = (Status.SECURED, Status.ON_TRACK, Status.COMPLIES, Status.NOT_APPLICABLE)


def advice(w: WindowResult, tz: ZoneInfo, now: int | None = None) -> str:
    """``""`` when nothing needs doing; else e.g. ``air 47 min more … by 17:12 …``.

    ``now``: the present, so that a deadline on another day carries its date
    (without it every deadline does).
    """
    window = span(w.window_start, w.window_end, tz)
    if w.status in _FINE:
        return ""
    if w.deadline is not None and w.needed_s:
        by = instant(w.deadline, tz, now)
        more = duration(w.needed_s)
        return f"air {more} more of qualifying content, starting by {by}, or {window} is lost"
    if w.status is Status.UNAVOIDABLE and w.needed_s is not None:
        return f"{window} can no longer be met"
    if w.status is Status.UNAVOIDABLE and w.budget_s is not None:
        return f"the cap in {window} is exceeded"
    if w.budget_s is not None and w.status in (Status.AT_RISK, Status.EXHAUSTED):
        return f"at most {duration(max(w.budget_s, 0))} more in {window}"
    if w.status is Status.VIOLATION:
        return f"{window} was violated"
    return ""
