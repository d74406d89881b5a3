"""The ticker wakes at window ends (not only every tick_s) and stores what closed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings
from efir.core.timebase import to_us
from efir.schema.asrun import parse_event

ALMATY = ZoneInfo("Asia/Almaty")
S = 1_000_000


def at(text: str) -> int:
    return to_us(datetime.fromisoformat(text).replace(tzinfo=ALMATY))


def _settings(tmp_path: Path, tick_s: float) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
        mqtt_url="mqtt://127.0.0.1:1",
        channels=[ChannelConfig(id="qaz-tv")],
        tick_s=tick_s,
    )


def test_the_next_wake_is_the_next_window_end_when_it_comes_before_the_tick(
    tmp_path: Path,
) -> None:
    now = at("2026-12-01T17:59:50")
    ticker = build(_settings(tmp_path, tick_s=30), now_us=lambda: now).ticker
    # The six-hour interval and the evening hour end at 18:00, ten seconds on.
    assert ticker.next_wake(now) == 10 * S
    # At 18:00:00 the next boundary (19:00, the evening hour) is an hour on: the tick wins.
    assert ticker.next_wake(at("2026-12-01T18:00:00")) == 30 * S


async def test_a_tick_stores_the_windows_that_closed_and_the_feed_that_changed(
    tmp_path: Path,
) -> None:
    clock = [at("2026-12-01T11:00")]
    service = build(_settings(tmp_path, tick_s=30), now_us=lambda: clock[0])
    await service.open()
    try:
        payload = {
            "schema": "efir.asrun/1",
            "channel": "qaz-tv",
            "event_id": "PR-1",
            "phase": "complete",
            "start": "2026-12-01T11:00:00+05:00",
            "duration": 3600,
            "kind": "program",
            "language": "kk",
        }
        now = clock[0]
        service.monitor.apply(parse_event(json.dumps(payload).encode(), now_us=now), now, now)
        clock[0] = at("2026-12-01T12:00:01")
        await service.ticker.tick()
        stored = await service.store.windows(
            "qaz-tv", at("2026-12-01T06:00"), at("2026-12-01T12:00"), "lang_6h"
        )
        assert [w.figures["window_start"] for w in stored] == ["2026-12-01T06:00:00+05:00"]
        assert stored[0].figures["numerator_s"] == 3600.0
        assert (await service.store.feeds())["qaz-tv"][1] == now
        assert service.monitor.unsaved_feeds() == []
    finally:
        await service.store.close()
