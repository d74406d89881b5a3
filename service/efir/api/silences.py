"""Silences: mute alerts matching label matchers for a while (journaled).

Listing is open; creating and expiring need the bearer token and name their
author. On a standby instance changes answer 503.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from efir.api.auth import MUTATE
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.core.alerting.silence import Matcher, MatchOp, Silence
from efir.core.timebase import US_PER_S, to_us
from efir.daemon.alerting import NotLeaderError
from efir.notify.render import rfc3339

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class MatcherIO(BaseModel):
    """``name op value``; ``op`` is ``=``, ``!=``, ``=~`` or ``!~`` (regex, full match)."""

    name: str = Field(min_length=1, max_length=64)
    value: str = Field(max_length=512)
    op: MatchOp = MatchOp.EQ


class SilenceIn(BaseModel):
    """A new silence: matchers, a span (``ends_at`` or ``duration_s``), author and comment."""

    matchers: list[MatcherIO] = Field(min_length=1)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration_s: float | None = Field(default=None, gt=0, le=90 * 86400)
    created_by: str = Field(min_length=1, max_length=255)
    comment: str = Field(min_length=1, max_length=2000)


class SilenceOut(BaseModel):
    """A silence and whether it is in force."""

    id: str
    matchers: list[MatcherIO]
    starts_at: str
    ends_at: str
    created_by: str
    comment: str
    created_at: str
    active: bool


def standby(exc: NotLeaderError) -> HTTPException:
    """A change asked of the standby: it belongs to the active instance (503)."""
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))


def _silence_out(s: Silence, now: int) -> SilenceOut:
    return SilenceOut(
        id=s.id,
        matchers=[MatcherIO(name=m.name, value=m.value, op=m.op) for m in s.matchers],
        starts_at=rfc3339(s.starts_at) or "",
        ends_at=rfc3339(s.ends_at) or "",
        created_by=s.created_by,
        comment=s.comment,
        created_at=rfc3339(s.created_at) or "",
        active=s.active(now),
    )


def _aware_us(t: datetime) -> int:
    if t.tzinfo is None:
        raise HTTPException(422, "times need a UTC offset (RFC 3339)")
    return to_us(t)


@router.get("/silences")
def list_silences(ctx: Ctx, include_expired: bool = False) -> list[SilenceOut]:
    """Silences in force or to come (and past ones with ``include_expired``)."""
    st = ctx.alerter.state
    now = ctx.now_us()
    silences = [] if st is None else st.silences
    return [_silence_out(s, now) for s in silences if include_expired or s.ends_at > now]


@router.post("/silences", dependencies=MUTATE, status_code=201, responses={422: {}, 503: {}})
async def create_silence(ctx: Ctx, body: SilenceIn) -> SilenceOut:
    """Silence alerts matching every matcher, from ``starts_at`` (default now) to the end."""
    now = ctx.now_us()
    starts = now if body.starts_at is None else _aware_us(body.starts_at)
    if body.ends_at is not None:
        ends = _aware_us(body.ends_at)
    elif body.duration_s is not None:
        ends = starts + round(body.duration_s * US_PER_S)
    else:
        raise HTTPException(422, "give ends_at or duration_s")
    if ends <= starts:
        raise HTTPException(422, "a silence must end after it starts")
    matchers = []
    for m in body.matchers:
        if m.op in (MatchOp.RE, MatchOp.NRE):
            try:
                re.compile(m.value)
            except re.error as exc:
                raise HTTPException(422, f"matcher {m.name}: bad regex: {exc}") from None
        matchers.append(Matcher(m.name, m.value, m.op))
    try:
        silence = await ctx.alerter.add_silence(
            tuple(matchers),
            starts_at=starts,
            ends_at=ends,
            created_by=body.created_by,
            comment=body.comment,
        )
    except NotLeaderError as exc:
        raise standby(exc) from None
    return _silence_out(silence, now)


@router.delete("/silences/{silence_id}", dependencies=MUTATE, responses={404: {}, 503: {}})
async def expire_silence(
    ctx: Ctx, silence_id: str, by: Annotated[str, Query(min_length=1)]
) -> SilenceOut:
    """End a silence now (it stays listed as expired)."""
    try:
        s = await ctx.alerter.expire_silence(silence_id, by)
    except NotLeaderError as exc:
        raise standby(exc) from None
    if s is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no silence {silence_id!r}")
    return _silence_out(s, ctx.now_us())
