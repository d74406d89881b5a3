"""Now-playing receivers: ``POST /api/v1/channels/{id}/nowplaying?format=azuracast|ffplayout|json``.

AzuraCast's "Generic Web Hook" posts its NowPlaying document on every song
change; ffplayout tasks, mAirList's HTTP logging or any script can post a
JSON document read through the channel's ``nowplaying:`` mapping. The item
on air becomes a ``start``, the one it replaced an ``end``, and the source's
history ``complete`` events (docs/integration.md), each committed or
dead-lettered before the answer, as ``POST /api/v1/events`` does.

Authentication: the write token, as ``Authorization: Bearer TOKEN``, as the
password of HTTP Basic authentication (what AzuraCast's webhook form offers;
any user name), or, for tools that can only set a URL, ``?token=TOKEN``
(which access logs may record: prefer the others).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status

from efir.api.auth import AUTH_ERRORS
from efir.api.channels import NOT_FOUND, channel
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.events import EventsResponse, read_body, results
from efir.api.models import ErrorOut
from efir.daemon.ingest import Inbound
from efir.daemon.monitor import Channel  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.daemon.nowplaying import MAX_DOCUMENT_BYTES

router = APIRouter(tags=["ingest"])


class PushFormat(StrEnum):
    """Now-playing documents the receiver reads."""

    AZURACAST = "azuracast"
    FFPLAYOUT = "ffplayout"
    JSON = "json"


def pusher(
    ctx: Ctx,
    request: Request,
    token: Annotated[
        str | None, Query(description="The write token, for tools that can only set a URL.")
    ] = None,
) -> None:
    """The write token as a bearer token, a Basic password, or ``?token=``."""
    if not ctx.write_tokens:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "receivers are off: set EFIR_API_TOKEN")
    given = token or ""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        given = value.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            given = ""
    # Compared with every token (no early exit) so timing tells nothing.
    matches = [secrets.compare_digest(given.encode(), t) for t in ctx.write_tokens]
    if not given or not any(matches):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "the write token is required (bearer, Basic password or ?token=)",
            headers={"WWW-Authenticate": 'Bearer, Basic realm="efir"'},
        )


@router.post(
    "/api/v1/channels/{channel_id}/nowplaying",
    dependencies=[Depends(pusher)],
    responses={
        **AUTH_ERRORS,
        **NOT_FOUND,
        413: {"model": ErrorOut, "description": "A document over 1 MiB"},
        422: {"model": EventsResponse, "description": "The document or some events were refused"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "description": "AzuraCast's NowPlaying, ffplayout's current media, or "
                        "any JSON the channel's nowplaying: mapping reads (docs/integration.md).",
                    }
                }
            },
        }
    },
)
async def push_now_playing(
    ctx: Ctx,
    ch: Annotated[Channel, Depends(channel)],
    request: Request,
    response: Response,
    push_format: Annotated[PushFormat, Query(alias="format")] = PushFormat.AZURACAST,
) -> EventsResponse:
    """What is on air now (and what played before), as start, end and complete events.

    The answer lists each event made from the document, committed or
    dead-lettered; a document that cannot be read is one dead letter (422).
    """
    if ctx.nowplaying is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no now-playing intake")
    now = ctx.now_us()
    body, size = await read_body(request, MAX_DOCUMENT_BYTES)
    if size > MAX_DOCUMENT_BYTES:
        reason = f"a now-playing document over {MAX_DOCUMENT_BYTES} bytes"
        await ctx.ingest.submit_all(
            [
                Inbound(
                    body, "http", now, channel=ch.profile.id, refusal=("oversized", reason),
                    size=size,
                )
            ]
        )  # fmt: skip
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, reason)
    outcomes = await ctx.nowplaying.receive(ch.profile.id, push_format.value, body, now)
    result = results(outcomes)
    if result.rejected:
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return result
