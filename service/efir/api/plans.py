"""A channel's planned schedule: upload a version, read the current plan and the versions.

``POST /api/v1/channels/{id}/plan`` takes a file in any reader format (a
Nielsen ``BR`` file, a BXF schedule, a PlayBox or ffplayout playlist, the
canonical JSON lines; detected unless ``format`` says), stores it as a new
version and replaces the plan over the span it covers. The status API's
forecasts read the plan (docs/daemon.md, "Plans and forecasts").
"""

from __future__ import annotations

from datetime import date  # noqa: TC003 - FastAPI reads the annotation at runtime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from efir.api.auth import MUTATE
from efir.api.channels import NOT_FOUND, channel, instant_param
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.models import ErrorOut
from efir.core.reconcile import Outcome, Slot, reconcile
from efir.core.timebase import US_PER_S, format_local
from efir.daemon.monitor import Channel  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.daemon.planning import MAX_PLAN_BYTES, PlanError
from efir.readers.playlist import parse_clock

router = APIRouter(tags=["plans"])
_DAY_US = 86_400 * US_PER_S


class PlanReceipt(BaseModel):
    """What became of an uploaded plan."""

    version: int
    span_from: str
    span_to: str
    items: int = Field(description="Planned items read (primary, with a start and a length).")
    refused: list[str] = Field(description="Records refused, with file position and reason.")
    skipped: int = Field(description="Records rightly not airtime (directives, comments).")


class PlannedItem(BaseModel):
    """One item of the current plan."""

    event_id: str
    title: str | None
    start: str
    end: str
    kind: str | None
    language: str | None


class PlanView(BaseModel):
    """The current plan over a range, and the channel's latest versions."""

    channel: str
    items: list[PlannedItem]
    versions: list[dict[str, object]]


def _refuse(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


@router.post(
    "/api/v1/channels/{channel_id}/plan",
    dependencies=MUTATE,
    responses={**NOT_FOUND, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def upload_plan(  # noqa: PLR0917 - FastAPI reads the query parameters from these
    ctx: Ctx,
    ch: Annotated[Channel, Depends(channel)],
    request: Request,
    input_format: Annotated[str | None, Query(alias="format")] = None,
    source_timezone: Annotated[str | None, Query()] = None,
    on: Annotated[date | None, Query(alias="date")] = None,
    day_start: Annotated[str | None, Query(description="HH:MM[:SS] of a playlist's start.")] = None,
) -> PlanReceipt:
    """Store a planned schedule (a file in any input format) and replace the plan over its span."""
    if ctx.planning is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "plans are not received here")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_PLAN_BYTES:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"a plan is at most {MAX_PLAN_BYTES} bytes"
            )
    if source_timezone is not None:
        try:
            ZoneInfo(source_timezone)
        except (ValueError, KeyError):
            msg = f"unknown source_timezone {source_timezone[:64]!r}"
            raise _refuse(msg) from None
    try:
        starts = parse_clock(day_start) if day_start else None
    except ValueError as exc:
        msg = f"day_start: {exc}"
        raise _refuse(msg) from None
    try:
        got = await ctx.planning.receive_file(
            ch.profile.id,
            bytes(data),
            ctx.now_us(),
            input_format=input_format,
            source_timezone=source_timezone,
            on=on,
            day_start=starts,
        )
    except PlanError as exc:
        raise _refuse(str(exc)) from None
    tz = ch.engine.tz
    return PlanReceipt(
        version=got.version,
        span_from=format_local(got.span[0], tz),
        span_to=format_local(got.span[1], tz),
        items=got.items,
        refused=list(got.refused),
        skipped=got.skipped,
    )


@router.get("/api/v1/channels/{channel_id}/plan", responses=NOT_FOUND)
async def channel_plan(
    ctx: Ctx,
    ch: Annotated[Channel, Depends(channel)],
    from_: Annotated[str | None, Query(alias="from", description="Default: now.")] = None,
    to: Annotated[str | None, Query(description="Default: a day after `from`.")] = None,
) -> PlanView:
    """The current plan's items overlapping ``[from, to)`` and the latest versions."""
    tz = ch.engine.tz
    lo = instant_param(from_, tz, "from") if from_ else ctx.now_us()
    hi = instant_param(to, tz, "to") if to else lo + _DAY_US
    if hi <= lo or hi - lo > 31 * _DAY_US:
        msg = "`to` must be after `from`, at most 31 days"
        raise _refuse(msg)
    items = [
        PlannedItem(
            event_id=p.event_id,
            title=p.title,
            start=format_local(p.start, tz),
            end=format_local(p.end, tz),
            kind=p.profile.kind,
            language=p.profile.language,
        )
        for p in ch.plan.overlapping(lo, hi)
    ]
    versions = []
    if ctx.planning is not None:
        versions = [
            {
                "version": v.id,
                "received": format_local(v.received_us, tz),
                "span_from": format_local(v.span_start_us, tz),
                "span_to": format_local(v.span_end_us, tz),
                "source": v.source,
            }
            for v in await ctx.planning.plans.versions(ch.profile.id, 20)
        ]
    return PlanView(channel=ch.profile.id, items=items, versions=versions)


class ReconciledItem(BaseModel):
    """One line of plan against as-run."""

    outcome: str
    planned_event_id: str | None
    planned_title: str | None
    planned_start: str | None
    aired_event_id: str | None
    aired_title: str | None
    aired_start: str | None
    shift_s: float | None
    length_change_s: float | None


class Reconciliation(BaseModel):
    """What became of the plan over a range: counts per outcome and each line."""

    channel: str
    window_from: str
    window_to: str
    counts: dict[str, int]
    items: list[ReconciledItem]


@router.get("/api/v1/channels/{channel_id}/plan/reconciliation", responses=NOT_FOUND)
async def plan_reconciliation(
    ctx: Ctx,
    ch: Annotated[Channel, Depends(channel)],
    from_: Annotated[str | None, Query(alias="from", description="Default: a day ago.")] = None,
    to: Annotated[str | None, Query(description="Default: now.")] = None,
) -> Reconciliation:
    """Plan against as-run over ``[from, to)``: what became of each planned item.

    Each planned item aired as planned, aired differently, was replaced or
    missed; each aired item no plan line accounts for is an insertion
    (docs/reports.md, "Plan against as-run"). The live horizon's items (ten
    days) and the current plan are compared.
    """
    tz = ch.engine.tz
    now = ctx.now_us()
    hi = min(instant_param(to, tz, "to") if to else now, now)
    lo = instant_param(from_, tz, "from") if from_ else hi - _DAY_US
    if hi <= lo or hi - lo > 31 * _DAY_US:
        msg = "`to` must be after `from`, at most 31 days"
        raise _refuse(msg)
    planned = [
        Slot(p.event_id, p.start, p.end, None, p.title)
        for p in ch.plan.overlapping(lo, hi)
        if lo <= p.start < hi
    ]
    async with ctx.monitor.lock:
        aired = [
            Slot(i.event_id, i.start, e, i.event.house_id, i.event.title)
            for i, _, e in ch.engine.aired(lo, hi, now)
            if lo <= i.start < hi
        ]
    counts = dict.fromkeys((str(o) for o in Outcome), 0)
    items = []
    for m in reconcile(planned, aired):
        counts[str(m.outcome)] += 1
        p, a = m.planned, m.aired
        items.append(
            ReconciledItem(
                outcome=str(m.outcome),
                planned_event_id=p.event_id if p else None,
                planned_title=p.title if p else None,
                planned_start=format_local(p.start, tz) if p else None,
                aired_event_id=a.event_id if a else None,
                aired_title=a.title if a else None,
                aired_start=format_local(a.start, tz) if a else None,
                shift_s=None if m.shift_us is None else m.shift_us / US_PER_S,
                length_change_s=None
                if m.length_change_us is None
                else m.length_change_us / US_PER_S,
            )
        )
    return Reconciliation(
        channel=ch.profile.id,
        window_from=format_local(lo, tz),
        window_to=format_local(hi, tz),
        counts=counts,
        items=items,
    )
