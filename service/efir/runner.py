"""``efir run``: the service, optionally with the simulator and a live table on screen."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import replace
from typing import TYPE_CHECKING

from rich.live import Live

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings
from efir.console import status_table
from efir.i18n import phrasebook
from efir.sim.publish import SimOptions, simulate

if TYPE_CHECKING:
    from rich.console import Console

    from efir.core.phrases import Phrases
    from efir.daemon.service import Service

log = logging.getLogger(__name__)


def with_sim_channels(settings: Settings, options: SimOptions) -> Settings:
    """Add the simulated channels the configuration does not list."""
    have = {c.id for c in settings.channels}
    extra = [
        ChannelConfig(id=cid, media=media, name=f"Simulated {media.upper()}")  # type: ignore[arg-type]
        for cid, media in options.channels
        if cid not in have
    ]
    return settings.model_copy(update={"channels": [*settings.channels, *extra]})


async def run(
    settings: Settings,
    *,
    sim: SimOptions | None = None,
    console: Console | None = None,
    seconds: float | None = None,
    lang: str = "en",
) -> Service:
    """Run until SIGTERM/SIGINT (or ``seconds``); with ``sim``, feed simulated channels.

    ``lang``: the language of the live table on ``console``.
    """
    service = build(settings)
    extras: list[asyncio.Task[None]] = []

    def stop() -> None:
        # The simulator first: the built-in broker cannot stop while it publishes.
        for task in extras:
            task.cancel()
        service.stop()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        async with asyncio.TaskGroup() as tg:
            main = tg.create_task(service.run(install_signals=False), name="service")
            if sim is not None:
                extras.append(tg.create_task(_simulate(service, sim), name="simulator"))
            if console is not None and sim is not None:
                view = _show(service, console, sim.channels[0][0], phrasebook(lang))
                extras.append(tg.create_task(view, name="view"))
            if seconds is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(main), seconds)
                stop()
            await main
            for task in extras:
                task.cancel()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    return service


async def _simulate(service: Service, sim: SimOptions) -> None:
    await service.started.wait()
    await service.consumer.connected.wait()
    options = replace(sim, topic_prefix=service.settings.mqtt.topic_prefix)
    try:
        await simulate(service.settings.mqtt_target, options)
    except Exception:
        log.exception("the simulator stopped")


async def _show(service: Service, console: Console, channel_id: str, say: Phrases) -> None:
    await service.started.wait()
    ch = service.monitor.get(channel_id)
    if ch is None:
        return
    url = f"http://{service.settings.http_host}:{service.http_port}"
    console.print(
        say(
            "Efir is running. Status API: {status}  metrics: {metrics}  API docs: {docs}  "
            "(Ctrl-C stops)",
            status=f"{url}/api/v1/channels/{channel_id}/status",
            metrics=f"{url}/metrics",
            docs=f"{url}/docs",
        )
    )
    if not console.is_terminal:
        while True:  # a log or a pipe: a table every 10 s
            await asyncio.sleep(10)
            console.print(status_table(ch.engine, service.now_us(), say))
    with Live(
        status_table(ch.engine, service.now_us(), say), console=console, auto_refresh=False
    ) as live:
        while True:
            await asyncio.sleep(1)
            live.update(status_table(ch.engine, service.now_us(), say), refresh=True)
