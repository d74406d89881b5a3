"""Reports of the store: built on request (the API) and sent each week (``reports:``).

A report of a channel and period is the stored versions read back through
the channel's classification and audited as ``efir audit`` audits a file.
Each schedule of ``reports:`` sends, on its weekday and local time, the
report of the week before (Monday 00:00 to Monday 00:00 in the channel's
zone) through the notifier outbox: an e-mail with the file attached, or a
webhook with the file in base64. A report's outbox id is made of the
schedule, the channel and the week, so a restart, or the standby taking
over, queues it once; only the instance that leads the alerts queues them.
A week with no stored event sends nothing.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from efir.audit.run import audit_events
from efir.core.timebase import US_PER_S, format_local, from_us, local_wall_to_us
from efir.daemon.checkpoints import parse_stored
from efir.i18n import Translator
from efir.readers.classify import enrich_payload
from efir.reports import content
from efir.reports.render import MEDIA_TYPES, ReportFormat, render
from efir.rulepacks import load_pack
from efir.store.outbox import OutboxRow

if TYPE_CHECKING:
    from collections.abc import Callable

    from efir.config.settings import ReportSchedule, Settings
    from efir.core.channel import ChannelProfile
    from efir.daemon.enrich import Enrichment
    from efir.daemon.monitor import Monitor
    from efir.reports.content import Report
    from efir.store import Store
    from efir.store.outbox import Outbox

log = logging.getLogger(__name__)

#: Versions stored this long before a period are read too (an item that started earlier).
LOOKBACK_US = 86_400 * US_PER_S


def store_report(
    profile: ChannelProfile,
    stored: list[tuple[bytes, int]],
    enrichment: Enrichment | None,
    start_us: int,
    end_us: int,
    *,
    as_of: date | None = None,
) -> Report:
    """The report of ``profile`` over ``[start_us, end_us)`` from stored ``(payload, received)``.

    Each evidence item's source is when its messages were received.
    """
    tz = ZoneInfo(profile.timezone)
    events = []
    received: dict[str, list[str]] = {}
    for payload, at in stored:
        for event in parse_stored(profile.id, [(payload, at)], enrichment):
            events.append(event)
            sources = received.setdefault(event.event_id, [])
            sources.append(f"received {format_local(at, tz)}")
            made = _catalogued(enrichment, payload)
            if made is not None and made not in sources:
                sources.append(made)
    pack = load_pack(profile.rule_pack).under(as_of=as_of)
    result = audit_events(
        events, channel=profile, pack=pack, start_us=start_us, end_us=end_us, source="store"
    )
    return content.with_sources(content.build(result), received)


def _catalogued(enrichment: Enrichment | None, payload: bytes) -> str | None:
    """``catalogue house_id=H-77: language (aigerim)`` when an entry filled in ``payload``."""
    if enrichment is None:
        return None
    got = enrich_payload(payload, catalogue=enrichment.catalogue)
    if got.entry is None or not got.filled:
        return None
    by = f" ({got.entry.updated_by})" if got.entry.updated_by else ""
    return f"catalogue {got.entry.key_field}={got.entry.key}: {', '.join(got.filled)}{by}"


def last_week(now_us: int, tz: ZoneInfo, weekday: int, at: time) -> tuple[int, int, int]:
    """The week a schedule reports on at ``now_us``: its start, end and send instant (µs UTC).

    The week is the last one whose send time (``weekday`` at ``at`` in the
    week after it, local) is at or before ``now_us``.
    """
    today = from_us(now_us, tz).date()
    monday = today - timedelta(days=today.weekday())
    send = local_wall_to_us(datetime.combine(monday + timedelta(days=weekday), at), tz)
    if send > now_us:
        monday -= timedelta(days=7)
        send = local_wall_to_us(datetime.combine(monday + timedelta(days=weekday), at), tz)
    start = local_wall_to_us(datetime.combine(monday - timedelta(days=7), time()), tz)
    end = local_wall_to_us(datetime.combine(monday, time()), tz)
    return start, end, send


class ReportScheduler:
    """Queues each schedule's weekly report once, when it is due (called by the ticker)."""

    def __init__(
        self,
        settings: Settings,
        monitor: Monitor,
        store: Store,
        outbox: Outbox,
        enrichment: Enrichment | None,
        *,
        leading: Callable[[], bool],
        wake_delivery: Callable[[], None],
    ) -> None:
        """Wire; nothing happens until :meth:`tick`."""
        self.schedules = settings.reports
        self.kinds = {r.name: r.type for r in settings.alerts.receivers}
        self.monitor = monitor
        self.store = store
        self.outbox = outbox
        self.enrichment = enrichment
        self.leading = leading
        self.wake_delivery = wake_delivery
        #: Ids queued, or found with nothing to report, by this process.
        self.done: set[str] = set()

    async def tick(self, now_us: int) -> int:
        """Queue the reports due at ``now_us``; the number queued."""
        if not self.schedules or not self.leading():
            return 0
        queued = 0
        for i, schedule in enumerate(self.schedules):
            for cid in schedule.channels or list(self.monitor.channels):
                ch = self.monitor.get(cid)
                if ch is None:
                    continue
                hh, mm = (int(x) for x in schedule.at.split(":"))
                start, end, send = last_week(
                    now_us, ch.engine.tz, schedule.weekday_index, time(hh, mm)
                )
                week = format_local(start, ch.engine.tz)[:10]
                row_id = f"report-{i}-{schedule.receiver}-{cid}-{week}"
                if row_id in self.done or now_us - send > 7 * 86_400 * US_PER_S:
                    continue
                self.done.add(row_id)
                if await self.outbox.outbox_row(row_id) is not None:
                    continue
                row = await self._row(row_id, schedule, ch.profile, start, end, now_us)
                if row is not None and await self.outbox.add(row, now_us):
                    queued += 1
                    log.info("weekly report %s queued for %s", row_id, schedule.receiver)
        if queued:
            self.wake_delivery()
        return queued

    async def _row(  # noqa: PLR0917 - one report's coordinates
        self,
        row_id: str,
        schedule: ReportSchedule,
        profile: ChannelProfile,
        start: int,
        end: int,
        now_us: int,
    ) -> OutboxRow | None:
        stored = [
            (p, at)
            for p, at in await self.store.load_events(profile.id, start - LOOKBACK_US)
            if at < end + LOOKBACK_US
        ]
        if not stored:
            return None
        made = await asyncio.to_thread(
            store_report, profile, stored, self.enrichment, start, end, as_of=schedule.as_of
        )
        if not made.input.get("events_valid"):
            return None
        data = await asyncio.to_thread(render, made, schedule.format, schedule.lang)
        tz = ZoneInfo(profile.timezone)
        tr = Translator(schedule.lang)
        week = f"{format_local(start, tz)[:10]} – {format_local(end - 1, tz)[:10]}"  # noqa: RUF001 - an en dash between dates
        filename = f"efir-{profile.id}-{format_local(start, tz)[:10]}.{schedule.format}"
        verdict = tr(made.verdict)
        subject = tr(
            "Efir weekly report {channel}, {week}: {verdict}",
            channel=profile.id,
            week=week,
            verdict=verdict,
        )
        text = (
            tr(
                "The compliance report of {channel} for the week {week} is attached ({file}).",
                channel=profile.id,
                week=week,
                file=filename,
            )
            + "\n"
            + tr(
                "Verdict: {verdict}. Risk indicator {indicator} ({degree}).",
                verdict=verdict,
                indicator=tr.number(made.risk.indicator),
                degree=tr(made.risk.degree),
            )
            + "\n"
            + "".join(
                f"- {tr(r.title)}: {tr(r.answer)}\n"
                for r in made.checklist
                if r.answer != "not applicable"
            )
        )
        attachment = {
            "filename": filename,
            "content_type": MEDIA_TYPES[ReportFormat(schedule.format)],
            "data_base64": base64.b64encode(data).decode("ascii"),
        }
        body: dict[str, Any]
        if self.kinds.get(schedule.receiver) == "email":
            body = {"subject": subject, "text": text, "attachment": attachment}
        else:
            body = {
                "type": "efir.report/1",
                "channel": profile.id,
                "period": {"from": format_local(start, tz), "to": format_local(end, tz)},
                "verdict": made.verdict,
                "risk": {"indicator": made.risk.indicator, "degree": made.risk.degree},
                "checklist": [{"rule": r.rule, "answer": r.answer} for r in made.checklist],
                **attachment,
            }
        return OutboxRow(
            id=row_id,
            receiver=schedule.receiver,
            channel_id=profile.id,
            summary=subject[:500],
            body=body,
            created_us=now_us,
            next_attempt_us=now_us,
        )
