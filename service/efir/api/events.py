"""Ingest over HTTP: ``POST /api/v1/events``, with the checks of every input path.

Each event is committed (or dead-lettered with its reason) before the
answer. A body is read up to :data:`MAX_BODY_BYTES` and split into events
without decoding them twice; anything else becomes a dead letter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec
from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, TypeAdapter

from efir.api.auth import MUTATE
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.models import ErrorOut
from efir.daemon.ingest import Inbound
from efir.schema.asrun import MAX_DEPTH, AsRunPayload, EventError, check_depth

if TYPE_CHECKING:
    from efir.daemon.ingest import Outcome

router = APIRouter(tags=["ingest"])

#: At most this many events per POST (each is committed before the answer).
MAX_EVENTS_PER_POST = 10_000
#: Largest body ``POST /api/v1/events`` reads: 413 as soon as more arrives
#: (about 25,000 typical events; one event is at most 64 KiB).
MAX_BODY_BYTES = 8 * 1024 * 1024
#: Bytes of an oversized body kept in its dead letter.
BODY_PREFIX = 4096


class EventResult(BaseModel):
    """What became of one posted event."""

    index: int
    accepted: bool
    event_id: str | None = None
    code: str | None = None
    reasons: list[str] = []


class EventsResponse(BaseModel):
    """Outcome of ``POST /api/v1/events``: every event is committed or dead-lettered."""

    accepted: int
    rejected: int
    results: list[EventResult]


_EVENT_SCHEMA = TypeAdapter(AsRunPayload).json_schema()
_EVENT_SCHEMA.update(
    title="AsRunEvent",
    description="One `efir.asrun/1` event (docs/daemon.md); unknown fields are kept, ignored.",
)
_EVENTS_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    _EVENT_SCHEMA,
                    {"type": "array", "items": _EVENT_SCHEMA, "maxItems": MAX_EVENTS_PER_POST},
                ]
            }
        }
    },
}


@router.post(
    "/api/v1/events",
    dependencies=MUTATE,
    responses={
        413: {"model": ErrorOut, "description": "Body over 8 MiB or 10,000 events"},
        421: {
            "model": EventsResponse,
            "description": "Every event refused is for a channel another shard serves "
            "(each result names the instance; docs/scaling.md)",
        },
        422: {"model": EventsResponse, "description": "Some events were dead-lettered"},
    },
    openapi_extra={"requestBody": _EVENTS_BODY},
)
async def post_events(ctx: Ctx, request: Request, response: Response) -> EventsResponse:
    """Take one ``efir.asrun/1`` event or a JSON array of them.

    Each event is committed (or dead-lettered with its reason) before the
    answer; the status code is 200 when all were accepted, 422 otherwise.
    An event for a channel another shard serves is dead-lettered here as
    ``foreign_channel``, its reason naming the instance that serves it (421
    when every refused event is such). A body over 8 MiB is refused with 413
    as soon as it is seen to be (its first 4 KiB are dead-lettered), before
    the rest is read.
    """
    body, size = await read_body(request)
    if size > MAX_BODY_BYTES:
        reason = f"body of {size} bytes or more, over the {MAX_BODY_BYTES}-byte limit"
        await ctx.ingest.submit_all(
            [Inbound(body, "http", ctx.now_us(), refusal=("oversized", reason), size=size)]
        )
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, reason)
    payloads = _split_body(body)
    outcomes = await ctx.ingest.submit_and_wait(payloads, "http")
    result = results(outcomes)
    if result.rejected:
        foreign = all(o.code == "foreign_channel" for o in outcomes if not o.accepted)
        response.status_code = (
            status.HTTP_421_MISDIRECTED_REQUEST
            if foreign
            else status.HTTP_422_UNPROCESSABLE_CONTENT
        )
    return result


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> tuple[bytes, int]:
    """The body, or its first bytes once it is over ``limit``, and the size seen.

    A declared ``Content-Length`` over the limit is refused before any byte is
    read; otherwise the body is read only up to the limit (the caller compares
    the size with it). Every body-taking route reads through this.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", int(declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return b"".join(chunks)[:BODY_PREFIX], size
        chunks.append(chunk)
    return b"".join(chunks), size


_SPLIT = msgspec.json.Decoder(list[msgspec.Raw]).decode


def _split_body(body: bytes) -> list[bytes]:
    """One payload per event: the array's elements as sent, or the body as one payload."""
    stripped = body.lstrip()
    if not stripped.startswith(b"["):
        return [body]
    try:
        # The array adds one level to each element's nesting.
        check_depth(stripped, MAX_DEPTH + 1)
        items = _SPLIT(stripped)
    except (EventError, msgspec.MsgspecError):
        return [body]  # goes to dead letters with the parser's reason
    if len(items) > MAX_EVENTS_PER_POST:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"at most {MAX_EVENTS_PER_POST} events per request"
        )
    return [bytes(item) for item in items]


def results(outcomes: list[Outcome]) -> EventsResponse:
    """The answer for ``outcomes``, one result per payload in order."""
    results = [
        EventResult(
            index=i,
            accepted=o.accepted,
            event_id=o.event_id,
            code=o.code,
            reasons=list(o.reasons),
        )
        for i, o in enumerate(outcomes)
    ]
    accepted = sum(o.accepted for o in outcomes)
    return EventsResponse(accepted=accepted, rejected=len(outcomes) - accepted, results=results)
