"""Response models of the HTTP API (OpenAPI at ``/docs``).

Instants are RFC 3339 strings with the channel's local offset; durations are
seconds; shares and thresholds are fractions (0.55 = 55 %).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, Field

from efir.core.feed import FeedState
from efir.i18n import Language

#: Largest row id a database holds (a signed 64-bit integer).
MAX_ROW_ID = 2**63 - 1

#: The ``lang`` query parameter: the language of the texts people read in an answer
#: (advice, deadlines, rule titles); keys, ids and figures are the same in all.
LangQuery = Annotated[
    Language,
    Query(description="Language of the texts people read: en, kk or ru (default en)."),
]


class ErrorOut(BaseModel):
    """An error: what was wrong and, where one helps, what to do."""

    detail: str | list[dict[str, Any]] = Field(
        description="One sentence (or, for a malformed request, FastAPI's list of problems)."
    )


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


class ActorIn(BaseModel):
    """Who does it."""

    by: str = Field(min_length=1, max_length=255)
