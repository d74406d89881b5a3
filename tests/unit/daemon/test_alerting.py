"""When the alerter evaluates what: changed channels at once, every channel each tick."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from efir.config.settings import ChannelConfig, Settings
from efir.daemon.alerting import Alerter
from efir.daemon.monitor import Monitor
from efir.metrics import Metrics
from tests.helpers import at

CHANNELS = ["busy", "quiet-1", "quiet-2"]


def _alerter(tick_s: float) -> tuple[Alerter, list[frozenset[str] | None]]:
    settings = Settings(channels=[ChannelConfig(id=c) for c in CHANNELS], tick_s=tick_s)
    monitor = Monitor(settings.profiles(), stale_after_s=300)
    alerter = Alerter(
        settings,
        monitor,
        cast("Any", None),  # the store: evaluate() is replaced below
        Metrics(),
        now_us=lambda: at(2026, 3, 2, 12, 0),
        wake_delivery=lambda: None,
    )
    calls: list[frozenset[str] | None] = []

    async def evaluate(channels: Any = None) -> int:
        calls.append(None if channels is None else frozenset(channels))
        return 0

    alerter.evaluate = evaluate  # type: ignore[method-assign]
    return alerter, calls


async def test_a_batch_evaluates_its_channels_and_quiet_ones_are_evaluated_each_tick() -> None:
    alerter, calls = _alerter(tick_s=0.3)
    task = asyncio.create_task(alerter.run())
    try:
        await asyncio.sleep(0.05)
        assert calls == [None]  # the first evaluation covers every channel
        # A busy channel: a batch every 10 ms for a second, far more often than
        # the tick. Its evaluations name it alone; the quiet channels (their
        # feeds going stale, their deadlines moving) still come every tick.
        for _ in range(100):
            alerter.kick({"busy"})
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
    full = [c for c in calls if c is None]
    assert all(c == {"busy"} for c in calls if c is not None)
    assert len(calls) - len(full) >= 5  # the busy channel is evaluated promptly...
    assert len(calls) <= 70  # ...but batches arriving together are served together
    assert len(full) >= 3  # over a second with a 0.3 s tick: the first and at least two more


async def test_an_operator_action_evaluates_every_channel() -> None:
    alerter, calls = _alerter(tick_s=60)
    task = asyncio.create_task(alerter.run())
    try:
        await asyncio.sleep(0.05)
        alerter.kick({"busy"})
        await asyncio.sleep(0.05)
        alerter.kick()
        await asyncio.sleep(0.05)
    finally:
        task.cancel()
    assert calls == [None, frozenset({"busy"}), None]
