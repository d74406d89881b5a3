"""The daemon's supervisor: one asyncio process, one owner of every task.

The parts are built and wired by :func:`efir.compose.build`; ``Service.run``
starts (in order) the built-in broker if no broker is configured, the store,
the live state rebuilt from it, then under one ``TaskGroup``: the ingest
writer, the MQTT consumer, the ticker, the HTTP server, checkpoints, the
sender lease, the alerter, delivery and the Alertmanager refresh.
``stop`` (SIGTERM, SIGINT) shuts down in the order that loses nothing: stop
HTTP, stop reading MQTT, commit and acknowledge what was read, say
``offline``, close the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import uvicorn

from efir.core.timebase import to_us
from efir.daemon.checkpoints import parse_stored
from efir.daemon.monitor import HORIZON_US, live_since
from efir.store.database import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from starlette.types import ASGIApp

    from efir.config.settings import Settings
    from efir.daemon.alerting import Alerter
    from efir.daemon.broker import EmbeddedBroker
    from efir.daemon.cataloguing import CatalogueKeeper
    from efir.daemon.checkpoints import Checkpointer
    from efir.daemon.enrich import Enrichment
    from efir.daemon.fleet import Fleet
    from efir.daemon.ingest import Ingest
    from efir.daemon.leader import Leadership
    from efir.daemon.monitor import Monitor
    from efir.daemon.mqtt import MqttConsumer
    from efir.daemon.nowplaying import NowPlayingIntake
    from efir.daemon.planning import PlanIntake
    from efir.daemon.readiness import Readiness
    from efir.daemon.ticker import Ticker
    from efir.metrics import Metrics
    from efir.notify.refresh import AlertmanagerRefresh
    from efir.notify.send import Sender
    from efir.notify.worker import DeliveryWorker
    from efir.store import Store
    from efir.store.alerts import AlertStore

log = logging.getLogger(__name__)

#: Graceful shutdown must finish within this (the issue's 10 s, minus a margin).
SHUTDOWN_BUDGET_S = 8.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the supervisor owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def wall_clock_us() -> int:
    """Now, in µs UTC."""
    return to_us(datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Parts:
    """Everything one Efir process runs, built and wired once by :func:`efir.compose.build`."""

    settings: Settings
    now_us: Callable[[], int]
    metrics: Metrics
    store: Store
    monitor: Monitor
    ingest: Ingest
    consumer: MqttConsumer
    broker: EmbeddedBroker | None
    checkpointer: Checkpointer
    enrichment: Enrichment
    planning: PlanIntake
    nowplaying: NowPlayingIntake
    cataloguing: CatalogueKeeper
    alert_store: AlertStore
    sender: Sender
    delivery: DeliveryWorker
    alerter: Alerter
    am_refresh: AlertmanagerRefresh
    leadership: Leadership
    ticker: Ticker
    readiness: Readiness
    #: This instance's shard, the other instances and every shard's channels (docs/scaling.md).
    fleet: Fleet
    #: Set once shutdown has begun (long-lived HTTP streams end on it).
    stopping: asyncio.Event


class Service:
    """The supervisor: starts the parts in order, runs them, stops them losing nothing.

    Built by :func:`efir.compose.build`; the parts are its attributes.
    """

    def __init__(self, parts: Parts, make_app: Callable[[], ASGIApp]) -> None:
        """Supervise ``parts`` and serve the API ``make_app`` builds, once :meth:`run` starts."""
        self.parts = parts
        self._make_app = make_app
        self.settings = parts.settings
        self.now_us = parts.now_us
        self.metrics = parts.metrics
        self.store = parts.store
        self.monitor = parts.monitor
        self.ingest = parts.ingest
        self.consumer = parts.consumer
        self.broker = parts.broker
        self.checkpointer = parts.checkpointer
        self.enrichment = parts.enrichment
        self.planning = parts.planning
        self.cataloguing = parts.cataloguing
        self.alert_store = parts.alert_store
        self.sender = parts.sender
        self.delivery = parts.delivery
        self.alerter = parts.alerter
        self.am_refresh = parts.am_refresh
        self.leadership = parts.leadership
        self.ticker = parts.ticker
        self.fleet = parts.fleet
        self._readiness = parts.readiness
        self._stop = parts.stopping
        #: Channels restored from a checkpoint at the last :meth:`open` (the rest replayed).
        self.restored: set[str] = set()
        self.ready_after_s: float | None = None
        self.http_port: int | None = None
        self.started = asyncio.Event()

    @functools.cached_property
    def app(self) -> ASGIApp:
        """The HTTP API, built when first asked for (by :meth:`run`, or a test's client).

        Not at construction: FastAPI caches each application's route analysis
        in process-wide caches, so every application built stays in memory;
        a process that builds services without serving them (benchmarks,
        tools) should not pay for that.
        """
        return self._make_app()

    @property
    def loaded(self) -> bool:
        """The live state has been rebuilt from the store."""
        return self._readiness.loaded

    @property
    def stopping(self) -> asyncio.Event:
        """Set once shutdown has begun (long-lived HTTP streams end on it)."""
        return self._stop

    def readiness(self) -> dict[str, str]:
        """One entry per readiness check: ``ok`` or what is wrong (``/readyz``, ``efir_ready``)."""
        return self._readiness.checks()

    # ------------------------------------------------------------- startup
    async def open(self) -> None:
        """Open the store and rebuild the live state from it.

        Channels with a usable checkpoint are restored from it and the rows
        after it; the others are rebuilt from the live horizon's stored
        versions. The cyclic garbage collector is paused meanwhile and the
        rebuilt state frozen out of its scans (millions of long-lived objects
        it would otherwise walk again and again).
        """
        t0 = time.perf_counter()
        await self.store.open()
        now = self.now_us()
        await self.store.sync_channels(
            [c.model_dump(mode="json") for c in self.settings.channels], now
        )
        feeds = await self.store.feeds()
        # The catalogue first: the events read back are enriched with it, as at ingest.
        entries = await self.cataloguing.load()
        since = now - HORIZON_US
        gc.disable()
        try:
            self.restored = restored = await self.checkpointer.restore(since, now)
            for cid, ch in self.monitor.channels.items():
                if cid not in restored:
                    stored = await self.store.load_events(cid, since)
                    self.monitor.load(cid, parse_stored(cid, stored, self.enrichment), now)
                self.monitor.restore_feed(cid, *feeds.get(cid, (None, None, None)))
                if len(ch.engine) or ch.events:
                    # Re-offer every closed window of the live horizon: what closed while
                    # Efir was down, and what a crash kept from being stored.
                    self.monitor.start_closing_from(cid, live_since(now))
            plans = await self.planning.restore(live_since(now))
        finally:
            gc.enable()
            gc.freeze()
        if plans:
            log.info("%d plan versions applied again", plans)
        if entries:
            log.info("catalogue: %d entries", entries)
        self._readiness.loaded = True
        self.ready_after_s = time.perf_counter() - t0
        self.metrics.restart_seconds.set(self.ready_after_s)
        log.info(
            "state rebuilt in %.2f s: %d channels (%d from checkpoints), %d items",
            self.ready_after_s,
            len(self.monitor.channels),
            len(restored),
            sum(len(c.engine) for c in self.monitor.channels.values()),
        )
        if not self.monitor.channels:
            log.warning(
                "no channels configured: every event will go to dead letters. "
                "List them under channels: in the file named by EFIR_CONFIG"
            )

    # --------------------------------------------------------------- run
    async def run(self, *, install_signals: bool = True) -> None:
        """Run until :meth:`stop` (or SIGTERM/SIGINT)."""
        if install_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        if self.broker is not None:
            await self.broker.start()
        try:
            await self.open()
            config = uvicorn.Config(
                self.app,
                host=self.settings.http_host,
                port=self.settings.http_port,
                log_level="warning",
                # uvicorn's lines go through Efir's handler (JSON or plain, secrets masked).
                log_config=None,
                lifespan="off",
                timeout_graceful_shutdown=2,
            )
            server = _Server(config)
            # Closed windows first: the alerter must know recorded violations before it runs.
            await self.ticker.tick()
            self.alerter.primed = True
            async with asyncio.TaskGroup() as tg:
                writer = tg.create_task(self.ingest.run(), name="ingest-writer")
                consumer = tg.create_task(self.consumer.run(), name="mqtt-consumer")
                ticker = tg.create_task(self.ticker.run(), name="ticker")
                http = tg.create_task(server.serve(), name="http")
                tg.create_task(self._announce(server), name="announce")
                checkpoints = tg.create_task(self.checkpointer.run(), name="checkpoints")
                lease = tg.create_task(self.leadership.run(), name="sender-lease")
                fleet = tg.create_task(self.fleet.run(), name="fleet")
                alerts = tg.create_task(self.alerter.run(), name="alerter")
                delivery = tg.create_task(
                    self.delivery.run(lambda: self.leadership.is_leader and self.alerter.active),
                    name="delivery",
                )
                refresh = tg.create_task(
                    self.am_refresh.run(lambda: self.leadership.is_leader and self.alerter.active),
                    name="alertmanager-refresh",
                )
                await self._stop.wait()
                checkpoints.cancel()  # the shutdown takes its own, after the last commit
                await self._shutdown(server, http, consumer, writer, ticker)
                await self._stop_alerting(alerts, delivery, refresh, lease)
                fleet.cancel()
                await self.fleet.leave()
        finally:
            with contextlib.suppress(Exception):
                await self.sender.close()
            with contextlib.suppress(Exception):
                await self.store.close()
            if self.broker is not None:
                # amqtt waits for connected clients; do not let it hold up the exit.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.broker.stop(), 2)
        log.info("stopped")

    async def _stop_alerting(
        self,
        alerts: asyncio.Task[None],
        delivery: asyncio.Task[None],
        refresh: asyncio.Task[None],
        lease: asyncio.Task[None],
    ) -> None:
        """Plan what the last figures call for, try to send it, then give up the lease."""
        alerts.cancel()
        delivery.cancel()
        refresh.cancel()
        try:
            async with asyncio.timeout(2.0):
                await self.alerter.evaluate()
                if self.leadership.is_leader:
                    await self.delivery.deliver_due()
        except (TimeoutError, StoreError) as exc:
            log.warning("pending notifications stay in the outbox for the next start: %r", exc)
        except Exception:
            log.exception("the last alert evaluation failed; notifications stay in the outbox")
        finally:
            # Always: a standby must not wait out a lease its holder no longer uses.
            lease.cancel()
            with contextlib.suppress(Exception):
                await self.leadership.release()

    def stop(self) -> None:
        """Ask the service to shut down gracefully."""
        log.info("shutting down")
        self._stop.set()

    async def _announce(self, server: uvicorn.Server) -> None:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers a flag, not an event
            await asyncio.sleep(0.05)
        sockets = [s for srv in server.servers for s in srv.sockets]
        self.http_port = sockets[0].getsockname()[1] if sockets else self.settings.http_port
        url = self.settings.advertised_url(self.http_port)
        if url != self.fleet.url:  # the port chosen, when it was 0
            self.fleet.url = url
            self.fleet.kick()
        log.info(
            "status API on http://%s:%s/api/v1/channels", self.settings.http_host, self.http_port
        )
        self.started.set()

    async def _shutdown(
        self,
        server: uvicorn.Server,
        http: asyncio.Task[None],
        consumer: asyncio.Task[None],
        writer: asyncio.Task[None],
        ticker: asyncio.Task[None],
    ) -> None:
        server.should_exit = True
        await self.consumer.stop()
        try:
            async with asyncio.timeout(SHUTDOWN_BUDGET_S):
                await asyncio.wait({http, consumer})
                await self.ingest.idle()
                await self.ticker.tick()
                # What the rest of the budget allows, so the next start replays little.
                await self.checkpointer.take_all()
        except TimeoutError:
            log.error(
                "shutdown took longer than %.0f s; unacknowledged events will be redelivered",
                SHUTDOWN_BUDGET_S,
            )
        except StoreError as exc:
            log.error("could not store final figures: %s", exc)
        finally:
            for task in (writer, ticker, consumer, http):
                task.cancel()
