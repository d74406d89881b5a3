"""Alertmanager refresh: what each receiver was told is firing is pushed again, and only that."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from efir.config.alerts import AlertsConfig
from efir.core.alerting.alert import Alert, Severity, State
from efir.core.alerting.dispatch import Sent
from efir.metrics import Metrics
from efir.notify.refresh import AlertmanagerRefresh
from efir.notify.render import Context
from efir.notify.send import Sender
from efir.store.alerts import AlertState
from tests.helpers import firing_alert
from tests.receiver import Receiver

S = 1_000_000
T0 = 1_800_000_000 * S  # 2027-01-15T08:00:00Z


def alert(fp: str, rule: str, **kw: object) -> Alert:
    return firing_alert(fp, at=T0, rule=rule, summary=f"{rule} at risk", **kw)


@pytest.fixture
def peers() -> Iterator[tuple[Receiver, Receiver]]:
    a, b = Receiver(), Receiver()
    yield a, b
    a.close()
    b.close()


def setup(
    peers: tuple[Receiver, Receiver], state: AlertState
) -> tuple[AlertmanagerRefresh, Sender, Metrics]:
    config = AlertsConfig.model_validate(
        {
            "receivers": [
                {
                    "name": "am1",
                    "type": "alertmanager",
                    "url": peers[0].url,
                    "resend_s": 1,
                    "ends_after_s": 600,
                },
                {"name": "am2", "type": "alertmanager", "url": peers[1].url},
                {"name": "hook", "type": "webhook", "url": "http://127.0.0.1:1/"},
            ]
        }
    )
    sender = Sender(clock=lambda: T0 / S + 3600)
    metrics = Metrics()
    refresh = AlertmanagerRefresh(
        config,
        sender,
        metrics,
        Context("http://efir.test"),
        now_us=lambda: T0 + 3600 * S,
        state=lambda: state,
    )
    return refresh, sender, metrics


def state_with(
    sent: dict[tuple[str, str], Sent], disabled: dict[str, str] | None = None
) -> AlertState:
    alerts = {
        "a": alert("a", "lang_6h", acked_by="aigerim", acked_at=T0 + S),  # acked: no reminders
        "b": alert("b", "lang_week"),
        "c": alert("c", "ads_hour", state=State.RESOLVED, ends_at=T0 + 60 * S),
    }
    return AlertState(alerts, sent, {}, [], disabled or {})


async def test_each_alertmanager_gets_again_what_it_was_told_is_firing(
    peers: tuple[Receiver, Receiver],
) -> None:
    sent = {
        ("am1", "a"): Sent(T0, Severity.WARNING, T0),
        ("am1", "b"): Sent(T0, Severity.WARNING, T0, resolved=True),  # told resolved: not pushed
        ("am1", "c"): Sent(T0, Severity.WARNING, T0),  # all-clear held by a silence: still firing
        ("am2", "b"): Sent(T0, Severity.WARNING, T0),
        ("hook", "a"): Sent(T0, Severity.WARNING, T0),  # not an Alertmanager
        ("am2", "gone"): Sent(T0, Severity.WARNING, T0),  # forgotten alert: nothing to push
    }
    refresh, sender, metrics = setup(peers, state_with(sent))
    assert await refresh.refresh() == 3
    await sender.close()
    (one,) = peers[0].bodies()
    (two,) = peers[1].bodies()
    assert [x["labels"]["rule"] for x in one] == ["lang_6h", "ads_hour"]
    assert [x["labels"]["rule"] for x in two] == ["lang_week"]
    # endsAt is ends_after_s ahead of the push: 09:00 + 10 min, and 15 min by default.
    assert {x["endsAt"] for x in one} == {"2027-01-15T09:10:00Z"}
    assert two[0]["endsAt"] == "2027-01-15T09:15:00Z"
    assert one[0]["startsAt"] == "2027-01-15T08:00:00Z"
    assert metrics.am_refreshes.labels("am1", "delivered")._value.get() == 1


async def test_a_disabled_receiver_and_a_standby_push_nothing(
    peers: tuple[Receiver, Receiver],
) -> None:
    sent = {
        ("am1", "a"): Sent(T0, Severity.WARNING, T0),
        ("am2", "b"): Sent(T0, Severity.WARNING, T0),
    }
    refresh, sender, _ = setup(peers, state_with(sent, disabled={"am1": "410 Gone"}))
    assert await refresh.refresh() == 1
    assert peers[0].bodies() == []
    assert len(peers[1].bodies()) == 1
    # am1 enabled again: the loop pushes it every resend_s (1 s), only while leader;
    # am2's resend_s (60 s) does not come round in this test.
    refresh.state = lambda: state_with(sent)
    leader = [False]
    task = asyncio.create_task(refresh.run(lambda: leader[0]))
    await asyncio.sleep(2.5)
    assert peers[0].bodies() == []  # a standby pushes nothing
    leader[0] = True
    async with asyncio.timeout(20):
        while len(peers[0].bodies()) < 2:
            await asyncio.sleep(0.1)
    task.cancel()
    await sender.close()
    assert len(peers[1].bodies()) == 1


def test_ends_after_must_outlast_several_resends() -> None:
    with pytest.raises(ValueError, match="at least 3 times resend_s"):
        AlertsConfig.model_validate(
            {
                "receivers": [
                    {
                        "name": "am",
                        "type": "alertmanager",
                        "url": "http://x",
                        "resend_s": 600,
                        "ends_after_s": 900,
                    }
                ]
            }
        )
