"""Channels: the list, each channel's live status, and its windows over a range.

Recent windows come from the live state, older ones from the store; both
are shaped by :mod:`efir.core.window_object`, like ``efir audit`` JSON.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.fleet import MISDIRECTED, ServedByOut, not_here
from efir.api.models import ErrorOut, FeedInfo, LangQuery, OnAir
from efir.api.views import feed_info, on_air_now
from efir.core.engine import ROLLING_US, judge_closed
from efir.core.rules import Rule, RuleType, what_if
from efir.core.status import Status, worst
from efir.core.timebase import US_PER_S, format_local, to_us
from efir.core.window_object import live_window_dict
from efir.core.wording import advice
from efir.daemon.monitor import Channel, live_since
from efir.i18n import Language, phrasebook

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.result import WindowResult

router = APIRouter(tags=["status"])

_DAY_US = 86_400 * US_PER_S
#: Widest ``[from, to)`` of ``GET .../windows`` (422 beyond): a year and a leap day.
MAX_WINDOW_SPAN_US = 366 * _DAY_US
#: ``to`` at most this far ahead of now (windows further on hold nothing yet).
MAX_WINDOW_AHEAD_US = 8 * _DAY_US
#: Earliest ``from`` (2000-01-01T00:00:00Z), long before any as-run Efir keeps.
EARLIEST_US = 946_684_800 * US_PER_S

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such channel (or rule)"},
    **MISDIRECTED,
}


class RuleStatus(BaseModel):
    """One enabled rule in its current window (DESIGN sections 5 and 6)."""

    rule: str
    title: str
    type: str
    severity: str
    window_start: str
    window_end: str
    numerator_s: float | None
    base_s: float | None
    unknown_s: float | None
    gap_s: float
    share: float | None
    threshold: float | None
    transitional: bool
    status: Status
    needed_s: float | None
    slack_s: float | None
    deadline: str | None
    budget_s: float | None
    count: int | None
    provisional: bool = Field(
        default=False,
        description="The status says the window is lost only through the airtime of items "
        "whose end has not arrived; it does not page as locked in.",
    )
    settled_status: Status | None = Field(
        default=None, description="With `provisional`: the status from closed items alone."
    )
    advice: str | None = Field(description="What to do, in one sentence (null when nothing).")
    forecast_share: float | None = Field(
        default=None,
        description="The share at the window's end if the rest airs as planned "
        "(null without a plan for the rest of the window).",
    )
    forecast_status: Status | None = Field(
        default=None, description="`complies` or `violation` if the rest airs as planned."
    )
    fix: list[FixItem] = Field(
        default_factory=list,
        description="The fewest planned items whose replacement by qualifying items of the "
        "same length meets the threshold, by time (empty when the plan complies).",
    )
    fixable: bool | None = Field(
        default=None, description="Whether replacing every candidate would be enough."
    )


class FixItem(BaseModel):
    """A planned item to replace by a qualifying one of the same length."""

    event_id: str
    title: str | None
    start: str
    end: str
    gain_s: float = Field(description="Qualifying seconds the swap adds to the window.")


class ChannelSummary(BaseModel):
    """A channel in the list."""

    id: str
    name: str | None
    media: str
    timezone: str
    rule_pack: str
    worst_status: Status | None
    feed: FeedInfo | None = Field(description="Null for a channel another shard serves.")
    shard: str | None = Field(default=None, description="The channel's shard (docs/scaling.md).")
    served_by: ServedByOut | None = Field(
        default=None,
        description="Set when another instance serves the channel: ask it for the figures.",
    )


class ChannelStatus(BaseModel):
    """Everything about one channel now."""

    channel: str
    name: str | None
    media: str
    timezone: str
    now: str
    feed: FeedInfo
    on_air: OnAir | None
    worst_status: Status | None
    rules: list[RuleStatus]


class WindowList(BaseModel):
    """Windows shaped like ``efir audit`` JSON (``efir.audit/1``)."""

    channel: str
    windows: list[dict[str, Any]]
    what_if: dict[str, Any] | None = Field(
        default=None,
        description="Set when the windows are judged under other thresholds (`as_of`).",
    )


def channel(ctx: Ctx, channel_id: str) -> Channel:
    """The channel named by the path (421 when another shard serves it, 404 when nobody does)."""
    ch = ctx.monitor.get(channel_id)
    if ch is None:
        not_here(ctx, channel_id)
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"channel {channel_id!r} is not monitored")
    return ch


@router.get("/api/v1/channels")
def channels(ctx: Ctx) -> list[ChannelSummary]:
    """Every configured channel: its feed and worst status, or which instance serves it.

    With shards, the channels of other shards come last, with ``served_by``
    and no figures.
    """
    now = ctx.now_us()
    out = []
    fleet = ctx.fleet
    shard_of = {} if fleet is None else fleet.shards.shard_of
    for ch in ctx.monitor.channels.values():
        results = ch.status(now)
        out.append(
            ChannelSummary(
                id=ch.profile.id,
                name=ctx.channel_names.get(ch.profile.id),
                media=str(ch.profile.media),
                timezone=ch.profile.timezone,
                rule_pack=ch.profile.rule_pack,
                worst_status=worst([w.status for w in results]) if results else None,
                feed=feed_info(ctx.monitor, ch, now),
                shard=shard_of.get(ch.profile.id),
            )
        )
    if fleet is not None:
        for where in fleet.elsewhere():
            config = fleet.configs[where.channel]
            out.append(
                ChannelSummary(
                    id=where.channel,
                    name=config.name,
                    media=str(config.media),
                    timezone=config.timezone,
                    rule_pack=config.rule_pack,
                    worst_status=None,
                    feed=None,
                    shard=where.shard,
                    served_by=ServedByOut.of(where),
                )
            )
    return out


@router.get("/api/v1/channels/{channel_id}/status", responses=NOT_FOUND)
def channel_status(
    ctx: Ctx, ch: Annotated[Channel, Depends(channel)], lang: LangQuery = Language.EN
) -> ChannelStatus:
    """Per enabled rule, the current window's figures and status; the feed; what is on air.

    ``lang``: the language of ``advice`` and ``title``.
    """
    now = ctx.now_us()
    say = phrasebook(lang.value)
    tz = ch.engine.tz
    results = ch.status(now)
    forecasts = ch.forecasts(now, results)
    rules = []
    for w in results:
        rule = ch.engine.rules[w.rule].rule
        obj = live_window_dict(w, tz, rule.type)
        f = forecasts.get(w.rule)
        ahead: dict[str, Any] = {}
        if f is not None:
            ahead = {
                "forecast_share": f.share,
                "forecast_status": f.status,
                "fixable": f.fixable if f.fix else None,
                "fix": [
                    {
                        "event_id": s.event_id,
                        "title": s.title,
                        "start": format_local(s.start, tz),
                        "end": format_local(s.end, tz),
                        "gain_s": s.gain_us / US_PER_S,
                    }
                    for s in f.fix
                ],
            }
        rules.append(
            RuleStatus.model_validate(
                {
                    **obj,
                    "title": say(rule.title),
                    "type": str(rule.type),
                    "severity": str(rule.severity),
                    "count": w.count,
                    "advice": advice(w, tz, now, say) or None,
                    **ahead,
                }
            )
        )
    on_air = on_air_now(ch, now)
    return ChannelStatus(
        channel=ch.profile.id,
        name=ctx.channel_names.get(ch.profile.id),
        media=str(ch.profile.media),
        timezone=ch.profile.timezone,
        now=format_local(now, tz),
        feed=feed_info(ctx.monitor, ch, now),
        on_air=on_air,
        worst_status=worst([w.status for w in results]) if results else None,
        rules=rules,
    )


@router.get(
    "/api/v1/channels/{channel_id}/windows",
    responses={
        **NOT_FOUND,
        422: {"model": ErrorOut, "description": "A range Efir does not answer"},
    },
)
async def channel_windows(  # noqa: PLR0917 - FastAPI reads the query parameters from these
    ctx: Ctx,
    ch: Annotated[Channel, Depends(channel)],
    rule: Annotated[str | None, Query(description="Rule id (all rules when absent).")] = None,
    from_: Annotated[
        str | None, Query(alias="from", description="RFC 3339 (default: 7 days ago).")
    ] = None,
    to: Annotated[str | None, Query(description="RFC 3339 (default: now).")] = None,
    as_of: Annotated[
        date | None,
        Query(
            description="What-if: judge every window under the thresholds in force on "
            "this date (2027-01-01: the 60 % thresholds)."
        ),
    ] = None,
) -> WindowList:
    """Windows intersecting ``[from, to)``, shaped like ``efir audit`` JSON.

    Recent windows come from the live state (open ones carry a live status),
    older ones from the store; stored windows changed by late events carry
    ``revision`` and ``revised_from``. With ``as_of`` every window is judged
    under the thresholds in force on that date (``what_if`` says so).
    """
    if rule is not None and rule not in ch.engine.rules:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"rule {rule!r} is not active on {ch.profile.id!r}"
        )
    now = ctx.now_us()
    hi = instant_param(to, ch.engine.tz, "to") if to else now
    lo = instant_param(from_, ch.engine.tz, "from") if from_ else min(hi, now) - ROLLING_US
    check_span(lo, hi, now)
    live_from = live_since(now)
    under = None
    if as_of is not None:
        active = [rt.rule for rt in ch.engine.rules.values() if rule in (None, rt.rule.id)]
        under = {r.id: r for r in what_if(active, as_of=as_of)}
    merged: dict[tuple[str, int], dict[str, Any]] = {}
    for sw in await ctx.store.windows(ch.profile.id, lo, hi, rule):
        figures = sw.figures
        if under is not None:
            judged = _rejudged(under, sw.rule, figures)
            if judged is None:
                continue
            figures = judged
        merged[sw.rule, sw.window_start_us] = {
            **figures,
            "status": figures["verdict"] if under is not None else sw.verdict,
            "revision": sw.revision,
            "revised_from": sw.revised_from,
        }
    if hi > live_from:
        rules = [rule] if rule else None
        start = max(lo, live_from)

        def evaluate() -> list[WindowResult]:
            if under is not None:
                return ch.engine.windows_under(under.values(), start, hi, now=now)
            return ch.engine.windows(start, hi, now=now, rules=rules)

        # Off the event loop (MQTT and HTTP go on), under the monitor's lock
        # (no event is applied while the live state is read).
        async with ctx.monitor.lock:
            live = await asyncio.to_thread(evaluate)
        for w in live:
            key = (w.rule, w.window_start)
            old = merged.get(key, {})
            rule_type = ch.engine.rules[w.rule].rule.type
            merged[key] = {
                **live_window_dict(w, ch.engine.tz, rule_type),
                "revision": old.get("revision", 0),
                "revised_from": old.get("revised_from"),
            }
    ordered = [merged[k] for k in sorted(merged)]
    what = None if as_of is None else {"as_of": as_of.isoformat(), "overrides": {}}
    return WindowList(channel=ch.profile.id, windows=ordered, what_if=what)


def instant_param(text: str, tz: ZoneInfo, name: str) -> int:
    """A query parameter's RFC 3339 time (local to ``tz`` without an offset); 422 if not one."""
    try:
        t = datetime.fromisoformat(text)
        return to_us(t if t.tzinfo is not None else t.replace(tzinfo=tz))
    except (ValueError, OverflowError):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"`{name}` must be an RFC 3339 time, not {text[:64]!r}",
        ) from None


def _rejudged(
    under: dict[str, Rule], rule_id: str, figures: dict[str, Any]
) -> dict[str, Any] | None:
    """A stored window's figures judged under a what-if rule (``None``: the rule was not law)."""
    rule = under.get(rule_id)
    if rule is None:
        return None
    if rule.type is RuleType.FORBIDDEN:
        return figures
    threshold = rule.thresholds[0].value if rule.thresholds else None
    verdict = figures.get("verdict")
    if verdict != "partial":
        verdict = str(
            judge_closed(
                rule,
                threshold,
                figures.get("numerator_s"),
                figures.get("base_s"),
                figures.get("count"),
            )
        )
    return {**figures, "threshold": threshold, "verdict": verdict, "transitional": False}


def check_span(lo: int, hi: int, now: int) -> None:
    """Refuse (422) a window range the API does not answer (see the limits above)."""
    problem = None
    if hi <= lo:
        problem = "`to` must be after `from`"
    elif lo < EARLIEST_US:
        problem = "`from` and `to` must be 2000-01-01 or later"
    elif hi > now + MAX_WINDOW_AHEAD_US:
        problem = f"`to` must be at most {MAX_WINDOW_AHEAD_US // _DAY_US} days from now"
    elif hi - lo > MAX_WINDOW_SPAN_US:
        problem = f"`from` to `to` spans at most {MAX_WINDOW_SPAN_US // _DAY_US} days"
    if problem is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, problem)
