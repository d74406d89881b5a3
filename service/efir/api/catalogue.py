"""The catalogue through the API: entries, imports, the journal, and the worklist.

* ``GET /api/v1/catalogue``: the entries (``?channel=``, ``?q=`` a key or title part),
  each with how many events it filled in since the daemon started;
* ``PUT /api/v1/catalogue``: add or replace entries; ``DELETE
  /api/v1/catalogue/{key_field}/{key}``: remove one;
* ``POST /api/v1/catalogue/import``: a CSV or XLSX file as the body
  (docs/integration.md, "The catalogue"); rows that cannot be used are listed;
* ``GET /api/v1/catalogue/journal``: who changed what, when, from what to what;
* ``GET /api/v1/channels/{id}/unclassified``: the worklist, what aired without a
  language or origin, ranked by airtime.

A change recounts the channels whose live items carry the entry's key: the
windows it touches are judged again, revised windows marked so.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field, field_validator

from efir.api.auth import MUTATE
from efir.api.channels import NOT_FOUND, channel, instant_param
from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.events import read_body
from efir.api.models import ErrorOut
from efir.core.catalogue import Entry
from efir.core.channel import CHANNEL_ID
from efir.core.event import Kind
from efir.core.timebase import US_PER_S, format_local
from efir.daemon.cataloguing import CatalogueKeeper, unclassified
from efir.daemon.monitor import Channel  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.readers.base import LineError
from efir.readers.catalogue_file import MAX_FILE_BYTES, CatalogueFileError, entries, rows_of
from efir.schema.languages import is_language, language_problem
from efir.store.catalogue import entry_data

router = APIRouter(tags=["catalogue"])
_DAY_US = 86_400 * US_PER_S
_UTC = ZoneInfo("UTC")
_CONTROL = re.compile(r"[\x00-\x1f]")


class EntryIn(BaseModel):
    """One catalogue entry: what a house number or ISRC is."""

    key_field: Literal["house_id", "isrc"]
    key: str = Field(min_length=1, max_length=128)
    channel: str | None = Field(default=None, pattern=CHANNEL_ID.pattern)
    kind: Kind | None = None
    language: str | None = None
    kk_fraction: float | None = Field(default=None, ge=0, le=1)
    origin: Literal["domestic", "foreign"] | None = None
    tags: list[str] = Field(default=[], max_length=32)
    title: str | None = Field(default=None, max_length=200)

    @field_validator("key", "title", "tags")
    @classmethod
    def _printable(cls, value: object) -> object:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and _CONTROL.search(t) for t in texts):
            msg = "control characters (U+0000..U+001F) cannot be stored"
            raise ValueError(msg)
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        if value is not None and not is_language(value):
            raise ValueError(language_problem(value))
        return value


class EntriesIn(BaseModel):
    """Entries to add or replace, and who does it."""

    by: str = Field(min_length=1, max_length=255, description="Who makes the change.")
    entries: list[EntryIn] = Field(min_length=1, max_length=10_000)


class ChangeOut(BaseModel):
    """What a change did."""

    put: int
    deleted: int
    unchanged: int
    recounted: list[str] = Field(description="Channels whose live windows were judged again.")
    refused: list[dict[str, Any]] = Field(
        default=[], description="Rows of an imported file that could not be used."
    )


def _keeper(ctx: Ctx) -> CatalogueKeeper:
    if ctx.cataloguing is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no catalogue in this process")
    return ctx.cataloguing


def _entry(e: EntryIn, by: str, now: int) -> Entry:
    return Entry(
        key_field=e.key_field, key=e.key, channel=e.channel,
        kind=None if e.kind is None else e.kind.value, language=e.language,
        kk_fraction=e.kk_fraction, origin=e.origin, tags=tuple(e.tags), title=e.title,
        updated_by=by, updated_us=now,
    )  # fmt: skip


def _out(e: Entry, used: int) -> dict[str, Any]:
    data = entry_data(e)
    data["used"] = used
    return data


@router.get("/api/v1/catalogue")
def list_catalogue(
    ctx: Ctx,
    channel_id: Annotated[str | None, Query(alias="channel")] = None,
    q: Annotated[str | None, Query(max_length=128, description="Part of a key or title.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """The entries, each with the events it filled in since the daemon started (``used``)."""
    keeper = _keeper(ctx)
    used = keeper.enrichment.used
    out = []
    needle = (q or "").lower()
    for e in keeper.catalogue.entries():
        if channel_id is not None and e.channel not in (None, channel_id):
            continue
        if needle and needle not in e.key.lower() and needle not in (e.title or "").lower():
            continue
        out.append(_out(e, used.get(e.ident, 0)))
        if len(out) >= limit:
            break
    return out


@router.put("/api/v1/catalogue", dependencies=MUTATE)
async def put_catalogue(ctx: Ctx, body: EntriesIn) -> ChangeOut:
    """Add or replace entries (journaled as ``by``); recount the channels they touch."""
    keeper = _keeper(ctx)
    now = ctx.now_us()
    done = await keeper.change([_entry(e, body.by, now) for e in body.entries], [], body.by, now)
    return ChangeOut.model_validate(done)


@router.delete("/api/v1/catalogue/{key_field}/{key}", dependencies=MUTATE, responses=NOT_FOUND)
async def delete_catalogue(
    ctx: Ctx,
    key_field: Literal["house_id", "isrc"],
    key: str,
    by: Annotated[str, Query(min_length=1, max_length=255, description="Who removes it.")],
    channel_id: Annotated[
        str | None, Query(alias="channel", description="The channel's own entry (default: shared).")
    ] = None,
) -> ChangeOut:
    """Remove one entry (journaled); recount the channels it touched."""
    keeper = _keeper(ctx)
    ident = (key_field, key, channel_id)
    if keeper.catalogue.get(ident) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no catalogue entry {key_field}={key!r}")
    done = await keeper.change([], [ident], by, ctx.now_us())
    return ChangeOut.model_validate(done)


@router.post(
    "/api/v1/catalogue/import",
    dependencies=MUTATE,
    responses={400: {"model": ErrorOut, "description": "Not a catalogue file"}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    },
)
async def import_catalogue(
    ctx: Ctx,
    request: Request,
    by: Annotated[str, Query(min_length=1, max_length=255, description="Who imports it.")],
    name: Annotated[str, Query(max_length=200, description="The file's name.")] = "upload",
) -> ChangeOut:
    """Import a CSV or XLSX catalogue file: every usable row put, the others listed."""
    keeper = _keeper(ctx)
    now = ctx.now_us()
    data, size = await read_body(request, MAX_FILE_BYTES)
    if size > MAX_FILE_BYTES:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, f"{name}: {size} bytes or more, over {MAX_FILE_BYTES}"
        )
    got: list[Entry] = []
    refused: list[dict[str, Any]] = []
    try:
        for e in entries(rows_of(data, name), name, actor=by, now=now):
            if isinstance(e, LineError):
                refused.append({"row": e.line, "reasons": list(e.reasons)})
            else:
                got.append(e)
    except CatalogueFileError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    done = await keeper.change(got, [], by, now) if got else {
        "put": 0, "deleted": 0, "unchanged": 0, "recounted": []
    }  # fmt: skip
    return ChangeOut.model_validate({**done, "refused": refused})


@router.get("/api/v1/catalogue/journal")
async def catalogue_journal(
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    key: Annotated[str | None, Query(max_length=128)] = None,
) -> list[dict[str, Any]]:
    """Who changed which entry, when (RFC 3339 UTC), from what to what; newest first."""
    keeper = _keeper(ctx)
    rows = await keeper.rows.journal(limit, key)
    return [
        {
            "at": format_local(c.at_us, _UTC),
            "by": c.actor,
            "action": c.action,
            "channel": c.channel,
            "key_field": c.key_field,
            "key": c.key,
            "before": c.before,
            "after": c.after,
        }
        for c in rows
    ]


@router.get("/api/v1/channels/{channel_id}/unclassified", responses=NOT_FOUND)
def channel_unclassified(
    ctx: Ctx,
    ch: Annotated[Channel, Depends(channel)],
    from_: Annotated[
        str | None, Query(alias="from", description="Start, RFC 3339 (default: 7 days ago).")
    ] = None,
    to: Annotated[str | None, Query(description="End, RFC 3339 (default: now).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> dict[str, Any]:
    """The worklist: what aired without a language (or origin), biggest airtime first.

    Over the live horizon (ten days). Each line: the key to catalogue (house
    number, ISRC, else the title), what it lacks, its seconds and airings.
    """
    now = ctx.now_us()
    tz = ch.engine.tz
    hi = min(instant_param(to, tz, "to"), now) if to else now
    lo = instant_param(from_, tz, "from") if from_ else hi - 7 * _DAY_US
    if hi <= lo:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "from must be before to")
    lines = unclassified(ch, lo, hi, now)
    total = sum(u.seconds for u in lines)
    return {
        "channel": ch.profile.id,
        "from": format_local(lo, tz),
        "to": format_local(hi, tz),
        "unclassified_s": total,
        "items": [
            {
                "key_field": u.key_field,
                "key": u.key,
                "title": u.title,
                "kind": u.kind,
                "missing": list(u.missing),
                "seconds": u.seconds,
                "airings": u.airings,
                "last_aired": format_local(u.last_aired_us, tz),
            }
            for u in lines[:limit]
        ],
    }
