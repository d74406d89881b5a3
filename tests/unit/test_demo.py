"""`efir demo` shows every active rule's live status for a simulated channel."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from efir.core.status import Status
from efir.demo import run_demo


def test_demo_replays_the_week_and_shows_each_rule() -> None:
    """A snapshot at a fixed instant: the engine holds the week so far; the table lists the rules."""
    out = io.StringIO()
    now = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)  # Thursday 17:00 in Almaty
    engine = run_demo(Console(file=out, width=160), seconds=0, speed=60, scenario="risky", now=now)
    text = out.getvalue()
    for rule in ("lang_6h", "lang_week", "ads_evening_hour", "sign_news_day"):
        assert rule in text
    assert "Mon 02.03-Mon 09.03" in text
    assert len(engine.book) > 1500  # Monday 00:00 to Thursday 17:00
    # The risky scenario drifts Kazakh content down through each six-hour
    # interval: at 17:00 the 12:00-18:00 interval is in trouble.
    from efir.core.timebase import to_us  # noqa: PLC0415

    statuses = {w.rule: w.status for w in engine.status(to_us(now))}
    assert statuses["lang_6h"] in {Status.AT_RISK, Status.CRITICAL, Status.UNAVOIDABLE}
    assert "start by" in text or "cannot be met" in text
