"""The built-in status board: ``/`` (a page), ``/api/v1/board`` and its live stream.

One tile per channel: the worst status, what is on air, the six-hour Kazakh
share against its threshold with the deadline, and the advertising budget of
the hour. The page is one self-contained file (no CDN: broadcast sites are
often offline) that takes the tiles from ``/api/v1/board/events``, a
Server-Sent Events stream, and falls back to polling ``/api/v1/board``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator  # noqa: TC003 - FastAPI reads the return type
from datetime import date
from importlib.resources import files
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from efir.api.channels import channel_windows
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.fleet import ServedByOut
from efir.api.models import FeedInfo, LangQuery, OnAir
from efir.api.views import feed_info, on_air_now
from efir.core.status import Status, worst
from efir.core.timebase import US_PER_S, format_local
from efir.core.wording import advice, duration, instant
from efir.i18n import Language, phrasebook

if TYPE_CHECKING:
    from efir.api.context import ApiContext
    from efir.core.phrases import Phrases
    from efir.core.result import WindowResult
    from efir.daemon.monitor import Channel

#: The rules a tile shows (ids of the ``kz`` pack; other packs show what they have).
LANGUAGE_RULE = "lang_6h"
ADS_RULE = "ads_evening_hour"
#: How often the stream looks for a change, and sends a keep-alive comment.
STREAM_CHECK_S = 1.0
KEEPALIVE_S = 15.0
_UTC = ZoneInfo("UTC")


class LanguageTile(BaseModel):
    """The six-hour Kazakh-language share of the current interval."""

    rule: str
    status: Status
    share: float | None = Field(description="0..1 so far; null while the base is empty.")
    threshold: float | None
    next_threshold: float | None = Field(description="The next scheduled threshold, if any.")
    next_threshold_from: str | None
    window_start: str
    window_end: str
    needed_s: float | None
    slack_s: float | None
    deadline: str | None = Field(description="Latest start of qualifying content (local).")
    deadline_text: str | None = Field(
        description="The deadline as people read it: HH:MM today, else with weekday and date."
    )
    advice: str | None
    forecast_share: float | None = Field(
        default=None, description="The share at the interval's end if the rest airs as planned."
    )
    forecast_status: Status | None = None
    fix: list[str] = Field(
        default_factory=list,
        description="Planned items to replace with qualifying content (title and HH:MM).",
    )


class AdsTile(BaseModel):
    """Paid advertising in the current (or next) evening hour."""

    rule: str
    status: Status
    open: bool = Field(description="True while the hour is on; false for the next one today.")
    used_s: float | None
    budget_s: float | None = Field(description="Seconds still allowed.")
    limit_s: float | None = Field(description="Threshold times the window length.")
    window_start: str
    window_end: str


class Unclassified(BaseModel):
    """One line of the worklist on a tile."""

    key: str = Field(description="The house number, ISRC or title to catalogue.")
    title: str | None
    seconds: float
    words: str = Field(description="The airtime as people read it, in the board's language.")


class UnclassifiedTile(BaseModel):
    """What aired in the last seven days without a language or origin (the worklist's top)."""

    seconds: float
    words: str
    top: list[Unclassified]


class Tile(BaseModel):
    """One channel on the board."""

    channel: str
    name: str | None
    media: str
    worst_status: Status | None
    worst_rule: str | None = Field(description="The rule whose window has the worst status.")
    worst_title: str | None = Field(description="That rule's title.")
    now: str = Field(description="The channel's local time of these figures (RFC 3339).")
    feed: FeedInfo
    on_air: OnAir | None
    language: LanguageTile | None
    ads: AdsTile | None
    unclassified: UnclassifiedTile | None = None


class Board(BaseModel):
    """Every channel's tile, as of ``generated``."""

    generated: str = Field(description="UTC instant of these figures.")
    lang: str = Field(default="en", description="The language of advice and titles.")
    tiles: list[Tile]
    elsewhere: list[ServedByOut] = Field(
        default=[],
        description="Channels another shard serves, and the instance whose board shows them.",
    )


#: The what-if view's default date and span: the thresholds of 2027, the last four weeks.
WHAT_IF_DEFAULT = date(2027, 1, 1)
WHAT_IF_DAYS = 28


class FailingWindow(BaseModel):
    """A window that would fail under the what-if thresholds."""

    rule: str
    title: str
    window_start: str
    window_end: str
    share: float | None
    threshold: float | None
    verdict_now: str | None = Field(description="Its verdict under the thresholds in force.")


class WhatIfChannel(BaseModel):
    """One channel under the what-if thresholds."""

    channel: str
    name: str | None
    judged: int = Field(description="Share windows judged whole in the span.")
    failing: list[FailingWindow] = Field(description="Those that would fail, latest first.")


class WhatIf(BaseModel):
    """Every channel's share windows of the last weeks judged under other thresholds."""

    as_of: str
    window_from: str
    window_to: str
    channels: list[WhatIfChannel]


def board_router() -> APIRouter:
    """The page, the JSON and the stream (one router per application: it caches the board)."""
    router = APIRouter()
    page = files("efir.api").joinpath("board.html").read_text(encoding="utf-8")

    # Streams share one rendering per check interval, so ten wall screens cost
    # what one does (a board of 50 channels takes about 10 ms to build).
    shared: dict[str, tuple[float, str]] = {}

    def shared_json(ctx: ApiContext, lang: str) -> str:
        t = time.monotonic()
        made = shared.get(lang)
        if made is None or t - made[0] >= STREAM_CHECK_S:
            made = shared[lang] = (t, snapshot(ctx, lang).model_dump_json())
        return made[1]

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def board_page() -> HTMLResponse:
        """The status board (English, Kazakh and Russian labels)."""
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    @router.get("/api/v1/board", tags=["status"])
    def board(ctx: Ctx, lang: LangQuery = Language.EN) -> Board:
        """Every channel's tile: worst status, on air, six-hour Kazakh share, ad budget."""
        return snapshot(ctx, lang.value)

    @router.get("/api/v1/board/what-if", tags=["status"])
    async def board_what_if(
        ctx: Ctx,
        as_of: Annotated[
            date, Query(description="Judge under the thresholds in force on this date.")
        ] = WHAT_IF_DEFAULT,
        lang: LangQuery = Language.EN,
    ) -> WhatIf:
        """The last four weeks' share windows of every channel under ``as_of``'s thresholds.

        The board's "under the 2027 thresholds" view: each share window
        (six-hour intervals, weeks) that complies today and would fail then,
        per channel, from the store and the live state (as
        ``GET /api/v1/channels/{id}/windows?as_of=`` gives them).
        """
        now = ctx.now_us()
        say = phrasebook(lang.value)
        lo = now - WHAT_IF_DAYS * 86_400 * US_PER_S
        out = []
        for cid, ch in ctx.monitor.channels.items():
            tz = ch.engine.tz
            shares = {r: b.rule for r, b in ch.engine.rules.items() if b.rule.is_share}
            under = await channel_windows(
                ctx, ch, from_=format_local(lo, tz), to=format_local(now, tz), as_of=as_of
            )
            today = await channel_windows(
                ctx, ch, from_=format_local(lo, tz), to=format_local(now, tz)
            )
            verdicts = {(w["rule"], w["window_start"]): w.get("verdict") for w in today.windows}
            whole = [
                w
                for w in under.windows
                if w["rule"] in shares and w.get("verdict") in {"complies", "violation"}
            ]
            failing = [
                FailingWindow(
                    rule=w["rule"],
                    title=say(shares[w["rule"]].title),
                    window_start=w["window_start"],
                    window_end=w["window_end"],
                    share=w.get("share"),
                    threshold=w.get("threshold"),
                    verdict_now=verdicts.get((w["rule"], w["window_start"])),
                )
                for w in reversed(whole)
                if w["verdict"] == "violation"
            ]
            out.append(
                WhatIfChannel(
                    channel=cid,
                    name=ctx.channel_names.get(cid),
                    judged=len(whole),
                    failing=failing,
                )
            )
        return WhatIf(
            as_of=as_of.isoformat(),
            window_from=format_local(lo, _UTC),
            window_to=format_local(now, _UTC),
            channels=out,
        )

    @router.get("/api/v1/board/events", tags=["status"], response_class=EventSourceResponse)
    async def board_events(
        ctx: Ctx,
        request: Request,
        once: Annotated[bool, Query(description="Send the current board and end.")] = False,
        lang: LangQuery = Language.EN,
    ) -> AsyncIterator[ServerSentEvent]:
        """Server-Sent Events: a ``board`` event with the board whenever a figure changes.

        Checked every second; a comment every 15 s keeps proxies from closing
        the stream. The stream ends when the daemon shuts down.
        """
        last = ""
        quiet_since = time.monotonic()
        while not ctx.stopping.is_set():
            body = shared_json(ctx, lang.value)
            # `generated` changes every call; compare the figures only.
            figures = body[body.index('"tiles"') :]
            if figures != last:
                last = figures
                quiet_since = time.monotonic()
                yield ServerSentEvent(raw_data=body, event="board", retry=3000)
                if once:
                    return
            elif time.monotonic() - quiet_since >= KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ServerSentEvent(comment="keep-alive")
            if await request.is_disconnected():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ctx.stopping.wait(), STREAM_CHECK_S)

    return router


def snapshot(ctx: ApiContext, lang: str = "en") -> Board:
    """The board now: one tile per monitored channel, its texts in ``lang``."""
    now = ctx.now_us()
    names = ctx.channel_names
    say = phrasebook(lang)
    tiles = [_tile(ctx, ch, names.get(cid), now, say) for cid, ch in ctx.monitor.channels.items()]
    fleet = ctx.fleet
    elsewhere = [] if fleet is None else [ServedByOut.of(w) for w in fleet.elsewhere()]
    return Board(generated=format_local(now, _UTC), lang=lang, tiles=tiles, elsewhere=elsewhere)


def _tile(ctx: ApiContext, ch: Channel, name: str | None, now: int, say: Phrases) -> Tile:
    results = {w.rule: w for w in ch.status(now)}
    status = worst([w.status for w in results.values()]) if results else None
    # The first rule (pack order) in the worst status: the badge names it.
    behind = next((w.rule for w in results.values() if w.status is status), None)
    return Tile(
        channel=ch.profile.id,
        name=name,
        media=str(ch.profile.media),
        worst_status=status,
        worst_rule=behind,
        worst_title=None if behind is None else say(ch.engine.rules[behind].rule.title),
        now=format_local(now, ch.engine.tz),
        feed=feed_info(ctx.monitor, ch, now),
        on_air=on_air_now(ch, now),
        language=_language(ch, results.get(LANGUAGE_RULE), now, say),
        ads=_ads(ch, results.get(ADS_RULE), now),
        unclassified=_unclassified(ctx, ch, now, say),
    )


def _unclassified(ctx: ApiContext, ch: Channel, now: int, say: Phrases) -> UnclassifiedTile | None:
    if ctx.cataloguing is None:
        return None
    lines = ctx.cataloguing.worklists.of(ch, now)
    if not lines:
        return None
    total = sum(u.seconds for u in lines)
    return UnclassifiedTile(
        seconds=total,
        words=duration(total, say),
        top=[
            Unclassified(
                key=u.key, title=u.title, seconds=u.seconds, words=duration(u.seconds, say)
            )
            for u in lines[:3]
        ],
    )


def _language(ch: Channel, w: WindowResult | None, now: int, say: Phrases) -> LanguageTile | None:
    if w is None:
        return None
    tz = ch.engine.tz
    ahead = ch.engine.next_threshold(w.rule, now)
    return LanguageTile(
        rule=w.rule,
        status=w.status,
        share=w.share,
        threshold=w.threshold,
        next_threshold=None if ahead is None else ahead[0],
        next_threshold_from=None if ahead is None else format_local(ahead[1], tz),
        window_start=format_local(w.window_start, tz),
        window_end=format_local(w.window_end, tz),
        needed_s=w.needed_s,
        slack_s=w.slack_s,
        deadline=None if w.deadline is None else format_local(w.deadline, tz),
        deadline_text=None if w.deadline is None else instant(w.deadline, tz, now, say),
        advice=advice(w, tz, now, say) or None,
        **_planned(ch, w, now),
    )


def _planned(ch: Channel, w: WindowResult, now: int) -> dict[str, Any]:
    """The tile's forecast fields, when the plan covers the rest of the interval."""
    f = ch.forecasts(now, [w]).get(w.rule)
    if f is None:
        return {}
    tz = ch.engine.tz
    return {
        "forecast_share": f.share,
        "forecast_status": f.status,
        "fix": [f"{s.title or s.event_id} {format_local(s.start, tz)[11:16]}" for s in f.fix],
    }


def _ads(ch: Channel, w: WindowResult | None, now: int) -> AdsTile | None:
    if w is None:
        return None
    tz = ch.engine.tz
    length_s = (w.window_end - w.window_start) / US_PER_S
    return AdsTile(
        rule=w.rule,
        status=w.status,
        open=w.window_start <= now < w.window_end,
        used_s=w.numerator_s,
        budget_s=w.budget_s,
        limit_s=None if w.threshold is None else w.threshold * length_s,
        window_start=format_local(w.window_start, tz),
        window_end=format_local(w.window_end, tz),
    )
