"""Each receiver reads alerts in its own language: conditions, alerts, the store, the bodies."""

from __future__ import annotations

from functools import partial
from zoneinfo import ZoneInfo

from efir.config.alerts import EmailReceiver, TelegramReceiver, WebhookReceiver
from efir.config.settings import ChannelConfig, Settings
from efir.core.alerting.alert import alert_from_dict, alert_to_dict
from efir.core.alerting.conditions import ChannelRef, feed_conditions, in_languages
from efir.core.alerting.dispatch import Change, Notification, Notified
from efir.core.alerting.inhibit import FEED_STALE
from efir.core.alerting.lifecycle import Timing, apply, step
from efir.daemon.alerting import Alerter
from efir.daemon.monitor import Monitor
from efir.i18n import phrasebook
from efir.metrics import Metrics
from efir.notify.render import Context, render
from tests.helpers import at

S = 1_000_000
REF = ChannelRef("qaz-tv", "Qazaq TV", ZoneInfo("Asia/Almaty"))
LANGS = {"kk": phrasebook("kk"), "ru": phrasebook("ru")}


def _stale_alert(now: int):  # noqa: ANN202 - an Alert, built through the lifecycle
    conds = in_languages(partial(feed_conditions, REF, "stale", now - 900 * S, now, 300.0), LANGS)
    alerts: dict = {}
    apply(alerts, step(alerts, "qaz-tv", conds, now, Timing(for_us={}), owed=frozenset()))
    (alert,) = [a for a in alerts.values() if a.alertname == FEED_STALE]
    return alert


def test_a_condition_carries_its_texts_in_each_language_the_receivers_read() -> None:
    now = at(2027, 1, 8, 12)
    alert = _stale_alert(now)
    assert (
        alert.summary
        == "Qazaq TV: no as-run data for 15 min (last heard 2027-01-08T11:45:00+05:00)"
    )
    kk, ru = alert.words("kk"), alert.words("ru")
    assert kk[0].startswith("Qazaq TV: 15 мин бойы эфир деректері жоқ")
    assert ru[0].startswith("Qazaq TV: нет данных эфира уже 15 мин")
    assert "MQTT" in ru[1]
    assert alert.words("de") == (alert.summary, alert.description)  # English otherwise
    # The texts survive the store.
    assert alert_from_dict(alert_to_dict(alert)) == alert


def test_each_receiver_gets_the_texts_of_its_language() -> None:
    now = at(2027, 1, 8, 12)
    n = Notification("r", "qaz-tv", now, (Notified(_stale_alert(now), Change.NEW),))
    ctx = Context("http://efir.test")
    tg = TelegramReceiver(
        type="telegram",
        name="chat",
        bot_token="123:ABC",  # noqa: S106 - nothing is sent
        chat_id="1",
        lang="ru",
    )
    (row,) = render(n, tg, ctx)
    assert row.body["text"].startswith("[ОШИБКА] Qazaq TV: нет данных эфира уже 15 мин")
    assert "Статус: http://efir.test/api/v1/channels/qaz-tv/status" in row.body["text"]
    mail = EmailReceiver(
        type="email", name="m", host="localhost", sender="e@x.test", to=["o@x.test"], lang="kk"
    )
    (row,) = render(n, mail, ctx)
    assert row.body["subject"].startswith("[ҚАТЕ] Qazaq TV: 15 мин бойы")
    hook = WebhookReceiver(type="webhook", name="w", url="http://hook.test")
    (row,) = render(n, hook, ctx)  # English by default, labels the same in every language
    (sent,) = row.body["alerts"]
    assert sent["annotations"]["summary"].startswith("Qazaq TV: no as-run data for 15 min")
    assert sent["labels"]["alertname"] == FEED_STALE


def test_the_daemon_writes_conditions_in_the_receivers_languages() -> None:
    settings = Settings(
        channels=[ChannelConfig(id="qaz-tv", name="Qazaq TV")],
        alerts={
            "receivers": [
                {"type": "webhook", "name": "ops", "url": "http://hook.test", "lang": "kk"},
                {"type": "webhook", "name": "desk", "url": "http://hook.test", "lang": "ru"},
                {"type": "webhook", "name": "noc", "url": "http://hook.test"},
            ]
        },
    )
    monitor = Monitor(settings.profiles(), stale_after_s=300)
    alerter = Alerter(
        settings, monitor, None, Metrics(),  # type: ignore[arg-type]
        now_us=lambda: at(2027, 1, 8, 12), wake_delivery=lambda: None,
    )  # fmt: skip
    assert set(alerter.languages) == {"kk", "ru"}
    conds = alerter.conditions(monitor.channels["qaz-tv"], at(2027, 1, 8, 12))
    assert conds
    assert all(set(c.texts) == {"kk", "ru"} for c in conds)
