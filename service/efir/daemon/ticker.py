"""The ticker: what the daemon does by the clock rather than by an event.

At every window end (and at least every ``tick_s``) it stores the windows
that closed, with late events' revisions; hands them to the alerter; updates
the outbox gauges; stores feed states that changed; and, once an hour, prunes
rows older than the retention.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from efir.core.timebase import US_PER_S
from efir.core.window_object import stored_window
from efir.daemon.monitor import DAY_US
from efir.store.database import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from efir.config.settings import Settings
    from efir.core.window_object import StoredWindow
    from efir.daemon.alerting import Alerter
    from efir.daemon.cataloguing import CatalogueKeeper
    from efir.daemon.monitor import Monitor
    from efir.daemon.reporting import ReportScheduler
    from efir.metrics import Metrics
    from efir.store import Store
    from efir.store.alerts import AlertStore

log = logging.getLogger(__name__)

_PRUNE_EVERY_US = 3600 * US_PER_S


class Ticker:
    """Closed windows, feed states, outbox gauges and retention, on the clock."""

    def __init__(  # noqa: PLR0917 - the parts a tick touches
        self,
        settings: Settings,
        monitor: Monitor,
        store: Store,
        alert_store: AlertStore,
        alerter: Alerter,
        metrics: Metrics,
        *,
        now_us: Callable[[], int],
        reports: ReportScheduler | None = None,
        cataloguing: CatalogueKeeper | None = None,
    ) -> None:
        """Wire; nothing runs until :meth:`run` (or a :meth:`tick`)."""
        self.reports = reports
        self.cataloguing = cataloguing
        self.tick_s = settings.tick_s
        self.retention_days = settings.retention_days
        self.receivers = [r.name for r in settings.alerts.receivers]
        self.monitor = monitor
        self.store = store
        self.alert_store = alert_store
        self.alerter = alerter
        self.metrics = metrics
        self.now_us = now_us
        self._last_prune = 0

    async def run(self) -> None:
        """Tick at window ends and every ``tick_s`` until cancelled."""
        while True:
            now = self.now_us()
            await asyncio.sleep(self.next_wake(now) / US_PER_S)
            try:
                await self.tick()
            except StoreError as exc:
                log.warning("ticker: store error: %s", exc)
            except Exception:
                log.exception("ticker failed; retrying at the next tick")

    def next_wake(self, now: int) -> int:
        """µs from ``now`` to the next tick: ``tick_s``, or the next window boundary if sooner."""
        wake = now + round(self.tick_s * US_PER_S)
        # The window boundaries themselves, not a full evaluation of every rule.
        for ch in self.monitor.channels.values():
            boundary = ch.engine.next_boundary(now)
            if boundary is not None and boundary < wake:
                wake = boundary
        return max(wake - now, 1000)

    async def tick(self) -> None:
        """One round: closed windows, outbox gauges, feed states, retention."""
        now = self.now_us()
        if self.cataloguing is not None:
            # Another instance (the active one, for a standby) may have changed the catalogue.
            await self.cataloguing.refresh(now)
        stored: list[StoredWindow] = []
        for ch, results in self.monitor.closed_windows(now):
            tz, rules = ch.engine.tz, ch.engine.rules
            stored.extend(
                stored_window(ch.profile.id, w, tz, rules[w.rule].rule.type, now) for w in results
            )
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
        pending = await self.alert_store.outbox.counts("pending")  # indexed; delivered rows pile up
        for name in self.receivers:
            self.metrics.outbox_pending.labels(name).set(pending.get((name, "pending"), 0))
        for cid, feed in self.monitor.unsaved_feeds():
            status, last_event, last_heartbeat = feed
            await self.store.save_feed(
                cid,
                adapter_status=status,
                last_event_us=last_event,
                last_heartbeat_us=last_heartbeat,
                now_us=now,
            )
            self.monitor.feed_stored(cid, feed)
        if self.reports is not None:
            await self.reports.tick(now)
        if now - self._last_prune >= _PRUNE_EVERY_US:
            self._last_prune = now
            cutoff = now - self.retention_days * DAY_US
            events, dead = await self.store.prune(cutoff)
            await self.alert_store.prune(cutoff)
            if events or dead:
                log.info("retention: removed %d events and %d dead letters", events, dead)
