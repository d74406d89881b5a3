"""A terminal table of a channel's live status (``efir run --simulate`` shows it).

One row per active rule: window, share, threshold, status, the time still
needed or the ad budget, and what to do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from efir.core.phrases import ENGLISH
from efir.core.status import Status
from efir.core.timebase import format_local
from efir.core.wording import advice, duration, percent, span, status_words

if TYPE_CHECKING:
    from efir.core.engine import ChannelEngine
    from efir.core.phrases import Phrases

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


#: The table's columns (message ids).
COLUMNS = ("rule", "window", "share", "threshold", "status", "needed / budget", "what to do")


def _minutes(seconds: float | None, say: Phrases) -> str:
    return "" if seconds is None else duration(seconds, say)


def status_table(engine: ChannelEngine, now: int, say: Phrases = ENGLISH) -> Table:
    """The live status of every active rule at ``now``, worded in the language of ``say``."""
    tz = engine.tz
    on_air = engine.on_air(now)
    shown = (on_air.event.title or on_air.event_id) if on_air else say("(gap)")
    title = f"{engine.channel.id}  {format_local(now, tz)[:19]}  " + say(
        "on air: {item}", item=shown
    )
    table = Table(title=title, title_justify="left")
    for column in COLUMNS:
        table.add_column(say(column))
    for w in engine.status(now):
        rule = engine.rules[w.rule].rule
        share = percent(w.share, 1, "", say)
        if rule.is_share and w.threshold is not None:
            threshold = percent(w.threshold, 0, "", say)
        else:
            threshold = "" if w.threshold is None else f">= {w.threshold:g}"
        if w.count is not None and rule.type.value == "min_count":
            share = str(w.count)
        figure = _minutes(w.needed_s, say) if w.needed_s is not None else _minutes(w.budget_s, say)
        window = span(w.window_start, w.window_end, engine.tz, say)
        table.add_row(
            w.rule,
            window,
            share,
            threshold,
            Text(status_words(w.status, say), style=STYLE.get(w.status, "")),
            figure,
            advice(w, engine.tz, now, say),
        )
    return table
