"""Receivers: the configured notification receivers, their state and counts.

Listing needs the read token; enabling a receiver that answered 410 Gone
needs the write token (journaled, 503 on a standby).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel

from efir.api.auth import MUTATE, REVEAL
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.models import ActorIn  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.silences import standby
from efir.daemon.alerting import NotLeaderError

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class ReceiverOut(BaseModel):
    """A configured receiver."""

    name: str
    type: str
    enabled: bool
    disabled_reason: str | None
    pending: int
    delivered: int
    failed: int


@router.get("/receivers", dependencies=REVEAL)
async def receivers(ctx: Ctx) -> list[ReceiverOut]:
    """Configured receivers, whether enabled, and their outbox counts."""
    counts = await ctx.alert_store.outbox.counts()
    disabled = ctx.alerter.disabled
    return [
        ReceiverOut(
            name=r.name,
            type=r.type,
            enabled=r.name not in disabled,
            disabled_reason=disabled.get(r.name),
            pending=counts.get((r.name, "pending"), 0),
            delivered=counts.get((r.name, "delivered"), 0),
            failed=counts.get((r.name, "failed"), 0),
        )
        for r in ctx.alerts.receivers
    ]


@router.post("/receivers/{name}/enable", dependencies=MUTATE, responses={404: {}, 503: {}})
async def enable(ctx: Ctx, name: str, body: ActorIn) -> ReceiverOut:
    """Enable a receiver that answered 410 Gone; its held notifications go out."""
    r = ctx.alerts.receiver(name)
    if r is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no receiver {name!r}")
    try:
        await ctx.alerter.enable_receiver(name, body.by)
    except NotLeaderError as exc:
        raise standby(exc) from None
    ctx.wake_delivery()
    counts = await ctx.alert_store.outbox.counts()
    return ReceiverOut(
        name=name,
        type=r.type,
        enabled=True,
        disabled_reason=None,
        pending=counts.get((name, "pending"), 0),
        delivered=counts.get((name, "delivered"), 0),
        failed=counts.get((name, "failed"), 0),
    )
