"""The FastAPI application factory (no globals: everything hangs off the service).

Reads are open (they carry no secrets beyond what the board shows); every
mutating endpoint needs ``Authorization: Bearer $EFIR_API_TOKEN`` and is off
while no token is configured.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from efir import __version__
from efir.api.alerts import alert_router
from efir.api.board import board_router
from efir.api.models import (
    ChannelStatus,
    ChannelSummary,
    DeadLetterOut,
    EventResult,
    EventsResponse,
    Health,
    Readiness,
    ReplayRequest,
    ReplayResponse,
    RuleStatus,
    WindowList,
)
from efir.api.views import feed_info, on_air_now
from efir.core.advice import advice
from efir.core.engine import ROLLING_US
from efir.core.status import worst
from efir.core.timebase import format_local, to_us
from efir.daemon.monitor import Channel, live_since
from efir.daemon.windows import window_object
from efir.schema.asrun import MAX_PAYLOAD_BYTES

if TYPE_CHECKING:
    from efir.daemon.ingest import Outcome
    from efir.daemon.service import Service

#: At most this many events per POST (each is committed before the answer).
MAX_EVENTS_PER_POST = 10_000
_bearer = HTTPBearer(auto_error=False)


def create_app(service: Service) -> FastAPI:  # noqa: PLR0915 - one closure per endpoint
    """Build the API for ``service``."""
    app = FastAPI(
        title="Efir",
        version=__version__,
        summary="Real-time broadcast compliance monitor: live airtime quotas per channel.",
    )
    token = service.settings.api_token
    names = {c.id: c.name for c in service.settings.channels}

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if token is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "mutating endpoints are off: set EFIR_API_TOKEN to enable them",
            )
        if credentials is None or not secrets.compare_digest(
            credentials.credentials.encode(), token.get_secret_value().encode()
        ):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a valid bearer token is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    def channel_or_404(channel_id: str) -> Channel:
        ch = service.monitor.get(channel_id)
        if ch is None:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"channel {channel_id!r} is not monitored"
            )
        return ch

    # ------------------------------------------------------------ health
    @app.get("/healthz", tags=["health"])
    def healthz() -> Health:
        """The process is alive."""
        return Health()

    @app.get("/readyz", tags=["health"], responses={503: {"model": Readiness}})
    def readyz(response: Response) -> Readiness:
        """Ready to take and count events (503 with the reasons otherwise)."""
        checks = service.readiness()
        ready = all(v == "ok" for v in checks.values())
        if not ready:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return Readiness(ready=ready, checks=checks)

    @app.get("/metrics", tags=["health"], response_class=Response)
    def metrics() -> Response:
        """Prometheus metrics (Efir's own registry)."""
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # ---------------------------------------------------------- channels
    @app.get("/api/v1/channels", tags=["status"])
    def channels() -> list[ChannelSummary]:
        """Every monitored channel, its feed and its worst status now."""
        now = service.now_us()
        out = []
        for ch in service.monitor.channels.values():
            results = ch.status(now)
            out.append(
                ChannelSummary(
                    id=ch.profile.id,
                    name=names.get(ch.profile.id),
                    media=str(ch.profile.media),
                    timezone=ch.profile.timezone,
                    rule_pack=ch.profile.rule_pack,
                    worst_status=str(worst([w.status for w in results])) if results else None,
                    feed=feed_info(service, ch, now),
                )
            )
        return out

    @app.get("/api/v1/channels/{channel_id}/status", tags=["status"])
    def channel_status(channel_id: str) -> ChannelStatus:
        """Per enabled rule, the current window's figures and status; the feed; what is on air."""
        ch = channel_or_404(channel_id)
        now = service.now_us()
        tz = ch.engine.tz
        results = ch.status(now)
        rules = []
        for w in results:
            rule = ch.engine.rules[w.rule].rule
            obj = window_object(ch, w)
            rules.append(
                RuleStatus.model_validate(
                    {
                        **obj,
                        "title": rule.title,
                        "type": str(rule.type),
                        "severity": str(rule.severity),
                        "count": w.count,
                        "advice": advice(w, tz) or None,
                    }
                )
            )
        on_air = on_air_now(ch, now)
        return ChannelStatus(
            channel=ch.profile.id,
            name=names.get(ch.profile.id),
            media=str(ch.profile.media),
            timezone=ch.profile.timezone,
            now=format_local(now, tz),
            feed=feed_info(service, ch, now),
            on_air=on_air,
            worst_status=str(worst([w.status for w in results])) if results else None,
            rules=rules,
        )

    @app.get("/api/v1/channels/{channel_id}/windows", tags=["status"])
    async def channel_windows(
        channel_id: str,
        rule: Annotated[str | None, Query(description="Rule id (all rules when absent).")] = None,
        from_: Annotated[
            str | None, Query(alias="from", description="RFC 3339 (default: 7 days ago).")
        ] = None,
        to: Annotated[str | None, Query(description="RFC 3339 (default: now).")] = None,
    ) -> WindowList:
        """Windows intersecting ``[from, to)``, shaped like ``efir audit`` JSON.

        Recent windows come from the live state (open ones carry a live status),
        older ones from the store; stored windows changed by late events carry
        ``revision`` and ``revised_from``.
        """
        ch = channel_or_404(channel_id)
        if rule is not None and rule not in ch.engine.rules:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"rule {rule!r} is not active on {channel_id!r}"
            )
        now = service.now_us()
        hi = _instant(to, ch.engine.tz, "to") if to else now
        lo = _instant(from_, ch.engine.tz, "from") if from_ else now - ROLLING_US
        if hi <= lo:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "`to` must be after `from`")
        live_from = live_since(now)
        merged: dict[tuple[str, int], dict[str, Any]] = {}
        for sw in await service.store.windows(channel_id, lo, hi, rule):
            merged[sw.rule, sw.window_start_us] = {
                **sw.figures,
                "status": sw.verdict,
                "revision": sw.revision,
                "revised_from": sw.revised_from,
            }
        if hi > live_from:
            rules = [rule] if rule else None
            for w in ch.engine.windows(max(lo, live_from), hi, now=now, rules=rules):
                key = (w.rule, w.window_start)
                old = merged.get(key, {})
                merged[key] = {
                    **window_object(ch, w),
                    "revision": old.get("revision", 0),
                    "revised_from": old.get("revised_from"),
                }
        ordered = [merged[k] for k in sorted(merged)]
        return WindowList(channel=channel_id, windows=ordered)

    # ------------------------------------------------------------ events
    @app.post(
        "/api/v1/events",
        tags=["ingest"],
        dependencies=[Depends(authorised)],
        responses={413: {"description": "Body too large"}},
    )
    async def post_events(request: Request, response: Response) -> EventsResponse:
        """Take one ``efir.asrun/1`` event or a JSON array of them.

        Each event is committed (or dead-lettered with its reason) before the
        answer; the status code is 200 when all were accepted, 422 otherwise.
        """
        body = await request.body()
        if len(body) > MAX_PAYLOAD_BYTES * MAX_EVENTS_PER_POST:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "body too large")
        payloads = _split_body(body)
        outcomes = await service.ingest.submit_and_wait(payloads, "http")
        result = _results(outcomes)
        if result.rejected:
            response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return result

    # ------------------------------------------------------- dead letters
    @app.get("/api/v1/dead-letters", tags=["ingest"])
    async def dead_letters(
        channel: str | None = None,
        pending: bool = False,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[DeadLetterOut]:
        """The newest dead letters first (``pending=true``: not yet replayed)."""
        rows = await service.store.dead(limit=limit, channel_id=channel, pending_only=pending)
        return [_dead_out(r) for r in rows]

    @app.post("/api/v1/dead-letters/replay", tags=["ingest"], dependencies=[Depends(authorised)])
    async def replay(body: ReplayRequest) -> ReplayResponse:
        """Feed dead letters through ingest again; accepted ones are marked replayed."""
        rows = await service.store.dead_by_id(body.ids)
        outcomes = await service.ingest.submit_and_wait(
            [bytes(r["payload"]) for r in rows], "replay"
        )
        done = [r["id"] for r, o in zip(rows, outcomes, strict=True) if o.accepted]
        if done:
            await service.store.mark_replayed(done, service.now_us())
        r = _results(outcomes)
        return ReplayResponse(accepted=r.accepted, rejected=r.rejected, results=r.results)

    app.include_router(alert_router(service, authorised))
    app.include_router(board_router(service))
    return app


# ------------------------------------------------------------------ helpers
def _instant(text: str, tz: ZoneInfo, name: str) -> int:
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            f"`{name}` must be an RFC 3339 time, not {text!r}",
        ) from None
    return to_us(t if t.tzinfo is not None else t.replace(tzinfo=tz))


def _split_body(body: bytes) -> list[bytes]:
    stripped = body.lstrip()
    if not stripped.startswith(b"["):
        return [body]
    try:
        items = json.loads(stripped)
    except ValueError:
        return [body]  # goes to dead letters with the parser's reason
    if len(items) > MAX_EVENTS_PER_POST:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"at most {MAX_EVENTS_PER_POST} events per request"
        )
    return [json.dumps(item, ensure_ascii=False).encode() for item in items]


def _results(outcomes: list[Outcome]) -> EventsResponse:
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


def _dead_out(r: dict[str, Any]) -> DeadLetterOut:
    utc = ZoneInfo("UTC")
    return DeadLetterOut(
        id=r["id"],
        received=format_local(r["received_us"], utc),
        source=r["source"],
        topic=r["topic"],
        channel=r["channel_id"],
        code=r["code"],
        reason=r["reason"],
        payload=bytes(r["payload"]).decode("utf-8", "replace"),
        replayed=None if r["replayed_us"] is None else format_local(r["replayed_us"], utc),
    )
