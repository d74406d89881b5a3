"""Each receiver type against a real peer: Alertmanager, PagerDuty, Telegram (HTTP doubles), SMTP."""

from __future__ import annotations

import asyncio
import email
import email.policy
import urllib.parse
from collections.abc import Iterator
from dataclasses import replace

import pytest

from efir.config.alerts import (
    AlertmanagerReceiver,
    EmailReceiver,
    PagerDutyReceiver,
    TelegramReceiver,
    WebhookReceiver,
)
from efir.core.alerting.alert import State
from efir.core.alerting.dispatch import Change, Notification, Notified
from efir.notify.render import Context, render
from efir.notify.send import Sender
from tests.helpers import firing_alert
from tests.receiver import Receiver
from tests.services import smtp_inbox

S = 1_000_000
T0 = 1_800_000_000 * S
ALERT = firing_alert(
    "0123456789abcdef",
    at=T0,
    window="2027-01-15T12:00:00+05:00/2027-01-15T18:00:00+05:00",
    summary="Qazaqstan TV: Kazakh share at risk (need 47 min more, by 17:12)",
    description="Air 47 min more of qualifying content, starting by 17:12.",
)
FIRING = Notification("r", "qaz-tv", T0, (Notified(ALERT, Change.NEW),))
RESOLVED = Notification(
    "r",
    "qaz-tv",
    T0 + 60 * S,
    (Notified(replace(ALERT, state=State.RESOLVED, ends_at=T0 + 60 * S), Change.RESOLVED),),
)
CTX = Context("http://efir.test")


@pytest.fixture
def peer() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def test_alertmanager_push(peer: Receiver) -> None:
    r = AlertmanagerReceiver(type="alertmanager", name="am", url=peer.url)
    sender = Sender(clock=lambda: T0 / S)
    for n in (FIRING, RESOLVED):
        (row,) = render(n, r, CTX)
        assert (await sender.send(row, r)).outcome == "delivered"
    await sender.close()
    assert [x.path for x in peer.received] == ["/api/v2/alerts"] * 2
    firing, resolved = peer.bodies()
    assert firing[0]["labels"]["alertname"] == "EfirQuotaRisk"
    assert firing[0]["endsAt"] == "2027-01-15T08:15:00Z"  # ends_after_s 900 by default
    assert resolved[0]["endsAt"] == "2027-01-15T08:01:00Z"


async def test_alertmanager_firing_ends_at_is_set_when_sent_not_when_planned(
    peer: Receiver,
) -> None:
    # A push retried for half an hour must not arrive with an endsAt already past.
    r = AlertmanagerReceiver(type="alertmanager", name="am", url=peer.url, ends_after_s=600)
    (row,) = render(FIRING, r, CTX)
    sent_at = T0 / S + 1800
    sender = Sender(clock=lambda: sent_at)
    assert (await sender.send(row, r)).outcome == "delivered"
    await sender.close()
    (pushed,) = peer.bodies()
    assert pushed[0]["endsAt"] == "2027-01-15T08:40:00Z"  # T0 + 30 min + 10 min
    assert pushed[0]["startsAt"] == "2027-01-15T08:00:00Z"


async def test_pagerduty_trigger_and_resolve_share_the_dedup_key(peer: Receiver) -> None:
    r = PagerDutyReceiver(
        type="pagerduty", name="pd", routing_key="R0UT1NG", url=peer.url + "/v2/enqueue"
    )
    peer.script = [(202, {}), (202, {})]
    sender = Sender()
    for n in (FIRING, RESOLVED):
        for row in render(n, r, CTX):
            assert (await sender.send(row, r)).outcome == "delivered"
    await sender.close()
    trigger, resolve = peer.bodies()
    assert trigger["event_action"] == "trigger"
    assert trigger["routing_key"] == "R0UT1NG"
    assert trigger["payload"]["severity"] == "warning"
    assert resolve == {
        "routing_key": "R0UT1NG",
        "event_action": "resolve",
        "dedup_key": ALERT.fingerprint,
    }


async def test_telegram_message_and_flood_control(peer: Receiver) -> None:
    r = TelegramReceiver(
        type="telegram",
        name="tg",
        bot_token="123:ABC",  # noqa: S106 - a test double's token
        chat_id="-100",
        api_url=peer.url + "/bot{token}",
    )
    sender = Sender()
    (row,) = render(FIRING, r, CTX)
    assert (await sender.send(row, r)).outcome == "delivered"
    peer.script = [(429, {})]
    result = await sender.send(row, r)
    await sender.close()
    assert result.outcome == "retry"
    assert result.retry_after_s == 3
    paths = [x.path for x in peer.received]
    assert paths[0] == "/bot123:ABC/getMe"
    assert paths[1:] == ["/bot123:ABC/sendMessage"] * 2
    form = urllib.parse.parse_qs(peer.received[1].body.decode())
    assert form["chat_id"] == ["-100"]
    assert "47 min more" in form["text"][0]


async def test_email_through_a_real_smtp_server() -> None:
    with smtp_inbox() as (inbox, port):
        r = EmailReceiver(
            type="email",
            name="mail",
            host="127.0.0.1",
            port=port,
            security="none",
            sender="efir@example.kz",
            to=["compliance@example.kz"],
        )
        (row,) = render(FIRING, r, CTX)
        sender = Sender()
        assert (await sender.send(row, r)).outcome == "delivered"
        await sender.close()
        await asyncio.sleep(0.05)
    (raw,) = inbox.messages
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    assert mail["Subject"].strip().startswith("[WARNING] Qazaqstan TV: Kazakh share at risk")
    assert "47 min more" in mail.get_content()
    assert mail["Message-ID"] == f"<{row.id}@efir>"


async def test_webhook_alertmanager_format(peer: Receiver) -> None:
    r = WebhookReceiver(type="webhook", name="hook", url=peer.url, format="alertmanager")
    (row,) = render(FIRING, r, CTX)
    sender = Sender()
    assert (await sender.send(row, r)).outcome == "delivered"
    await sender.close()
    (body,) = peer.bodies()
    assert body["version"] == "4"
    assert body["groupLabels"] == {"channel": "qaz-tv"}
    assert body["alerts"][0]["status"] == "firing"
    assert "webhook-signature" not in peer.received[0].headers  # no secret configured
