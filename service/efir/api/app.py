"""The FastAPI application factory (no globals: everything hangs off the service).

Status reads are open (they carry nothing beyond what the board shows).
Reads that can reveal raw payloads, delivery errors or receivers' settings
(dead letters, deliveries, receivers) need ``Authorization: Bearer`` with
``$EFIR_API_READ_TOKEN`` or ``$EFIR_API_TOKEN``; every mutating endpoint needs
``$EFIR_API_TOKEN``. Each is off (403) while its token is not configured.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response, status
from fastapi.openapi.utils import get_openapi
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter

from efir import __version__
from efir.api.alerts import alert_router
from efir.api.board import board_router
from efir.api.models import (
    MAX_ROW_ID,
    ChannelStatus,
    ChannelSummary,
    DeadLetterOut,
    ErrorOut,
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
from efir.core.engine import ROLLING_US, judge_closed
from efir.core.rules import Rule, RuleType, what_if
from efir.core.status import worst
from efir.core.timebase import US_PER_S, format_local, to_us
from efir.core.wording import advice
from efir.daemon.ingest import Inbound
from efir.daemon.monitor import Channel, live_since
from efir.daemon.windows import window_object
from efir.schema.asrun import MAX_DEPTH, MAX_PAYLOAD_BYTES, AsRunPayload, EventError, check_depth

if TYPE_CHECKING:
    from fastapi.routing import APIRoute

    from efir.core.result import WindowResult
    from efir.daemon.ingest import Outcome
    from efir.daemon.service import Service

#: At most this many events per POST (each is committed before the answer).
MAX_EVENTS_PER_POST = 10_000
#: Largest body ``POST /api/v1/events`` reads: 413 as soon as more arrives
#: (about 25,000 typical events; one event is at most 64 KiB).
MAX_BODY_BYTES = 8 * 1024 * 1024
#: Bytes of an oversized body kept in its dead letter.
_BODY_PREFIX = 4096
_DAY_US = 86_400 * US_PER_S
#: Widest ``[from, to)`` of ``GET .../windows`` (422 beyond): a year and a leap day.
MAX_WINDOW_SPAN_US = 366 * _DAY_US
#: ``to`` at most this far ahead of now (windows further on hold nothing yet).
MAX_WINDOW_AHEAD_US = 8 * _DAY_US
#: Dead letters per page at most.
MAX_DEAD_LETTERS_PAGE = 100
#: Earliest ``from`` (2000-01-01T00:00:00Z), long before any as-run Efir keeps.
EARLIEST_US = 946_684_800 * US_PER_S
_bearer = HTTPBearer(auto_error=False)


def create_app(service: Service) -> FastAPI:  # noqa: PLR0915 - one closure per endpoint
    """Build the API for ``service``."""
    # Swagger UI and ReDoc from files in the package: broadcast networks are
    # often air-gapped, and a CDN-loaded /docs is a blank page there.
    app = FastAPIOffline(
        title="Efir",
        version=__version__,
        summary="Real-time broadcast compliance monitor: live airtime quotas per channel.",
        generate_unique_id_function=_operation_id,
    )
    token = service.settings.api_token
    read_token = service.settings.api_read_token
    names = {c.id: c.name for c in service.settings.channels}
    write_tokens = [token.get_secret_value().encode()] if token else []
    read_tokens = write_tokens + ([read_token.get_secret_value().encode()] if read_token else [])

    def authorised(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        _check_token(credentials, write_tokens, "mutating endpoints are off: set EFIR_API_TOKEN")

    def readable(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        _check_token(
            credentials,
            read_tokens,
            "this endpoint can reveal payloads and settings and is off: set "
            "EFIR_API_READ_TOKEN (or EFIR_API_TOKEN)",
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
                    worst_status=worst([w.status for w in results]) if results else None,
                    feed=feed_info(service, ch, now),
                )
            )
        return out

    @app.get("/api/v1/channels/{channel_id}/status", tags=["status"], responses=_NOT_FOUND)
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
                        "advice": advice(w, tz, now) or None,
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
            worst_status=worst([w.status for w in results]) if results else None,
            rules=rules,
        )

    @app.get(
        "/api/v1/channels/{channel_id}/windows",
        tags=["status"],
        responses={
            **_NOT_FOUND,
            422: {"model": ErrorOut, "description": "A range Efir does not answer"},
        },
    )
    async def channel_windows(
        channel_id: str,
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
        ch = channel_or_404(channel_id)
        if rule is not None and rule not in ch.engine.rules:
            raise HTTPException(
                status.HTTP_404_NOT_FOUND, f"rule {rule!r} is not active on {channel_id!r}"
            )
        now = service.now_us()
        hi = _instant(to, ch.engine.tz, "to") if to else now
        lo = _instant(from_, ch.engine.tz, "from") if from_ else min(hi, now) - ROLLING_US
        _check_span(lo, hi, now)
        live_from = live_since(now)
        under = None
        if as_of is not None:
            active = [rt.rule for rt in ch.engine.rules.values() if rule in (None, rt.rule.id)]
            under = {r.id: r for r in what_if(active, as_of=as_of)}
        merged: dict[tuple[str, int], dict[str, Any]] = {}
        for sw in await service.store.windows(channel_id, lo, hi, rule):
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

            # Off the event loop (MQTT and HTTP go on), under the writer's lock
            # (no event is applied while the live state is read).
            async with service.ingest.lock:
                live = await asyncio.to_thread(evaluate)
            for w in live:
                key = (w.rule, w.window_start)
                old = merged.get(key, {})
                merged[key] = {
                    **window_object(ch, w),
                    "revision": old.get("revision", 0),
                    "revised_from": old.get("revised_from"),
                }
        ordered = [merged[k] for k in sorted(merged)]
        what = None if as_of is None else {"as_of": as_of.isoformat(), "overrides": {}}
        return WindowList(channel=channel_id, windows=ordered, what_if=what)

    # ------------------------------------------------------------ events
    @app.post(
        "/api/v1/events",
        tags=["ingest"],
        dependencies=[Depends(authorised)],
        responses={
            413: {"model": ErrorOut, "description": "Body over 8 MiB or 10,000 events"},
            422: {"model": EventsResponse, "description": "Some events were dead-lettered"},
        },
        openapi_extra={"requestBody": _EVENTS_BODY},
    )
    async def post_events(request: Request, response: Response) -> EventsResponse:
        """Take one ``efir.asrun/1`` event or a JSON array of them.

        Each event is committed (or dead-lettered with its reason) before the
        answer; the status code is 200 when all were accepted, 422 otherwise.
        A body over 8 MiB is refused with 413 as soon as it is seen to be
        (its first 4 KiB are dead-lettered), before the rest is read.
        """
        body, size = await _read_body(request)
        if size > MAX_BODY_BYTES:
            reason = f"body of {size} bytes or more, over the {MAX_BODY_BYTES}-byte limit"
            await service.ingest.submit_all(
                [Inbound(body, "http", service.now_us(), refusal=("oversized", reason), size=size)]
            )
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, reason)
        payloads = _split_body(body)
        outcomes = await service.ingest.submit_and_wait(payloads, "http")
        result = _results(outcomes)
        if result.rejected:
            response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return result

    # ------------------------------------------------------- dead letters
    @app.get("/api/v1/dead-letters", tags=["ingest"], dependencies=[Depends(readable)])
    async def dead_letters(  # noqa: PLR0917 - FastAPI reads the query parameters from these
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
        rows = await service.store.dead(
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

    @app.post("/api/v1/dead-letters/replay", tags=["ingest"], dependencies=[Depends(authorised)])
    async def replay(body: ReplayRequest) -> ReplayResponse:
        """Feed dead letters through ingest again, with the checks of live ingest.

        A letter from MQTT must still name its topic's channel. Accepted
        letters are marked replayed; a refused one is updated with the new
        reason (no new letter is added).
        """
        rows = await service.store.dead_by_id(body.ids)
        now = service.now_us()
        outcomes = await service.ingest.submit_all(
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
            await service.store.mark_replayed(done, service.now_us())
        r = _results(outcomes)
        return ReplayResponse(accepted=r.accepted, rejected=r.rejected, results=r.results)

    app.include_router(alert_router(service, authorised, readable))
    app.include_router(board_router(service))
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _operation_id(route: APIRoute) -> str:
    """Operation ids are the route functions' names (stable, readable, unique)."""
    return route.name


#: Errors of a token-protected endpoint.
_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No bearer token, or not the right one"},
    403: {"model": ErrorOut, "description": "The endpoint's token is not configured"},
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "No such channel (or rule)"},
}
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


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated schema, made valid OpenAPI 3.1 and complete about errors.

    FastAPI describes a server-sent-events response with OpenAPI 3.2's
    ``itemSchema``, which a 3.1 document may not hold: it becomes a string
    schema with the event shape in its description. Every token-protected
    operation documents its 401 and 403.
    """
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        routes=app.routes,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    for path in schema["paths"].values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                for media in response.get("content", {}).values():
                    item = media.pop("itemSchema", None)
                    if item is not None:
                        media["schema"] = {
                            "type": "string",
                            "description": "A stream of server-sent events, each "
                            + json.dumps(item, sort_keys=True),
                        }
            if operation.get("security"):
                for code, spec in _AUTH_ERRORS.items():
                    operation["responses"].setdefault(
                        str(code),
                        {
                            "description": spec["description"],
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ErrorOut"}
                                }
                            },
                        },
                    )
    schema.setdefault("components", {}).setdefault("schemas", {}).setdefault(
        "ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    app.openapi_schema = schema
    return schema


# ------------------------------------------------------------------ helpers
def _check_token(
    credentials: HTTPAuthorizationCredentials | None, tokens: list[bytes], off: str
) -> None:
    if not tokens:
        raise HTTPException(status.HTTP_403_FORBIDDEN, off)
    given = credentials.credentials.encode() if credentials is not None else b""
    # Compared with every token (a list, no early exit) so timing tells nothing.
    matches = [secrets.compare_digest(given, t) for t in tokens]
    if credentials is None or not any(matches):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )


def _instant(text: str, tz: ZoneInfo, name: str) -> int:
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


def _check_span(lo: int, hi: int, now: int) -> None:
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


async def _read_body(request: Request) -> tuple[bytes, int]:
    """The body, or its first bytes once it is over :data:`MAX_BODY_BYTES`, and the size seen.

    A declared ``Content-Length`` over the limit is refused before any byte is read.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return b"", int(declared)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return b"".join(chunks)[:_BODY_PREFIX], size
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
