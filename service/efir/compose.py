"""The composition root: every part of the daemon built and wired once, here.

Nothing else constructs the daemon's parts or connects one to another. The
order below is the order of dependence, so no part is wired after it was
built: the monitor (live state and its lock) first, the store beside it;
the checkpointer (which gives restored ids their versions) before the
writer that calls it; the alerter before the ingest writer it is woken by
and before the delivery worker that asks it which receivers are disabled;
then the ticker, the readiness checks, the API's context and the API, and
last the supervisor (:class:`efir.daemon.service.Service`) that runs them.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from efir.api.app import create_app
from efir.api.context import ApiContext
from efir.config.shards import ShardMap
from efir.daemon.alerting import Alerter
from efir.daemon.broker import EmbeddedBroker
from efir.daemon.cataloguing import CatalogueKeeper
from efir.daemon.checkpoints import Checkpointer
from efir.daemon.enrich import Enrichment
from efir.daemon.fleet import Fleet
from efir.daemon.ingest import Ingest
from efir.daemon.leader import Leadership
from efir.daemon.live_metrics import LiveCollector
from efir.daemon.monitor import Monitor
from efir.daemon.mqtt import MqttConsumer
from efir.daemon.nowplaying import NowPlayingIntake
from efir.daemon.planning import PlanIntake
from efir.daemon.readiness import Readiness
from efir.daemon.reporting import ReportScheduler
from efir.daemon.service import Parts, Service, wall_clock_us
from efir.daemon.ticker import Ticker
from efir.metrics import Metrics
from efir.notify.refresh import AlertmanagerRefresh
from efir.notify.send import Sender
from efir.notify.worker import DeliveryWorker
from efir.store import Store
from efir.store.alerts import AlertStore
from efir.store.catalogue import CatalogueStore
from efir.store.plans import Plans

if TYPE_CHECKING:
    from collections.abc import Callable

    from efir.config.settings import Settings


def build(settings: Settings, *, now_us: Callable[[], int] = wall_clock_us) -> Service:
    """The daemon for ``settings``, every part wired; nothing runs until ``Service.run``."""
    parts = build_parts(settings, now_us=now_us)
    return Service(parts, lambda: create_app(api_context(parts)))


def build_parts(settings: Settings, *, now_us: Callable[[], int] = wall_clock_us) -> Parts:
    """Every part of the daemon, each given what it uses when it is built.

    With shards (docs/scaling.md) every part but the fleet and the API's
    channel list sees this instance's shard's channels only, as if the
    configuration held no others.
    """
    shards = ShardMap.of(settings)
    everything = settings
    settings = shards.local(everything)
    metrics = Metrics()
    store = Store(settings.db_url)
    monitor = Monitor(
        settings.profiles(), stale_after_s=settings.stale_after_s, started_us=now_us()
    )
    live = LiveCollector(monitor, now_us)
    metrics.registry.register(live)
    enrichment = Enrichment.of(settings)
    checkpointer = Checkpointer(
        store,
        monitor,
        metrics,
        holder=settings.mqtt.client_id,
        every_s=settings.checkpoint_every_s,
        lookback_s=settings.checkpoint_lookback_s,
        compact_every_s=settings.compact_every_s,
        now_us=now_us,
        enrichment=enrichment,
    )
    alert_store = AlertStore(store, shards.alert_scope())
    # Set by the alerter and the API when outbox rows are due; the worker waits on it.
    delivery_due = asyncio.Event()
    alerter = Alerter(
        settings,
        monitor,
        alert_store,
        metrics,
        now_us=now_us,
        wake_delivery=delivery_due.set,
        system=shards.primary,
        shared_state=shards.sharded,
    )
    fleet = Fleet(
        shards,
        store,
        metrics,
        me=settings.mqtt.client_id,
        url=settings.advertised_url(),
        now_us=now_us,
        # Called once running, when ``leadership`` (built below) exists.
        leading=lambda: leadership.is_leader,
        configs={c.id: c for c in everything.channels},
    )
    ingest = Ingest(
        store,
        monitor,
        metrics,
        now_us=now_us,
        queue_max=settings.queue_max,
        batch_max=settings.batch_max,
        hydrate=checkpointer.hydrate,
        on_applied=alerter.kick,
        enrichment=enrichment,
        fleet=fleet,
    )
    planning = PlanIntake(Plans(store), monitor)
    cataloguing = CatalogueKeeper(CatalogueStore(store), store, monitor, enrichment, checkpointer)
    live.worklists = cataloguing.worklists
    maps = {c.id: m for c in settings.channels if (m := c.nowplaying_map()) is not None}
    nowplaying = NowPlayingIntake(monitor, ingest, maps)
    consumer = MqttConsumer(
        settings.mqtt_target,
        settings.mqtt,
        ingest,
        monitor,
        metrics,
        now_us=now_us,
        embedded=settings.embedded_broker,
        planning=planning,
        shards=shards,
    )
    sender = Sender(publish=consumer.publish)
    delivery = DeliveryWorker(
        alert_store.outbox,
        settings.alerts,
        sender,
        metrics,
        now_us=now_us,
        disabled=lambda: alerter.disabled,
        on_disabled=alerter.receiver_disabled,
        wakeup=delivery_due,
    )
    am_refresh = AlertmanagerRefresh(
        settings.alerts,
        sender,
        metrics,
        alerter.context,
        now_us=now_us,
        state=lambda: alerter.state,
    )

    async def lead(leader: bool) -> None:
        await alerter.lead(leader)
        delivery.wake()
        fleet.kick()

    leadership = Leadership(
        store,
        shards.lock_id(settings.alerts.leader_lock_id),
        on_change=lead,
        alerts=alert_store,
        holder=settings.mqtt.client_id,
        now_us=now_us,
    )
    reports = ReportScheduler(
        settings,
        monitor,
        store,
        alert_store.outbox,
        enrichment,
        leading=lambda: alerter.state is not None,
        wake_delivery=delivery.wake,
    )
    ticker = Ticker(
        settings, monitor, store, alert_store, alerter, metrics, now_us=now_us, reports=reports,
        cataloguing=cataloguing,
    )  # fmt: skip
    readiness = Readiness(ingest, consumer)
    receivers = [r.name for r in settings.alerts.receivers]
    metrics.known_labels(receivers)
    for name in receivers:
        metrics.receiver_up.labels(name).set(1)
    metrics.ready.set_function(lambda: float(readiness.ready()))
    broker = EmbeddedBroker(settings.embedded_broker_port) if settings.embedded_broker else None
    return Parts(
        settings=settings,
        now_us=now_us,
        metrics=metrics,
        store=store,
        monitor=monitor,
        ingest=ingest,
        consumer=consumer,
        broker=broker,
        checkpointer=checkpointer,
        enrichment=enrichment,
        planning=planning,
        nowplaying=nowplaying,
        cataloguing=cataloguing,
        alert_store=alert_store,
        sender=sender,
        delivery=delivery,
        alerter=alerter,
        am_refresh=am_refresh,
        leadership=leadership,
        ticker=ticker,
        readiness=readiness,
        fleet=fleet,
        stopping=asyncio.Event(),
    )


def api_context(parts: Parts) -> ApiContext:
    """What the API's routes use of ``parts`` (:class:`~efir.api.context.ApiContext`)."""
    settings = parts.settings
    token, read_token = settings.api_token, settings.api_read_token
    write_tokens = (token.get_secret_value().encode(),) if token else ()
    read_tokens = write_tokens + ((read_token.get_secret_value().encode(),) if read_token else ())
    return ApiContext(
        now_us=parts.now_us,
        monitor=parts.monitor,
        store=parts.store,
        ingest=parts.ingest,
        alerter=parts.alerter,
        alert_store=parts.alert_store,
        wake_delivery=parts.delivery.wake,
        registry=parts.metrics.registry,
        readiness=parts.readiness.checks,
        stopping=parts.stopping,
        channel_names={cid: c.name for cid, c in parts.fleet.configs.items()},
        fleet=parts.fleet,
        alerts=settings.alerts,
        write_tokens=write_tokens,
        read_tokens=read_tokens,
        enrichment=parts.enrichment,
        planning=parts.planning,
        nowplaying=parts.nowplaying,
        cataloguing=parts.cataloguing,
    )
