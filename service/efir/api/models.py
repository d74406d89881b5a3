"""Response models of the HTTP API (OpenAPI at ``/docs``).

Instants are RFC 3339 strings with the channel's local offset; durations are
seconds; shares and thresholds are fractions (0.55 = 55 %).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from efir.core.status import Status
from efir.daemon.monitor import FeedState

#: Largest row id a database holds (a signed 64-bit integer).
MAX_ROW_ID = 2**63 - 1


class ErrorOut(BaseModel):
    """An error: what was wrong and, where one helps, what to do."""

    detail: str | list[dict[str, Any]] = Field(
        description="One sentence (or, for a malformed request, FastAPI's list of problems)."
    )


class Health(BaseModel):
    """Liveness: the process answers."""

    status: str = "ok"


class Readiness(BaseModel):
    """Readiness: state loaded, store writable, broker connected, queue not saturated."""

    ready: bool
    checks: dict[str, str] = Field(description="One entry per check: `ok` or what is wrong.")


class FeedInfo(BaseModel):
    """A channel's playout feed."""

    state: FeedState = Field(
        description="`online`, `stale`, `offline`, `off_air` (silent outside its on-air "
        "hours) or `unknown`."
    )
    adapter_status: str | None = Field(description="Last retained status of the adapter.")
    last_event: str | None
    last_heartbeat: str | None


class OnAir(BaseModel):
    """The primary item on air now."""

    event_id: str
    title: str | None
    kind: str | None
    language: str | None
    start: str
    planned_end: str | None


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


class ChannelSummary(BaseModel):
    """A channel in the list."""

    id: str
    name: str | None
    media: str
    timezone: str
    rule_pack: str
    worst_status: Status | None
    feed: FeedInfo


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
