"""Alert endpoints: alerts, acknowledgements, silences, journal, deliveries, receivers.

Reads are open; changes need the bearer token and name their author (``by``),
which goes into the audit trail. On a standby instance changes answer 503:
they belong to the active one.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, Field

from efir.core.alerting.alert import State
from efir.core.alerting.inhibit import Inhibitor
from efir.core.alerting.silence import Matcher, MatchOp
from efir.core.timebase import US_PER_S, to_us
from efir.daemon.alerting import NotLeaderError
from efir.notify.render import rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable

    from efir.core.alerting.alert import Alert
    from efir.core.alerting.silence import Silence
    from efir.daemon.service import Service
    from efir.store.alerts import OutboxRow


class AckIn(BaseModel):
    """Who acknowledges, and why."""

    by: str = Field(min_length=1, max_length=255)
    comment: str = Field(default="", max_length=2000)


class ActorIn(BaseModel):
    """Who does it."""

    by: str = Field(min_length=1, max_length=255)


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


class ReceiverOut(BaseModel):
    """A configured receiver."""

    name: str
    type: str
    enabled: bool
    disabled_reason: str | None
    pending: int
    delivered: int
    failed: int


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


def alert_router(  # noqa: PLR0915 - one closure per endpoint
    service: Service, authorised: Callable[..., None], readable: Callable[..., None]
) -> APIRouter:
    """The alert endpoints of ``service``.

    Deliveries (bodies, receivers' errors) and receivers need the read token.
    """
    router = APIRouter(prefix="/api/v1", tags=["alerts"])
    alerter = service.alerter
    store = service.alert_store
    mutate = [Depends(authorised)]
    reveal = [Depends(readable)]

    def standby(exc: NotLeaderError) -> HTTPException:
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc))

    @router.get("/alerts")
    def list_alerts(
        state: Annotated[str | None, Query(pattern="^(pending|firing|resolved)$")] = None,
        channel: str | None = None,
        severity: str | None = None,
    ) -> AlertList:
        """Current alerts (resolved ones for a day), firing and most severe first."""
        st = alerter.state
        if st is None:
            return AlertList(active=False, alerts=[])
        now = service.now_us()
        inhibitor = Inhibitor(st.alerts.values(), alerter.policy.inhibitions)
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
        fingerprint: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 200
    ) -> list[JournalOut]:
        """The audit trail: acknowledgements, silences, re-sends, transitions; newest first."""
        entries = await store.journal(limit, fingerprint)
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

    @router.get("/alerts/{fingerprint}", responses={404: {}})
    def get_alert(fingerprint: str) -> AlertOut:
        """One alert."""
        st = alerter.state
        a = None if st is None else st.alerts.get(fingerprint)
        if st is None or a is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {fingerprint!r}")
        inhibitor = Inhibitor(st.alerts.values(), alerter.policy.inhibitions)
        return _alert_out(a, st.silences, inhibitor, service.now_us())

    @router.post("/alerts/{fingerprint}/ack", dependencies=mutate, responses={404: {}, 503: {}})
    async def acknowledge(fingerprint: str, body: AckIn) -> AlertOut:
        """Acknowledge an alert: reminders stop for this episode (journaled)."""
        try:
            a = await alerter.acknowledge(fingerprint, body.by, body.comment)
        except NotLeaderError as exc:
            raise standby(exc) from None
        if a is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {fingerprint!r}")
        st = alerter.state
        assert st is not None  # noqa: S101 - acknowledge() needs it
        return _alert_out(a, st.silences, Inhibitor(st.alerts.values(), ()), service.now_us())

    @router.get("/silences")
    def list_silences(include_expired: bool = False) -> list[SilenceOut]:
        """Silences in force or to come (and past ones with ``include_expired``)."""
        st = alerter.state
        now = service.now_us()
        silences = [] if st is None else st.silences
        return [_silence_out(s, now) for s in silences if include_expired or s.ends_at > now]

    @router.post("/silences", dependencies=mutate, status_code=201, responses={422: {}, 503: {}})
    async def create_silence(body: SilenceIn) -> SilenceOut:
        """Silence alerts matching every matcher, from ``starts_at`` (default now) to the end."""
        now = service.now_us()
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
            silence = await alerter.add_silence(
                tuple(matchers),
                starts_at=starts,
                ends_at=ends,
                created_by=body.created_by,
                comment=body.comment,
            )
        except NotLeaderError as exc:
            raise standby(exc) from None
        return _silence_out(silence, now)

    @router.delete("/silences/{silence_id}", dependencies=mutate, responses={404: {}, 503: {}})
    async def expire_silence(
        silence_id: str, by: Annotated[str, Query(min_length=1)]
    ) -> SilenceOut:
        """End a silence now (it stays listed as expired)."""
        try:
            s = await alerter.expire_silence(silence_id, by)
        except NotLeaderError as exc:
            raise standby(exc) from None
        if s is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no silence {silence_id!r}")
        return _silence_out(s, service.now_us())

    @router.get("/deliveries", dependencies=reveal)
    async def deliveries(
        status_: Annotated[
            str | None, Query(alias="status", pattern="^(pending|delivered|failed)$")
        ] = None,
        receiver: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeliveryOut]:
        """Notifications, newest first."""
        rows = await store.outbox_rows(status=status_, receiver=receiver, limit=limit)
        return [_delivery_out(r) for r in rows]

    @router.get("/deliveries/{outbox_id}", dependencies=reveal, responses={404: {}})
    async def delivery(outbox_id: str) -> DeliveryDetail:
        """One notification, its body and its attempts."""
        row = await store.outbox_row(outbox_id)
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
            for a in await store.attempts(outbox_id)
        ]
        return DeliveryDetail(**_delivery_out(row).model_dump(), body=row.body, history=history)

    @router.post("/deliveries/{outbox_id}/resend", dependencies=mutate, responses={404: {}})
    async def resend(outbox_id: str, body: ActorIn) -> DeliveryOut:
        """Send a notification again, under the same ``webhook-id`` (journaled)."""
        row = await store.resend(outbox_id, body.by, service.now_us())
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no notification {outbox_id!r}")
        service.delivery.wake()
        return _delivery_out(row)

    @router.get("/receivers", dependencies=reveal)
    async def receivers() -> list[ReceiverOut]:
        """Configured receivers, whether enabled, and their outbox counts."""
        counts = await store.counts()
        disabled = alerter.disabled
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
            for r in service.settings.alerts.receivers
        ]

    @router.post("/receivers/{name}/enable", dependencies=mutate, responses={404: {}, 503: {}})
    async def enable(name: str, body: ActorIn) -> ReceiverOut:
        """Enable a receiver that answered 410 Gone; its held notifications go out."""
        r = service.settings.alerts.receiver(name)
        if r is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no receiver {name!r}")
        try:
            await alerter.enable_receiver(name, body.by)
        except NotLeaderError as exc:
            raise standby(exc) from None
        service.delivery.wake()
        counts = await store.counts()
        return ReceiverOut(
            name=name,
            type=r.type,
            enabled=True,
            disabled_reason=None,
            pending=counts.get((name, "pending"), 0),
            delivered=counts.get((name, "delivered"), 0),
            failed=counts.get((name, "failed"), 0),
        )

    return router


def _aware_us(t: datetime) -> int:
    if t.tzinfo is None:
        raise HTTPException(422, "times need a UTC offset (RFC 3339)")
    return to_us(t)
