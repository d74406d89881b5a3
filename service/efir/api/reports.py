"""A channel's compliance report over a period of the store: PDF, XLSX or CSV.

The same report as ``efir report`` (docs/reports.md), of the versions the
daemon stored: they are read back, classified as ingest classified them,
and audited over ``[from, to)``; ``to`` is at most now (later windows hold
nothing yet). The evidence's source is when each message was received.
Reading a year of a channel takes seconds and memory: the route needs the
read token (it lists what aired, and costs), and runs off the event loop.
"""

from __future__ import annotations

import asyncio
from datetime import date  # noqa: TC003 - FastAPI reads the annotation at runtime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from efir.api.auth import REVEAL
from efir.api.channels import NOT_FOUND, channel, check_span, instant_param
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.core.timebase import format_local
from efir.daemon.monitor import Channel  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.daemon.reporting import LOOKBACK_US, store_report
from efir.i18n import Language
from efir.reports.render import MEDIA_TYPES, ReportFormat, render

router = APIRouter(tags=["reports"])


@router.get(
    "/api/v1/channels/{channel_id}/report",
    dependencies=REVEAL,
    responses={
        **NOT_FOUND,
        200: {"content": {m: {} for m in MEDIA_TYPES.values()}, "description": "The report file"},
    },
    response_class=Response,
)
async def channel_report(  # noqa: PLR0917 - FastAPI reads the query parameters from these
    ctx: Ctx,
    ch: Annotated[Channel, Depends(channel)],
    from_: Annotated[str, Query(alias="from", description="Period start, RFC 3339.")],
    to: Annotated[str | None, Query(description="Period end, RFC 3339 (default: now).")] = None,
    report_format: Annotated[ReportFormat, Query(alias="format")] = ReportFormat.PDF,
    as_of: Annotated[
        date | None,
        Query(description="What-if: every threshold as in force on this date (2027-01-01)."),
    ] = None,
    lang: Annotated[
        Language, Query(description="The PDF's language (XLSX and CSV keep English keys).")
    ] = Language.EN,
) -> Response:
    """The compliance report of the channel over ``[from, to)`` (at most 366 days)."""
    now = ctx.now_us()
    tz = ch.engine.tz
    lo = instant_param(from_, tz, "from")
    hi = min(instant_param(to, tz, "to") if to else now, now)
    check_span(lo, hi, now)
    stored = await ctx.store.load_events(ch.profile.id, lo - LOOKBACK_US)

    def build() -> bytes:
        made = store_report(ch.profile, stored, ctx.enrichment, lo, hi, as_of=as_of)
        return render(made, report_format.value, lang.value)

    body = await asyncio.to_thread(build)
    name = f"efir-{ch.profile.id}-{format_local(lo, tz)[:10]}.{report_format.value}"
    return Response(
        body,
        media_type=MEDIA_TYPES[report_format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
