"""``efir demo``: a simulated playout feed through the live engine, on screen.

Until the daemon (``efir run``) lands, this shows what Efir does in a minute:
a TV channel's as-run events from local midnight are applied to the same
engine the daemon will use, then the clock runs ``speed`` times faster and the
status of every rule is redrawn each second: share, threshold, status, the
Kazakh-language time still needed and the deadline, the ad budget.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

from rich.live import Live
from rich.table import Table
from rich.text import Text

from efir.core.channel import ChannelProfile
from efir.core.engine import ChannelEngine
from efir.core.status import Status
from efir.core.timebase import US_PER_S, format_local, from_us, to_us
from efir.rulepacks import load_pack
from efir.schema.asrun import parse_event
from efir.sim.feed import FeedSpec, generate

if TYPE_CHECKING:
    from rich.console import Console

    from efir.core.event import AsRunEvent
    from efir.core.result import WindowResult

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
    return "" if seconds is None else f"{seconds / 60:.0f} min"


def advice(w: WindowResult, engine: ChannelEngine) -> str:
    """One sentence: what to do, by when (DESIGN section 5)."""
    tz = engine.tz
    end = format_local(w.window_end, tz)[11:16]
    start = format_local(w.window_start, tz)[11:16]
    if w.status in (Status.SECURED, Status.ON_TRACK, Status.COMPLIES):
        return ""
    if w.deadline is not None and w.needed_s:
        by = format_local(w.deadline, tz)[11:16]
        return f"air {w.needed_s / 60:.0f} min more, start by {by}, or the window is lost"
    if w.status is Status.UNAVOIDABLE and w.needed_s is not None:
        return f"{start}-{end} cannot be met any more"
    if w.status is Status.UNAVOIDABLE and w.budget_s is not None:
        return f"cap exceeded in {start}-{end}"
    if w.budget_s is not None and w.status in (Status.AT_RISK, Status.EXHAUSTED):
        return f"at most {max(w.budget_s, 0):.0f} s more of ads before {end}"
    return ""


def window_label(start: int, end: int, engine: ChannelEngine) -> str:
    """``18:00-19:00`` within a day, ``Mon 02.03-Mon 09.03`` across days."""
    a, b = from_us(start, engine.tz), from_us(end, engine.tz)
    if end - start < 24 * 3600 * US_PER_S and a.date() == (b - timedelta(microseconds=1)).date():
        return f"{a:%H:%M}-{b:%H:%M}"
    if end - start <= 25 * 3600 * US_PER_S:
        return f"{a:%a %d.%m}"
    return f"{a:%a %d.%m}-{b:%a %d.%m}"


def status_table(engine: ChannelEngine, now: int) -> Table:
    """The live status of every active rule at ``now``."""
    tz = engine.tz
    on_air = engine.ledger.on_air(now)
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
        window = window_label(w.window_start, w.window_end, engine)
        table.add_row(
            w.rule,
            window,
            share,
            threshold,
            Text(str(w.status), style=STYLE.get(w.status, "")),
            figure,
            advice(w, engine),
        )
    return table


def _timeline(payloads: list[dict[str, object]], now_us: int) -> list[tuple[int, AsRunEvent]]:
    """Events keyed by the instant they would be published (start at start, end at end)."""
    out = []
    for payload in payloads:
        event = parse_event(json.dumps(payload), now_us=now_us + 10 * 24 * 3600 * US_PER_S)
        assert event.start is not None  # noqa: S101 - the simulator always sets start
        at = event.start if event.phase == "start" else event.start + (event.duration or 0)
        out.append((at, event))
    out.sort(key=lambda pair: pair[0])
    return out


def run_demo(
    console: Console,
    *,
    seconds: float,
    speed: float,
    scenario: Literal["normal", "risky"],
    now: datetime | None = None,
) -> ChannelEngine:
    """Replay this week's simulated feed up to now, then run ``seconds`` at ``speed``."""
    wall = now or datetime.now(UTC)
    channel = ChannelProfile("qaz-tv")
    engine = ChannelEngine(channel, load_pack("kz").rules)
    local = wall.astimezone(engine.tz)
    # The feed starts on Monday so weekly rules show a realistic week so far.
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    midnight -= timedelta(days=midnight.weekday())
    horizon = wall + timedelta(seconds=seconds * speed + 3600)
    spec = FeedSpec(channel.id, phases="start_end", scenario=scenario, seed=local.toordinal())
    timeline = _timeline(list(generate(spec, midnight, horizon)), to_us(wall))
    sim_now = to_us(wall)
    i = 0
    while i < len(timeline) and timeline[i][0] <= sim_now:
        engine.apply(timeline[i][1])
        i += 1
    started = time.monotonic()
    with Live(status_table(engine, sim_now), console=console, auto_refresh=False) as live:
        while (elapsed := time.monotonic() - started) < seconds:
            time.sleep(min(1.0, max(seconds - elapsed, 0)))
            sim_now = to_us(wall) + round((time.monotonic() - started) * speed * US_PER_S)
            while i < len(timeline) and timeline[i][0] <= sim_now:
                engine.apply(timeline[i][1])
                i += 1
            live.update(status_table(engine, sim_now), refresh=True)
    console.print(
        f"Simulated {from_us(sim_now, engine.tz):%H:%M} local; {len(engine.book)} items on record. "
        "Audit a file with `efir audit FILE`; see docs/."
    )
    return engine
