"""The daemon: one asyncio process, one supervisor owning every task.

``Service.run`` starts (in order) the store, the live state rebuilt from it, the
built-in broker if no broker is configured, then under one ``TaskGroup``: the
ingest writer, the MQTT consumer, the evaluation ticker and the HTTP server.
``stop`` (SIGTERM, SIGINT) shuts down in the order that loses nothing: stop
HTTP, stop reading MQTT, commit and acknowledge what was read, say
``offline``, close the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import uvicorn

from efir.core.timebase import US_PER_S, to_us
from efir.daemon.alerting import Alerter
from efir.daemon.broker import EmbeddedBroker
from efir.daemon.checkpoints import Checkpointer, parse_stored
from efir.daemon.ingest import Ingest
from efir.daemon.leader import Leadership
from efir.daemon.monitor import DAY_US, HORIZON_US, Monitor, live_since
from efir.daemon.mqtt import MqttConsumer
from efir.daemon.windows import stored_window
from efir.metrics import Metrics
from efir.notify.refresh import AlertmanagerRefresh
from efir.notify.send import Sender
from efir.notify.worker import DeliveryWorker
from efir.store import Store
from efir.store.alerts import AlertStore
from efir.store.database import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from efir.config.settings import Settings
    from efir.store.database import StoredWindow

log = logging.getLogger(__name__)

#: Graceful shutdown must finish within this (the issue's 10 s, minus a margin).
SHUTDOWN_BUDGET_S = 8.0
_PRUNE_EVERY_US = 3600 * US_PER_S


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the supervisor owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def wall_clock_us() -> int:
    """Now, in µs UTC."""
    return to_us(datetime.now(UTC))


class Service:
    """Everything one Efir process runs. Built by :func:`efir.cli` or by tests."""

    def __init__(self, settings: Settings, *, now_us: Callable[[], int] = wall_clock_us) -> None:
        """Wire the parts; nothing runs until :meth:`run`."""
        self.settings = settings
        self.now_us = now_us
        self.metrics = Metrics()
        self.store = Store(settings.db_url)
        self.monitor = Monitor(
            settings.profiles(), stale_after_s=settings.stale_after_s, started_us=now_us()
        )
        self.metrics.watch(self.monitor, now_us)
        self.ingest = Ingest(
            self.store,
            self.monitor,
            self.metrics,
            now_us=now_us,
            queue_max=settings.queue_max,
            batch_max=settings.batch_max,
        )
        self.consumer = MqttConsumer(
            settings.mqtt_target,
            settings.mqtt,
            self.ingest,
            self.monitor,
            self.metrics,
            now_us=now_us,
            embedded=settings.embedded_broker,
        )
        self.broker = (
            EmbeddedBroker(settings.embedded_broker_port) if settings.embedded_broker else None
        )
        self.checkpointer = Checkpointer(
            self.store,
            self.monitor,
            self.ingest,
            self.metrics,
            holder=settings.mqtt.client_id,
            every_s=settings.checkpoint_every_s,
            lookback_s=settings.checkpoint_lookback_s,
            compact_every_s=settings.compact_every_s,
            now_us=now_us,
        )
        self.ingest.hydrate = self.checkpointer.hydrate
        self.alert_store = AlertStore(self.store)
        self.sender = Sender(publish=self.consumer.publish)
        self.delivery = DeliveryWorker(
            self.alert_store,
            settings.alerts,
            self.sender,
            self.metrics,
            now_us=now_us,
            disabled=lambda: self.alerter.disabled,
            on_disabled=lambda name, reason: self.alerter.receiver_disabled(name, reason),  # noqa: PLW0108 - the alerter is built after the worker
        )
        self.alerter = Alerter(
            settings,
            self.monitor,
            self.alert_store,
            self.metrics,
            now_us=now_us,
            wake_delivery=self.delivery.wake,
        )
        self.ingest.on_applied = self.alerter.kick
        self.am_refresh = AlertmanagerRefresh(
            settings.alerts,
            self.sender,
            self.metrics,
            self.alerter.context,
            now_us=now_us,
            state=lambda: self.alerter.state,
        )
        self.leadership = Leadership(
            self.store,
            settings.alerts.leader_lock_id,
            on_change=self._lead,
            alerts=self.alert_store,
            holder=settings.mqtt.client_id,
            now_us=now_us,
        )
        self.metrics.known_labels([r.name for r in settings.alerts.receivers])
        for r in settings.alerts.receivers:
            self.metrics.receiver_up.labels(r.name).set(1)
        self.metrics.ready.set_function(
            lambda: float(all(v == "ok" for v in self.readiness().values()))
        )
        self.loaded = False
        #: Channels restored from a checkpoint at the last :meth:`open` (the rest replayed).
        self.restored: set[str] = set()
        self.ready_after_s: float | None = None
        self.http_port: int | None = None
        self.started = asyncio.Event()
        self._stop = asyncio.Event()
        self._last_prune = 0
        self._feeds_saved: dict[str, tuple[str | None, int | None, int | None]] = {}

    @property
    def stopping(self) -> asyncio.Event:
        """Set once shutdown has begun (long-lived HTTP streams end on it)."""
        return self._stop

    def readiness(self) -> dict[str, str]:
        """One entry per readiness check: ``ok`` or what is wrong (``/readyz``, ``efir_ready``)."""
        mqtt = self.consumer.state
        return {
            "state": "ok" if self.loaded else "rebuilding live state from the store",
            "store": "ok"
            if self.ingest.store_error is None
            else f"unavailable: {self.ingest.store_error}",
            "mqtt": "ok"
            if mqtt.connected
            else ("refused: " if mqtt.refused else "disconnected: ") + (mqtt.error or "connecting"),
            "queue": "ok"
            if not self.ingest.saturated
            else f"backpressure: {self.ingest.queue.qsize()} events queued",
        }

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
        since = now - HORIZON_US
        gc.disable()
        try:
            self.restored = restored = await self.checkpointer.restore(since, now)
            for cid, ch in self.monitor.channels.items():
                if cid not in restored:
                    stored = await self.store.load_events(cid, since)
                    self.monitor.load(cid, parse_stored(cid, stored), now)
                status, last_event, last_heartbeat = feeds.get(cid, (None, None, None))
                ch.feed.adapter_status, ch.feed.last_event_us = status, last_event
                ch.feed.last_heartbeat_us = last_heartbeat
                self._feeds_saved[cid] = (status, last_event, last_heartbeat)
                if len(ch.engine.book) or ch.events:
                    # Re-offer every closed window of the live horizon: what closed while
                    # Efir was down, and what a crash kept from being stored.
                    self.monitor.start_closing_from(cid, live_since(now))
        finally:
            gc.enable()
            gc.freeze()
        self.loaded = True
        self.ready_after_s = time.perf_counter() - t0
        self.metrics.restart_seconds.set(self.ready_after_s)
        log.info(
            "state rebuilt in %.2f s: %d channels (%d from checkpoints), %d items",
            self.ready_after_s,
            len(self.monitor.channels),
            len(restored),
            sum(len(c.engine.book) for c in self.monitor.channels.values()),
        )
        if not self.monitor.channels:
            log.warning(
                "no channels configured: every event will go to dead letters. "
                "List them under channels: in the file named by EFIR_CONFIG"
            )

    # --------------------------------------------------------------- run
    async def run(self, *, install_signals: bool = True) -> None:
        """Run until :meth:`stop` (or SIGTERM/SIGINT)."""
        from efir.api.app import create_app  # noqa: PLC0415 - the API imports this module

        if install_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        if self.broker is not None:
            await self.broker.start()
        try:
            await self.open()
            config = uvicorn.Config(
                create_app(self),
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
            await self._tick()
            self.alerter.primed = True
            async with asyncio.TaskGroup() as tg:
                writer = tg.create_task(self.ingest.run(), name="ingest-writer")
                consumer = tg.create_task(self.consumer.run(), name="mqtt-consumer")
                ticker = tg.create_task(self._ticker(), name="ticker")
                http = tg.create_task(server.serve(), name="http")
                tg.create_task(self._announce(server), name="announce")
                checkpoints = tg.create_task(self.checkpointer.run(), name="checkpoints")
                lease = tg.create_task(self.leadership.run(), name="sender-lease")
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

    async def _lead(self, leader: bool) -> None:
        await self.alerter.lead(leader)
        self.delivery.wake()

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
                await self._tick()
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

    # ------------------------------------------------------------ ticker
    async def _ticker(self) -> None:
        """Store closed windows, feed states and prune, at window ends and every ``tick_s``."""
        while True:
            now = self.now_us()
            await asyncio.sleep(self._next_wake(now) / US_PER_S)
            try:
                await self._tick()
            except StoreError as exc:
                log.warning("ticker: store error: %s", exc)
            except Exception:
                log.exception("ticker failed; retrying at the next tick")

    def _next_wake(self, now: int) -> int:
        wake = now + round(self.settings.tick_s * US_PER_S)
        # The window boundaries themselves, not a full evaluation of every rule.
        for ch in self.monitor.channels.values():
            for scheme in range(len(ch.engine.calendar.schemes)):
                window = ch.engine.ledger.window_at(scheme, now)
                if window is not None and now < window[1] < wake:
                    wake = window[1]
        return max(wake - now, 1000)

    async def _tick(self) -> None:
        now = self.now_us()
        stored: list[StoredWindow] = []
        for ch, results in self.monitor.closed_windows(now):
            stored.extend(stored_window(ch, w, now) for w in results)
            self.alerter.on_closed(ch, results, now)
        for w in await self.store.save_windows(stored):
            self.metrics.window_revisions.labels(w.channel_id, w.rule).inc()
            # A changed verdict is news for the compliance officer; changed figures are not.
            log.log(
                logging.WARNING if w.revised_from else logging.INFO,
                "late event revised %s %s window starting %s: %s%s (revision %d)",
                w.channel_id,
                w.rule,
                w.figures.get("window_start"),
                f"verdict {w.revised_from} -> " if w.revised_from else "figures changed, verdict ",
                w.verdict,
                w.revision,
            )
        pending = await self.alert_store.counts("pending")  # indexed; delivered rows pile up
        for r in self.settings.alerts.receivers:
            self.metrics.outbox_pending.labels(r.name).set(pending.get((r.name, "pending"), 0))
        for cid, ch in self.monitor.channels.items():
            feed = (ch.feed.adapter_status, ch.feed.last_event_us, ch.feed.last_heartbeat_us)
            if feed != self._feeds_saved.get(cid):
                await self.store.save_feed(
                    cid,
                    adapter_status=feed[0],
                    last_event_us=feed[1],
                    last_heartbeat_us=feed[2],
                    now_us=now,
                )
                self._feeds_saved[cid] = feed
        if now - self._last_prune >= _PRUNE_EVERY_US:
            self._last_prune = now
            cutoff = now - self.settings.retention_days * DAY_US
            events, dead = await self.store.prune(cutoff)
            await self.alert_store.prune(cutoff)
            if events or dead:
                log.info("retention: removed %d events and %d dead letters", events, dead)
