"""Weekly reports: the week a schedule reports on, queued once, e-mailed with the file."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from efir.compose import build
from efir.config.alerts import AlertsConfig, EmailReceiver, TelegramReceiver
from efir.config.settings import ChannelConfig, ReportSchedule, Settings
from efir.core.timebase import to_us
from efir.daemon.ingest import Inbound
from efir.daemon.reporting import last_week
from efir.sim.feed import FeedSpec, generate
from tests.services import free_port, smtp_inbox
from tests.unit.api.inprocess import writing

ALMATY = ZoneInfo("Asia/Almaty")


def at(*parts: int) -> int:
    return to_us(datetime(*parts, tzinfo=ALMATY))  # type: ignore[arg-type, misc]


def test_the_week_reported_is_the_last_one_whose_send_time_has_come() -> None:
    # Tuesday 1 December 2026: Monday's 08:00 has passed, last week is 23-30 November.
    assert last_week(at(2026, 12, 1, 9, 0), ALMATY, 0, time(8)) == (
        at(2026, 11, 23),
        at(2026, 11, 30),
        at(2026, 11, 30, 8, 0),
    )
    # Monday 07:00: this Monday's report is not due; the one before is.
    assert last_week(at(2026, 11, 30, 7, 0), ALMATY, 0, time(8))[:2] == (
        at(2026, 11, 16),
        at(2026, 11, 23),
    )
    # Sent on Wednesdays: on Tuesday the week before last is still the latest.
    assert last_week(at(2026, 12, 1, 9, 0), ALMATY, 2, time(8))[0] == at(2026, 11, 16)


def _settings(tmp_path: Path, port: int) -> Settings:
    mail = EmailReceiver(
        type="email",
        name="compliance",
        host="127.0.0.1",
        port=port,
        security="none",
        sender="efir@example.kz",
        to=["compliance@example.kz"],
    )
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
        mqtt_url="mqtt://127.0.0.1:1",
        channels=[ChannelConfig(id="qaz-tv")],
        alerts=AlertsConfig(receivers=[mail]),
        reports=[ReportSchedule(receiver="compliance")],
    )


async def test_the_weekly_report_is_queued_once_and_e_mailed_with_its_pdf(tmp_path: Path) -> None:
    clock = [at(2026, 11, 28, 12, 0)]
    start = datetime(2026, 11, 27, tzinfo=ALMATY)
    feed = generate(
        FeedSpec("qaz-tv", phases="complete", scenario="risky"), start, start + timedelta(days=2)
    )
    with smtp_inbox() as (inbox, port):
        service = build(_settings(tmp_path, port), now_us=lambda: clock[0])
        async with writing(service):
            for payload in feed:
                body = json.dumps(payload).encode()
                await service.ingest.submit(Inbound(body, "http", clock[0], channel="qaz-tv"))
            await asyncio.wait_for(service.ingest.idle(), 30)
            await service.alerter.lead(leader=True)
            reports = service.ticker.reports
            assert reports is not None
            assert await reports.tick(clock[0]) == 0  # the week of 23-30 November is not over
            clock[0] = at(2026, 11, 30, 8, 5)  # Monday 08:05: its report is due
            assert await reports.tick(clock[0]) == 1
            assert await reports.tick(clock[0]) == 0  # once
            reports.done.clear()  # as a restarted process: the outbox says it was queued
            assert await reports.tick(clock[0]) == 0
            row = await service.alert_store.outbox.outbox_row(
                "report-0-compliance-qaz-tv-2026-11-23"
            )
            assert row is not None
            assert row.body["subject"].startswith(
                "Efir weekly report qaz-tv, 2026-11-23 – 2026-11-29"
            )
            receiver = service.settings.alerts.receivers[0]
            assert (await service.sender.send(row, receiver)).outcome == "delivered"
            await service.sender.close()
            await asyncio.sleep(0.05)
    (raw,) = inbox.messages
    mail = email.message_from_bytes(raw, policy=email.policy.default)
    (attached,) = list(mail.iter_attachments())  # type: ignore[attr-defined]
    assert attached.get_filename() == "efir-qaz-tv-2026-11-23.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_content()[:5] == b"%PDF-"
    assert "Risk indicator" in mail.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]


async def test_a_weekly_report_in_russian(tmp_path: Path) -> None:
    base = _settings(tmp_path, free_port())
    settings = base.model_copy(
        update={"reports": [ReportSchedule(receiver="compliance", lang="ru")]}
    )
    clock = [at(2026, 11, 28, 12, 0)]
    service = build(settings, now_us=lambda: clock[0])
    start = datetime(2026, 11, 27, tzinfo=ALMATY)
    async with writing(service):
        for payload in generate(
            FeedSpec("qaz-tv", phases="complete"), start, start + timedelta(days=1)
        ):
            body = json.dumps(payload).encode()
            await service.ingest.submit(Inbound(body, "http", clock[0], channel="qaz-tv"))
        await asyncio.wait_for(service.ingest.idle(), 30)
        await service.alerter.lead(leader=True)
        clock[0] = at(2026, 11, 30, 8, 5)
        assert service.ticker.reports is not None
        assert await service.ticker.reports.tick(clock[0]) == 1
        row = await service.alert_store.outbox.outbox_row("report-0-compliance-qaz-tv-2026-11-23")
        assert row is not None
        assert row.body["subject"].startswith("Еженедельный отчёт Efir qaz-tv")
        assert "Показатель риска" in row.body["text"]
        assert "Доля казахского языка в каждом шестичасовом интервале" in row.body["text"]


def test_a_schedule_names_an_email_or_webhook_receiver_and_known_channels() -> None:
    bot = TelegramReceiver(type="telegram", name="bot", bot_token="x", chat_id="1")  # noqa: S106 - a test token
    with pytest.raises(ValidationError, match="reports go to email or webhook receivers"):
        Settings(alerts=AlertsConfig(receivers=[bot]), reports=[ReportSchedule(receiver="bot")])
    with pytest.raises(ValidationError, match="no receiver named 'mail'"):
        Settings(reports=[ReportSchedule(receiver="mail")])
    mail = EmailReceiver(type="email", name="mail", host="h", sender="a@b.kz", to=["c@d.kz"])
    with pytest.raises(ValidationError, match="unknown channels"):
        Settings(
            alerts=AlertsConfig(receivers=[mail]),
            reports=[ReportSchedule(receiver="mail", channels=["nope"])],
        )
