"""Planned schedules in the daemon: received, stored (every version), applied, restored.

A plan arrives as a file in any reader format (``POST
/api/v1/channels/{id}/plan``) or as ``efir.asrun/1`` events on MQTT
``{prefix}/{channel}/plan`` (a JSON array, or JSON lines). What the readers
understood is stored as a version (its items as JSON lines) and replaces
the channel's plan over the span it covers, ``[first start, last end)``;
the forecast of each open window reads it (:mod:`efir.core.forecast`). At a
restart the versions whose span has not ended before the live horizon are
applied again in the order they came.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import msgspec

from efir.core.errors import InputError
from efir.core.event import AsRunEvent, Layer
from efir.core.forecast import Planned
from efir.core.profile import Profile
from efir.daemon.monitor import live_since
from efir.readers.base import OFFLINE_NOW_US, LineError, ReadOptions, event_json
from efir.readers.registry import reader_for
from efir.schema.asrun import EventError, parse_event

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import date, time

    from efir.daemon.monitor import Monitor
    from efir.store.plans import Plans

log = logging.getLogger(__name__)

#: The largest plan accepted (a week of a channel is well under a megabyte).
MAX_PLAN_BYTES = 8 << 20
_ENCODE = msgspec.json.Encoder().encode


class PlanError(InputError):
    """A plan that cannot be used (no item in it, or not a plan at all)."""


@dataclass(frozen=True, slots=True)
class Received:
    """What became of a plan: its version, span, items, and the records refused."""

    version: int
    span: tuple[int, int]
    items: int
    refused: tuple[str, ...]
    skipped: int


def planned(events: Iterable[AsRunEvent]) -> list[Planned]:
    """The primary items of ``events`` with a start and a length."""
    return [
        Planned(e.event_id, e.start, e.start + e.duration, e.title, Profile.of(e))
        for e in events
        if e.start is not None and e.duration and e.layer is not Layer.SECONDARY
    ]


class PlanIntake:
    """Receives plans for the monitor's channels and keeps every version in the store."""

    def __init__(self, plans: Plans, monitor: Monitor) -> None:
        """Wire."""
        self.plans = plans
        self.monitor = monitor

    async def receive_file(
        self,
        channel_id: str,
        data: bytes,
        now_us: int,
        *,
        input_format: str | None = None,
        source_timezone: str | None = None,
        on: date | None = None,
        day_start: time | None = None,
        source: str = "http",
    ) -> Received:
        """Read ``data`` as a plan file of ``channel_id`` and apply it.

        Raises:
            PlanError: the file gives no planned item, or its format is unknown.
        """
        ch = self.monitor.channels[channel_id]
        tz = ZoneInfo(source_timezone) if source_timezone else ch.engine.tz
        options = ReadOptions(channel=channel_id, timezone=tz, date=on, day_start=day_start)
        events: list[AsRunEvent] = []
        refused: list[str] = []
        skipped = 0
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "plan"
            path.write_bytes(data)
            try:
                reader = reader_for(path, input_format)
            except InputError as exc:
                raise PlanError(str(exc).replace(str(path), "the plan")) from None
            for got in reader.read(path, options):
                if isinstance(got, LineError):
                    refused.append(str(got).replace(str(path), "plan"))
                elif isinstance(got, AsRunEvent):
                    events.append(got)
                else:
                    skipped += 1
        return await self.receive(channel_id, events, now_us, source, refused, skipped)

    async def receive_events(self, channel_id: str, payload: bytes, now_us: int) -> Received:
        """An MQTT plan: a JSON array or JSON lines of ``efir.asrun/1`` events.

        Raises:
            PlanError: not JSON, too large, or no planned item in it.
        """
        if len(payload) > MAX_PLAN_BYTES:
            msg = f"the plan is {len(payload)} bytes, over {MAX_PLAN_BYTES}"
            raise PlanError(msg)
        stripped = payload.strip()
        lines: list[bytes]
        if stripped.startswith(b"["):
            try:
                items = msgspec.json.decode(stripped)
            except (msgspec.DecodeError, RecursionError):
                msg = "the plan is not a JSON array"
                raise PlanError(msg) from None
            lines = [_ENCODE(i) for i in (items if isinstance(items, list) else [])]
        else:
            lines = [line for line in stripped.splitlines() if line.strip()]
        events, refused = [], []
        for n, line in enumerate(lines, start=1):
            try:
                events.append(parse_event(line, now_us=OFFLINE_NOW_US, expect_channel=channel_id))
            except EventError as exc:
                refused.append(f"item {n}: {'; '.join(exc.reasons)}")
        return await self.receive(channel_id, events, now_us, "mqtt", refused, 0)

    async def receive(  # noqa: PLR0917 - a version's parts
        self,
        channel_id: str,
        events: list[AsRunEvent],
        now_us: int,
        source: str,
        refused: list[str],
        skipped: int,
    ) -> Received:
        """Store the events of a plan as a version and apply it to the channel."""
        items = planned(events)
        if not items:
            why = f" ({refused[0]})" if refused else ""
            msg = f"the plan gives no planned item with a start and a length{why}"
            raise PlanError(msg)
        span = (min(p.start for p in items), max(p.end for p in items))
        ch = self.monitor.channels[channel_id]
        lines = b"".join(
            _ENCODE(event_json(e, ch.engine.tz)) + b"\n" for e in events if e.start is not None
        )
        version = await self.plans.add(channel_id, now_us, span, source, lines)
        async with self.monitor.lock:
            ch.plan.replace(span[0], span[1], items)
            # Planned items before the live horizon no window will ask for again.
            ch.plan.prune(live_since(now_us))
        log.info(
            "plan version %d of %s: %d items, %d refused", version, channel_id, len(items),
            len(refused),
        )  # fmt: skip
        return Received(version, span, len(items), tuple(refused[:50]), skipped)

    async def restore(self, since_us: int) -> int:
        """Apply again the stored versions whose span ends after ``since_us``; how many."""
        applied = 0
        for v in await self.plans.since(since_us):
            ch = self.monitor.get(v.channel_id)
            if ch is None:
                continue
            events = []
            for line in v.events.splitlines():
                try:
                    events.append(parse_event(line, now_us=OFFLINE_NOW_US))
                except EventError:
                    continue
            ch.plan.replace(v.span_start_us, v.span_end_us, planned(events))
            ch.plan.prune(since_us)
            applied += 1
        return applied
