"""Deliveries: every notification in the outbox, its body and attempts, and re-sending.

Reads need the read token (bodies and receivers' errors can reveal
settings); re-sending needs the write token and is journaled.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel

from efir.api.auth import MUTATE, REVEAL
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.models import ActorIn  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.notify.render import rfc3339

if TYPE_CHECKING:
    from efir.store.outbox import OutboxRow

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class DeliveryOut(BaseModel):
    """A notification in the outbox; ``id`` is its ``webhook-id``."""

    id: str
    receiver: str
    channel: str
    status: str
    summary: str
    created_at: str
    attempts: int
    next_attempt_at: str | None
    last_error: str | None
    delivered_at: str | None


class AttemptOut(BaseModel):
    """One delivery attempt."""

    attempt: int
    at: str
    outcome: str
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryDetail(DeliveryOut):
    """A notification with its body and every attempt."""

    body: Any
    history: list[AttemptOut]


def _t(us: int | None) -> str | None:
    return rfc3339(us)


def _delivery_out(r: OutboxRow) -> DeliveryOut:
    return DeliveryOut(
        id=r.id,
        receiver=r.receiver,
        channel=r.channel_id,
        status=r.status,
        summary=r.summary,
        created_at=rfc3339(r.created_us) or "",
        attempts=r.attempts,
        next_attempt_at=_t(r.next_attempt_us) if r.status == "pending" else None,
        last_error=r.last_error,
        delivered_at=_t(r.delivered_us),
    )


@router.get("/deliveries", dependencies=REVEAL)
async def deliveries(
    ctx: Ctx,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(pending|delivered|failed)$")
    ] = None,
    receiver: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """Notifications, newest first."""
    rows = await ctx.alert_store.outbox.outbox_rows(status=status_, receiver=receiver, limit=limit)
    return [_delivery_out(r) for r in rows]


@router.get("/deliveries/{outbox_id}", dependencies=REVEAL, responses={404: {}})
async def delivery(ctx: Ctx, outbox_id: str) -> DeliveryDetail:
    """One notification, its body and its attempts."""
    row = await ctx.alert_store.outbox.outbox_row(outbox_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {outbox_id!r}")
    history = [
        AttemptOut(
            attempt=a["attempt"],
            at=rfc3339(a["at_us"]) or "",
            outcome=a["outcome"],
            status_code=a["status_code"],
            error=a["error"],
            duration_ms=a["duration_ms"],
        )
        for a in await ctx.alert_store.outbox.attempts(outbox_id)
    ]
    return DeliveryDetail(**_delivery_out(row).model_dump(), body=row.body, history=history)


@router.post("/deliveries/{outbox_id}/resend", dependencies=MUTATE, responses={404: {}})
async def resend(ctx: Ctx, outbox_id: str, body: ActorIn) -> DeliveryOut:
    """Send a notification again, under the same ``webhook-id`` (journaled)."""
    row = await ctx.alert_store.outbox.resend(outbox_id, body.by, ctx.now_us())
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {outbox_id!r}")
    ctx.wake_delivery()
    return _delivery_out(row)
