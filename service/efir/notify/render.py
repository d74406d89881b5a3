"""Turn a planned notification into outbox rows: the exact body each receiver gets.

Bodies are rendered once, when the notification is planned, and stored; every
retry sends the same body under the same ``webhook-id``. Secrets (routing keys,
tokens) are never stored in bodies: they are added when sending.

Formats:

* ``efir.alerts/1`` (webhook ``format: efir``, MQTT): the group's alerts with
  labels, annotations, figures and a link to the status page.
* Alertmanager webhook v4 (webhook ``format: alertmanager``).
* Alertmanager API v2 alerts (``POST /api/v2/alerts``).
* PagerDuty Events v2: one event per alert (``dedup_key`` = fingerprint).
* Telegram and e-mail: plain text.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from efir.config.alerts import (
    AlertmanagerReceiver,
    MqttReceiver,
    PagerDutyReceiver,
    TelegramReceiver,
    WebhookReceiver,
)
from efir.core.alerting.alert import State
from efir.core.alerting.dispatch import Change
from efir.core.timebase import from_us
from efir.i18n import phrasebook
from efir.store.outbox import OutboxRow

if TYPE_CHECKING:
    from collections.abc import Callable

    from efir.config.alerts import Receiver
    from efir.core.alerting.alert import Alert
    from efir.core.alerting.dispatch import Notification, Notified
    from efir.core.phrases import Phrases

SCHEMA = "efir.alerts/1"


def new_id() -> str:
    """A fresh ``webhook-id`` (``msg_`` + 32 hex digits)."""
    return f"msg_{uuid.uuid4().hex}"


def rfc3339(us: int | None) -> str | None:
    """``2026-11-22T07:12:00Z`` (UTC), or ``None``."""
    if us is None:
        return None
    return from_us(us).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Context:
    """What rendering needs besides the notification."""

    external_url: str
    make_id: Callable[[], str] = new_id

    def status_page(self, channel: str) -> str:
        """The channel's status link."""
        base = self.external_url.rstrip("/")
        if channel == "efir":
            return f"{base}/api/v1/deliveries"
        return f"{base}/api/v1/channels/{channel}/status"


def alert_status(n: Notified) -> str:
    """``firing`` or ``resolved`` as receivers read it."""
    return "resolved" if n.change is Change.RESOLVED else "firing"


def efir_alert(n: Notified) -> dict[str, Any]:
    """One alert in Efir's JSON."""
    a = n.alert
    return {
        "fingerprint": a.fingerprint,
        "status": alert_status(n),
        "change": n.change.value,
        "labels": a.labels,
        "annotations": {"summary": a.summary, "description": a.description},
        "starts_at": rfc3339(a.starts_at or a.active_since),
        "ends_at": rfc3339(a.ends_at) if a.state is State.RESOLVED else None,
        "episode": a.episode,
        "acknowledged_by": a.acked_by,
        "values": a.values,
    }


def efir_body(n: Notification, ctx: Context) -> dict[str, Any]:
    """The ``efir.alerts/1`` body of a notification."""
    return {
        "schema": SCHEMA,
        "receiver": n.receiver,
        "group": {"channel": n.group},
        "status": n.status,
        "created_at": rfc3339(n.created_at),
        "status_page": ctx.status_page(n.group),
        "alerts": [efir_alert(x) for x in n.alerts],
    }


def am_alert(n: Notified, ctx: Context, now: int, ends_after_s: float) -> dict[str, Any]:
    """One alert in Alertmanager's API v2 shape.

    A firing alert ends ``ends_after_s`` after ``now`` unless pushed again (see
    :mod:`efir.notify.refresh`); the sender moves that ahead when it sends.
    """
    a = n.alert
    resolved = n.change is Change.RESOLVED
    ends = a.ends_at if resolved and a.ends_at is not None else now + round(ends_after_s * 1e6)
    return {
        "labels": a.labels,
        "annotations": {"summary": a.summary, "description": a.description},
        "startsAt": rfc3339(a.starts_at or a.active_since),
        "endsAt": rfc3339(ends),
        "generatorURL": ctx.status_page(a.channel),
    }


def am_webhook_body(n: Notification, ctx: Context) -> dict[str, Any]:
    """Alertmanager's webhook v4 body, for receivers written for Alertmanager."""
    alerts = []
    for x in n.alerts:
        body = am_alert(x, ctx, n.created_at, 0)  # a firing endsAt is replaced below
        body["status"] = alert_status(x)
        body["fingerprint"] = x.alert.fingerprint
        if x.change is not Change.RESOLVED:
            body["endsAt"] = "0001-01-01T00:00:00Z"  # what Alertmanager sends for firing alerts
        alerts.append(body)
    label_sets = [x.alert.labels for x in n.alerts]
    common = {k: v for k, v in label_sets[0].items() if all(ls.get(k) == v for ls in label_sets)}
    annotation_sets = [a["annotations"] for a in alerts]
    common_ann = {
        k: v for k, v in annotation_sets[0].items() if all(s.get(k) == v for s in annotation_sets)
    }
    return {
        "version": "4",
        "groupKey": f'{{}}:{{channel="{n.group}"}}',
        "truncatedAlerts": 0,
        "status": n.status,
        "receiver": n.receiver,
        "groupLabels": {"channel": n.group},
        "commonLabels": common,
        "commonAnnotations": common_ann,
        "externalURL": ctx.external_url,
        "alerts": alerts,
    }


def pagerduty_event(n: Notified, ctx: Context) -> dict[str, Any]:
    """A PagerDuty Events v2 event, without the routing key (added when sending)."""
    a = n.alert
    if n.change is Change.RESOLVED:
        return {"event_action": "resolve", "dedup_key": a.fingerprint}
    return {
        "event_action": "trigger",
        "dedup_key": a.fingerprint,
        "payload": {
            "summary": a.summary[:1024],
            "source": f"efir/{a.channel}",
            "severity": a.severity.value,
            "timestamp": rfc3339(a.starts_at or a.active_since),
            "component": a.rule,
            "group": a.channel,
            "class": a.alertname,
            "custom_details": {"description": a.description, "window": a.window, **a.values},
        },
        "links": [{"href": ctx.status_page(a.channel), "text": "Efir status"}],
    }


def plain_text(n: Notification, ctx: Context, say: Phrases | None = None) -> tuple[str, str]:
    """Subject and text for chat and e-mail, worded in the language of ``say``."""
    say = say or phrasebook("en")
    firing = [x for x in n.alerts if x.change is not Change.RESOLVED]
    resolved = [x for x in n.alerts if x.change is Change.RESOLVED]
    done = say("RESOLVED")
    worst = max((x.alert.severity for x in firing), key=lambda s: s.rank, default=None)
    if firing:
        subject = f"[{say(worst.value).upper() if worst else ''}] {firing[0].alert.summary}"
        if len(firing) > 1:
            subject += " " + say("(+{n} more)", n=len(firing) - 1)
    else:
        subject = f"[{done}] {resolved[0].alert.summary}"
    lines: list[str] = []
    for x in firing:
        lines += [_line(x.alert, x.change, say), x.alert.description, ""]
    for x in resolved:
        lines += [f"{done}: {x.alert.summary}", x.alert.description, ""]
    lines.append(say("Status: {link}", link=ctx.status_page(n.group)))
    return subject, "\n".join(lines)


def _line(a: Alert, change: Change, say: Phrases) -> str:
    tag = {Change.ESCALATED: say("(escalated)"), Change.REMINDER: say("(reminder)")}.get(change)
    return f"{say(a.severity.value).upper()}{' ' + tag if tag else ''}: {a.summary}"


def in_language(n: Notification, lang: str) -> Notification:
    """``n`` with each alert's summary and description in ``lang`` (English if it has none)."""
    if lang == "en":
        return n
    alerts = []
    for x in n.alerts:
        summary, description = x.alert.words(lang)
        alerts.append(replace(x, alert=replace(x.alert, summary=summary, description=description)))
    return replace(n, alerts=tuple(alerts))


def render(n: Notification, receiver: Receiver, ctx: Context) -> list[OutboxRow]:
    """The outbox rows for one notification to one receiver, in the receiver's language."""
    n = in_language(n, receiver.lang)
    subject, text = plain_text(n, ctx, phrasebook(receiver.lang))

    def row(body: dict[str, Any], summary: str = subject) -> OutboxRow:
        return OutboxRow(
            id=ctx.make_id(),
            receiver=n.receiver,
            channel_id=n.group,
            summary=summary[:500],
            body=body,
            created_us=n.created_at,
            next_attempt_us=n.created_at,
        )

    if isinstance(receiver, WebhookReceiver):
        body = am_webhook_body(n, ctx) if receiver.format == "alertmanager" else efir_body(n, ctx)
        return [row(body)]
    if isinstance(receiver, AlertmanagerReceiver):
        ttl = receiver.ends_after_s
        return [
            row(
                {
                    "alerts": [am_alert(x, ctx, n.created_at, ttl) for x in n.alerts],
                    # Which alerts fire: their endsAt is set afresh at each attempt, so a
                    # retried push cannot arrive with an endsAt already past.
                    "firing": [x.change is not Change.RESOLVED for x in n.alerts],
                }
            )
        ]
    if isinstance(receiver, PagerDutyReceiver):
        return [
            row(pagerduty_event(x, ctx), f"{alert_status(x)}: {x.alert.summary}")
            for x in n.alerts
            if x.change is not Change.UNCHANGED
        ]
    if isinstance(receiver, MqttReceiver):
        topic = receiver.topic.replace("{channel}", n.group)
        return [row({"topic": topic, "payload": efir_body(n, ctx)})]
    if isinstance(receiver, TelegramReceiver):
        return [row({"text": f"{subject}\n\n{text}"[:4096]})]
    # E-mail: the last type of the closed union.
    return [row({"subject": subject, "text": text})]
