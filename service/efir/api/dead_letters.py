"""Dead letters: what ingest refused and why, and replaying them once fixed.

Listing needs the read token (letters hold raw payloads); replay needs the
write token and goes through the checks of live ingest.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from efir.api.auth import MUTATE, REVEAL
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.events import EventResult, results
from efir.api.models import MAX_ROW_ID
from efir.core.timebase import format_local
from efir.daemon.ingest import Inbound
from efir.schema.asrun import MAX_PAYLOAD_BYTES

router = APIRouter(tags=["ingest"])

#: Dead letters per page at most.
MAX_DEAD_LETTERS_PAGE = 100


class DeadLetterOut(BaseModel):
    """A payload that could not be accepted."""

    id: int
    received: str
    source: str
    topic: str | None
    channel: str | None
    code: str
    reason: str
    payload: str = Field(
        description="The raw payload (UTF-8, invalid bytes replaced), cut to "
        "`payload_chars` bytes; `payload_truncated` says whether it was."
    )
    payload_truncated: bool = Field(
        description="True when `payload` is not the whole payload received."
    )
    payload_size: int = Field(description="Size in bytes of the payload as received.")
    payload_sha256: str | None = Field(
        description="SHA-256 of an oversized payload, of which only a prefix is stored."
    )
    replayed: str | None
    replay_attempts: int = Field(description="Replays that failed (the reason is the last one's).")


class ReplayRequest(BaseModel):
    """Dead letters to feed through ingest again (after fixing the cause)."""

    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(min_length=1, max_length=10_000)


class ReplayResponse(BaseModel):
    """Outcome of a replay; accepted letters are marked replayed."""

    accepted: int
    rejected: int
    results: list[EventResult]


@router.get("/api/v1/dead-letters", dependencies=REVEAL)
async def dead_letters(  # noqa: PLR0917 - FastAPI reads the query parameters from these
    ctx: Ctx,
    request: Request,
    response: Response,
    channel: str | None = None,
    pending: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_DEAD_LETTERS_PAGE)] = 50,
    before: Annotated[
        int | None,
        Query(ge=1, le=MAX_ROW_ID, description="Page on: letters with a smaller id."),
    ] = None,
    payload_chars: Annotated[
        int, Query(ge=0, le=MAX_PAYLOAD_BYTES, description="Bytes of each payload shown.")
    ] = 1024,
) -> list[DeadLetterOut]:
    """The newest dead letters first (``pending=true``: not yet replayed).

    At most 100 a page, each payload cut to ``payload_chars`` bytes; when
    more letters follow, the ``Link`` header (``rel="next"``) names the
    next page.
    """
    rows = await ctx.store.dead(
        limit=limit,
        channel_id=channel,
        pending_only=pending,
        before_id=before,
        payload_chars=payload_chars,
    )
    if len(rows) == limit:
        nxt = request.url.include_query_params(before=rows[-1]["id"])
        response.headers["Link"] = f'<{nxt}>; rel="next"'
    return [_dead_out(r) for r in rows]


@router.post("/api/v1/dead-letters/replay", dependencies=MUTATE)
async def replay(ctx: Ctx, body: ReplayRequest) -> ReplayResponse:
    """Feed dead letters through ingest again, with the checks of live ingest.

    A letter from MQTT must still name its topic's channel. Accepted
    letters are marked replayed; a refused one is updated with the new
    reason (no new letter is added).
    """
    rows = await ctx.store.dead_by_id(body.ids)
    now = ctx.now_us()
    outcomes = await ctx.ingest.submit_all(
        [
            Inbound(
                bytes(r["payload"]),
                "replay",
                now,
                topic=r["topic"],
                channel=r["channel_id"] if r["source"] == "mqtt" else None,
                letter_id=r["id"],
            )
            for r in rows
        ]
    )
    done = [r["id"] for r, o in zip(rows, outcomes, strict=True) if o.accepted]
    if done:
        await ctx.store.mark_replayed(done, ctx.now_us())
    r = results(outcomes)
    return ReplayResponse(accepted=r.accepted, rejected=r.rejected, results=r.results)


def _dead_out(r: dict[str, Any]) -> DeadLetterOut:
    utc = ZoneInfo("UTC")
    payload = bytes(r["payload"] or b"")  # SQL substr of an empty payload is NULL
    stored = r.get("stored_size") or len(payload)
    return DeadLetterOut(
        id=r["id"],
        received=format_local(r["received_us"], utc),
        source=r["source"],
        topic=r["topic"],
        channel=r["channel_id"],
        code=r["code"],
        reason=r["reason"],
        payload=payload.decode("utf-8", "replace"),
        payload_truncated=r["payload_size"] is not None or stored > len(payload),
        payload_size=r["payload_size"] if r["payload_size"] is not None else stored,
        payload_sha256=r["payload_sha256"],
        replayed=None if r["replayed_us"] is None else format_local(r["replayed_us"], utc),
        replay_attempts=r["replay_attempts"] or 0,
    )
