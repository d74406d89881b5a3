"""What the API's routes use of the running daemon, handed to them as one dependency.

The composition root (:mod:`efir.compose`) builds one :class:`ApiContext`
and :func:`efir.api.app.create_app` puts it on the application; every route
takes it as ``ctx: Ctx`` (FastAPI dependency injection). Routes therefore
see these members and nothing else of the daemon, and a test can build the
API from a context of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable

    from prometheus_client import CollectorRegistry

    from efir.config.alerts import AlertsConfig
    from efir.daemon.alerting import Alerter
    from efir.daemon.cataloguing import CatalogueKeeper
    from efir.daemon.enrich import Enrichment
    from efir.daemon.fleet import Fleet
    from efir.daemon.ingest import Ingest
    from efir.daemon.monitor import Monitor
    from efir.daemon.nowplaying import NowPlayingIntake
    from efir.daemon.planning import PlanIntake
    from efir.store import Store
    from efir.store.alerts import AlertStore


@dataclass(frozen=True, slots=True)
class ApiContext:
    """The daemon's parts the routes use.

    Attributes:
        now_us: the clock (µs UTC).
        monitor: live state of every channel (its ``lock`` guards reads off the event loop).
        store: stored windows and dead letters.
        ingest: where posted and replayed payloads go.
        alerter: alerts, silences, receivers' switches (on the leader).
        alert_store: journal, outbox and delivery attempts.
        wake_delivery: tell the delivery worker new rows are due.
        registry: the Prometheus registry ``/metrics`` exposes.
        readiness: one ``ok`` or problem per readiness check.
        stopping: set once shutdown began (long-lived streams end on it).
        channel_names: display name of each channel id (``None``: none configured).
        alerts: the ``alerts:`` configuration (receivers).
        write_tokens: bearer tokens of mutating endpoints (empty: they are off).
        read_tokens: bearer tokens of revealing reads (write tokens included).
        enrichment: the channels' classification, for stored versions read back.
        planning: where planned schedules are received.
        nowplaying: where pushed now-playing documents are received.
        cataloguing: the catalogue, its changes and its worklist.
        fleet: the shards and the other instances (which one serves a
            channel this one does not).
    """

    now_us: Callable[[], int]
    monitor: Monitor
    store: Store
    ingest: Ingest
    alerter: Alerter
    alert_store: AlertStore
    wake_delivery: Callable[[], None]
    registry: CollectorRegistry
    readiness: Callable[[], dict[str, str]]
    stopping: asyncio.Event
    channel_names: dict[str, str | None]
    alerts: AlertsConfig
    write_tokens: tuple[bytes, ...] = ()
    read_tokens: tuple[bytes, ...] = ()
    enrichment: Enrichment | None = None
    planning: PlanIntake | None = None
    nowplaying: NowPlayingIntake | None = None
    cataloguing: CatalogueKeeper | None = None
    fleet: Fleet | None = None


def get_context(request: Request) -> ApiContext:
    """The application's context (set by :func:`efir.api.app.create_app`)."""
    context: ApiContext = request.app.state.context
    return context


#: A route parameter receiving the context.
Ctx = Annotated[ApiContext, Depends(get_context)]
