"""Keep alerts alive in an existing Alertmanager: re-push what it was told is firing.

Alertmanager resolves an alert on its own at its ``endsAt`` unless the client
pushes it again, and expects clients to re-push firing alerts every minute or
so (Prometheus does, every ``resend_delay``). Efir's notifications only go out
on news and reminders, so an acknowledged alert (no reminders) would lapse.
This task re-pushes, every ``resend_s``, each alert an Alertmanager receiver
was told is firing and has not yet been given the all-clear for, with
``endsAt`` ``ends_after_s`` ahead.

A refresh is not a notification: it is not written to the outbox, not
retried, and not in the delivery history (the next one comes ``resend_s``
later; Alertmanager deduplicates by labels). Only the leader refreshes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from efir.config.alerts import AlertmanagerReceiver
from efir.core.alerting.dispatch import Change, Notified
from efir.notify.render import am_alert
from efir.store.outbox import OutboxRow

if TYPE_CHECKING:
    from collections.abc import Callable

    from efir.config.alerts import AlertsConfig
    from efir.metrics import Metrics
    from efir.notify.render import Context
    from efir.notify.send import Sender
    from efir.store.alerts import AlertState

log = logging.getLogger(__name__)


def told_firing(
    state: AlertState, receiver: AlertmanagerReceiver, now: int, ctx: Context
) -> list[dict[str, Any]]:
    """The alerts ``receiver`` was told are firing and not yet told resolved, as pushed."""
    out = []
    for (name, fp), sent in sorted(state.sent.items()):
        alert = state.alerts.get(fp)
        if name != receiver.name or sent.resolved or alert is None:
            continue
        out.append(am_alert(Notified(alert, Change.UNCHANGED), ctx, now, receiver.ends_after_s))
    return out


class AlertmanagerRefresh:
    """Re-pushes every Alertmanager receiver's firing alerts every ``resend_s``."""

    def __init__(
        self,
        config: AlertsConfig,
        sender: Sender,
        metrics: Metrics,
        ctx: Context,
        *,
        now_us: Callable[[], int],
        state: Callable[[], AlertState | None],
    ) -> None:
        """Wire the task; :meth:`run` starts it."""
        self.receivers = [r for r in config.receivers if isinstance(r, AlertmanagerReceiver)]
        self.sender = sender
        self.metrics = metrics
        self.ctx = ctx
        self.now_us = now_us
        self.state = state

    async def run(self, is_leader: Callable[[], bool]) -> None:
        """Refresh each receiver every its ``resend_s`` until cancelled, while ``is_leader()``."""
        if not self.receivers:
            await asyncio.Event().wait()  # nothing to do; cancelled at shutdown
        loop = asyncio.get_running_loop()
        due = {r.name: loop.time() + r.resend_s for r in self.receivers}
        while True:
            await asyncio.sleep(max(0.0, min(due.values()) - loop.time()))
            t = loop.time()
            ready = [r for r in self.receivers if due[r.name] <= t]
            for r in ready:
                due[r.name] = t + r.resend_s
            if is_leader():
                await self.refresh(ready)

    async def refresh(self, receivers: list[AlertmanagerReceiver] | None = None) -> int:
        """Push once to each enabled Alertmanager receiver (default all); return alerts pushed."""
        state = self.state()
        if state is None:
            return 0
        now = self.now_us()
        pushed = 0
        for r in self.receivers if receivers is None else receivers:
            if r.name in state.disabled:
                continue
            alerts = told_firing(state, r, now, self.ctx)
            if not alerts:
                continue
            row = OutboxRow(
                id=self.ctx.make_id(),
                receiver=r.name,
                channel_id="efir",
                summary="refresh",
                body={"alerts": alerts},
                created_us=now,
            )
            result = await self.sender.send(row, r)
            self.metrics.am_refreshes.labels(r.name, result.outcome).inc()
            if result.outcome != "delivered":
                log.warning(
                    "alertmanager %s: refresh of %d alerts not accepted: %s",
                    r.name,
                    len(alerts),
                    result.error,
                )
            pushed += len(alerts)
        return pushed
