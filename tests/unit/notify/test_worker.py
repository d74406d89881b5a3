"""Delivery against a real HTTP receiver, under a fake clock: retries, backoff, Retry-After, 410."""

from __future__ import annotations

import base64
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from efir.config.alerts import AlertsConfig, WebhookReceiver
from efir.metrics import Metrics
from efir.notify.send import Sender
from efir.notify.worker import DeliveryWorker
from efir.store import Store
from efir.store.alerts import AlertStore
from efir.store.outbox import OutboxRow
from tests.receiver import Receiver

S = 1_000_000
T0 = 1_800_000_000 * S
SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


class Clock:
    def __init__(self) -> None:
        self.us = T0

    def __call__(self) -> int:
        return self.us

    def seconds(self) -> float:
        return self.us / S


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
async def alert_store(tmp_path: Path) -> AsyncIterator[AlertStore]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'efir.db'}")
    await store.open()
    yield AlertStore(store)
    await store.close()


def worker_for(
    alert_store: AlertStore, receiver: Receiver, clock: Clock, disabled: list[tuple[str, str]]
) -> DeliveryWorker:
    config = AlertsConfig(
        receivers=[
            WebhookReceiver(
                type="webhook", name="ops", url=receiver.url + "/hook", secrets=[SECRET]
            )
        ]
    )
    return DeliveryWorker(
        alert_store.outbox,
        config,
        Sender(),  # signatures carry the real time; the schedule runs on the fake clock
        Metrics(),
        now_us=clock,
        disabled=lambda: dict(disabled),
        on_disabled=lambda name, reason: disabled.append((name, reason)),
        rng=random.Random(7),
    )


async def enqueue(alert_store: AlertStore, msg_id: str, created: int = T0) -> None:
    row = OutboxRow(
        msg_id,
        "ops",
        "qaz-tv",
        "test",
        {"schema": "efir.alerts/1", "text": "Қазақша"},
        created,
        next_attempt_us=created,
    )
    await alert_store.commit(changes={}, sent={}, groups={}, rows=[row], now=created)


async def row(alert_store: AlertStore, msg_id: str) -> OutboxRow:
    return next(r for r in await alert_store.outbox.outbox_rows() if r.id == msg_id)


async def test_retries_on_500_with_capped_jittered_backoff_and_the_same_id(
    alert_store: AlertStore, receiver: Receiver
) -> None:
    clock, disabled = Clock(), []
    w = worker_for(alert_store, receiver, clock, disabled)
    receiver.script = [(500, {}), (500, {}), (502, {}), (200, {})]
    await enqueue(alert_store, "msg_a")
    waits = []
    for attempt in range(1, 5):
        assert await w.deliver_due() == 1
        r = await row(alert_store, "msg_a")
        assert r.attempts == attempt
        if attempt < 4:
            wait = (r.next_attempt_us - clock.us) / S
            d = min(300.0, 1.0 * 2 ** (attempt - 1))
            assert d / 2 <= wait <= d, (attempt, wait)
            waits.append(wait)
            clock.us += round(wait * S) - 1
            assert await w.deliver_due() == 0  # not due a microsecond early
            clock.us += 1
    assert r.status == "delivered"
    ids = {x.headers["webhook-id"] for x in receiver.received}
    assert ids == {"msg_a"}
    assert len(receiver.received) == 4
    for x in receiver.received:  # every attempt is signed afresh, verifiably
        Webhook(SECRET).verify(x.body, x.headers)
        assert x.json()["text"] == "Қазақша"
    history = await alert_store.outbox.attempts("msg_a")
    assert [h["outcome"] for h in history] == ["retry", "retry", "retry", "delivered"]
    assert [h["status_code"] for h in history] == [500, 500, 502, 200]


async def test_retry_after_is_honoured_in_seconds_and_as_a_date(
    alert_store: AlertStore, receiver: Receiver
) -> None:
    clock, disabled = Clock(), []
    w = worker_for(alert_store, receiver, clock, disabled)
    w.sender = Sender(clock=clock.seconds)  # the HTTP-date is read against the fake clock
    # T0 is 2027-01-15T08:00:00Z.
    receiver.script = [
        (429, {"Retry-After": "7"}),
        (503, {"Retry-After": "Fri, 15 Jan 2027 08:00:37 GMT"}),
        (503, {"Retry-After": "86400000"}),  # absurd: capped at retry_after_max_s
    ]
    await enqueue(alert_store, "msg_b")
    await w.deliver_due()
    assert (await row(alert_store, "msg_b")).next_attempt_us == T0 + 7 * S
    clock.us = T0 + 7 * S
    await w.deliver_due()
    assert (await row(alert_store, "msg_b")).next_attempt_us == T0 + 37 * S
    clock.us = T0 + 37 * S
    await w.deliver_due()
    assert (await row(alert_store, "msg_b")).next_attempt_us == T0 + (37 + 3600) * S


async def test_410_disables_the_receiver_and_holds_its_queue_until_enabled(
    alert_store: AlertStore, receiver: Receiver
) -> None:
    clock, disabled = Clock(), []
    w = worker_for(alert_store, receiver, clock, disabled)
    receiver.script = [(410, {})]
    await enqueue(alert_store, "msg_c")
    await w.deliver_due()
    assert (await row(alert_store, "msg_c")).status == "failed"
    assert [name for name, _ in disabled] == ["ops"]
    assert "410" in disabled[0][1]
    await enqueue(alert_store, "msg_d")
    assert await w.deliver_due() == 0  # held while disabled
    assert (await alert_store.load()).disabled == {"ops": disabled[0][1]}
    await alert_store.enable_receiver("ops", "tester", clock.us)
    disabled.clear()
    assert await w.deliver_due() == 1
    assert (await row(alert_store, "msg_d")).status == "delivered"
    kinds = [e.kind for e in await alert_store.journal()]
    assert kinds == ["receiver_enabled", "receiver_disabled"]


async def test_a_4xx_fails_at_once_and_old_notifications_give_up(
    alert_store: AlertStore, receiver: Receiver
) -> None:
    clock, disabled = Clock(), []
    w = worker_for(alert_store, receiver, clock, disabled)
    receiver.script = [(400, {})]
    await enqueue(alert_store, "msg_e")
    assert await w.deliver_due() == 1
    receiver.script = [(500, {})]
    await enqueue(alert_store, "msg_f", created=T0 - 25 * 3600 * S)
    assert await w.deliver_due() == 1
    assert (await row(alert_store, "msg_e")).status == "failed"
    f = await row(alert_store, "msg_f")
    assert f.status == "failed"
    assert "gave up after 1 attempts" in (f.last_error or "")


async def test_manual_resend_goes_out_under_the_same_id(
    alert_store: AlertStore, receiver: Receiver
) -> None:
    clock, disabled = Clock(), []
    w = worker_for(alert_store, receiver, clock, disabled)
    await enqueue(alert_store, "msg_g")
    await w.deliver_due()
    assert await w.deliver_due() == 0
    assert (await alert_store.outbox.resend("msg_g", "officer", clock.us)) is not None
    assert await w.deliver_due() == 1
    assert [x.headers["webhook-id"] for x in receiver.received] == ["msg_g", "msg_g"]
