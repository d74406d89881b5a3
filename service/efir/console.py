"""A terminal table of a channel's live status (``efir run --simulate`` shows it).

One row per active rule: window, share, threshold, status, the time still
needed or the ad budget, and what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from efir.core.status import Status
from efir.core.timebase import format_local
from efir.core.wording import advice, duration, span

if TYPE_CHECKING:
    from efir.core.engine import ChannelEngine

STYLE = {
    Status.SECURED: "green",
    Status.ON_TRACK: "green",
    Status.COMPLIES: "green",
    Status.AT_RISK: "yellow",
    Status.EXHAUSTED: "yellow",
    Status.CRITICAL: "bold red",
    Status.UNAVOIDABLE: "bold white on red",
    Status.VIOLATION: "bold white on red",
}


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else duration(seconds)


def status_table(engine: ChannelEngine, now: int) -> Table:
    """The live status of every active rule at ``now``."""
    tz = engine.tz
    on_air = engine.on_air(now)
    title = f"{engine.channel.id}  {format_local(now, tz)[:19]}  on air: "
    title += (on_air.event.title or on_air.event_id) if on_air else "(gap)"
    table = Table(title=title, title_justify="left")
    for column in (
        "rule",
        "window",
        "share",
        "threshold",
        "status",
        "needed / budget",
        "what to do",
    ):
        table.add_column(column)
    for w in engine.status(now):
        rule = engine.rules[w.rule].rule
        share = "" if w.share is None else f"{w.share * 100:.1f} %"
        if rule.is_share and w.threshold is not None:
            threshold = f"{w.threshold * 100:.0f} %"
        else:
            threshold = "" if w.threshold is None else f">= {w.threshold:g}"
        if w.count is not None and rule.type.value == "min_count":
            share = str(w.count)
        figure = _minutes(w.needed_s) if w.needed_s is not None else _minutes(w.budget_s)
        window = span(w.window_start, w.window_end, engine.tz)
        table.add_row(
            w.rule,
            window,
            share,
            threshold,
            Text(str(w.status), style=STYLE.get(w.status, "")),
            figure,
            advice(w, engine.tz, now),
        )
    return table
