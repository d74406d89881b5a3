"""Alerts: the current alerts, one alert, acknowledgements, and the journal.

Reads are open; an acknowledgement needs the bearer token and names its
author (``by``), which goes into the journal. On a standby instance changes
answer 503: they belong to the active one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, Field

from efir.api.auth import MUTATE
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.fleet import MISDIRECTED, not_here
from efir.api.silences import standby
from efir.core.alerting.alert import State
from efir.core.alerting.inhibit import Inhibitor
from efir.daemon.alerting import NotLeaderError
from efir.notify.render import rfc3339

if TYPE_CHECKING:
    from efir.core.alerting.alert import Alert
    from efir.core.alerting.silence import Silence

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class AckIn(BaseModel):
    """Who acknowledges, and why."""

    by: str = Field(min_length=1, max_length=255)
    comment: str = Field(default="", max_length=2000)


class Ack(BaseModel):
    """An acknowledgement."""

    by: str
    at: str | None
    comment: str | None


class AlertOut(BaseModel):
    """One alert with its lifecycle, muting and text."""

    fingerprint: str
    labels: dict[str, str]
    state: str
    summary: str
    description: str
    active_since: str | None
    starts_at: str | None
    ends_at: str | None
    episode: int
    acknowledged: Ack | None
    silenced_by: list[str]
    inhibited: bool
    values: dict[str, Any]


class AlertList(BaseModel):
    """Alerts, worst first; ``active`` is false on a standby (it holds no alert state)."""

    active: bool
    alerts: list[AlertOut]


class JournalOut(BaseModel):
    """An audit-trail entry."""

    at: str
    kind: str
    fingerprint: str | None
    actor: str | None
    detail: dict[str, Any]


def _t(us: int | None) -> str | None:
    return rfc3339(us)


def _alert_out(a: Alert, silences: list[Silence], inhibitor: Inhibitor, now: int) -> AlertOut:
    ack = (
        None if a.acked_by is None else Ack(by=a.acked_by, at=_t(a.acked_at), comment=a.ack_comment)
    )
    return AlertOut(
        fingerprint=a.fingerprint,
        labels=a.labels,
        state=a.state.value,
        summary=a.summary,
        description=a.description,
        active_since=_t(a.active_since),
        starts_at=_t(a.starts_at),
        ends_at=_t(a.ends_at),
        episode=a.episode,
        acknowledged=ack,
        silenced_by=[s.id for s in silences if s.mutes(a.labels, now)],
        inhibited=a.state is State.FIRING and inhibitor.inhibited(a),
        values=a.values,
    )


@router.get("/alerts")
def list_alerts(
    ctx: Ctx,
    state: Annotated[str | None, Query(pattern="^(pending|firing|resolved)$")] = None,
    channel: str | None = None,
    severity: str | None = None,
) -> AlertList:
    """Current alerts (resolved ones for a day), firing and most severe first."""
    st = ctx.alerter.state
    if st is None:
        return AlertList(active=False, alerts=[])
    now = ctx.now_us()
    inhibitor = Inhibitor(st.alerts.values(), ctx.alerter.policy.inhibitions)
    order = {"firing": 0, "pending": 1, "resolved": 2}
    alerts = sorted(
        st.alerts.values(),
        key=lambda a: (order[a.state.value], -a.severity.rank, a.channel, a.rule, a.window),
    )
    out = [
        _alert_out(a, st.silences, inhibitor, now)
        for a in alerts
        if (state is None or a.state.value == state)
        and (channel is None or a.channel == channel)
        and (severity is None or a.severity.value == severity)
    ]
    return AlertList(active=True, alerts=out)


@router.get("/alerts/journal")
async def journal(
    ctx: Ctx, fingerprint: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 200
) -> list[JournalOut]:
    """The audit trail: acknowledgements, silences, re-sends, transitions; newest first."""
    entries = await ctx.alert_store.journal(limit, fingerprint)
    return [
        JournalOut(
            at=rfc3339(e.at_us) or "",
            kind=e.kind,
            fingerprint=e.fingerprint,
            actor=e.actor,
            detail=e.detail,
        )
        for e in entries
    ]


async def _missing(ctx: Ctx, fingerprint: str) -> HTTPException:
    """404, or 421 naming the instance when the alert is another shard's (docs/scaling.md)."""
    fleet = ctx.fleet
    if fleet is not None and fleet.shards.sharded:
        channel = await ctx.alert_store.channel_of(fingerprint)
        if channel is not None:
            not_here(ctx, channel)
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {fingerprint!r}")


@router.get("/alerts/{fingerprint}", responses={404: {}, **MISDIRECTED})
async def get_alert(ctx: Ctx, fingerprint: str) -> AlertOut:
    """One alert (421 naming the serving instance when it is another shard's)."""
    st = ctx.alerter.state
    a = None if st is None else st.alerts.get(fingerprint)
    if st is None or a is None:
        raise await _missing(ctx, fingerprint)
    inhibitor = Inhibitor(st.alerts.values(), ctx.alerter.policy.inhibitions)
    return _alert_out(a, st.silences, inhibitor, ctx.now_us())


@router.post(
    "/alerts/{fingerprint}/ack", dependencies=MUTATE, responses={404: {}, 503: {}, **MISDIRECTED}
)
async def acknowledge(ctx: Ctx, fingerprint: str, body: AckIn) -> AlertOut:
    """Acknowledge an alert: reminders stop for this episode (journaled)."""
    try:
        a = await ctx.alerter.acknowledge(fingerprint, body.by, body.comment)
    except NotLeaderError as exc:
        raise standby(exc) from None
    if a is None:
        raise await _missing(ctx, fingerprint)
    st = ctx.alerter.state
    assert st is not None  # noqa: S101 - acknowledge() needs it
    return _alert_out(a, st.silences, Inhibitor(st.alerts.values(), ()), ctx.now_us())
