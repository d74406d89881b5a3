"""The fleet in the API: the instances, and where a channel of another shard is served.

Any instance answers for every configured channel. For one its shard does
not serve, the channel routes answer ``421 Misdirected Request`` (RFC 9110:
this server is not the one to produce the answer) with ``served_by``: the
shard, the instance serving it now and that instance's address; the channel
list and the board list it with the same ``served_by``. ``GET
/api/v1/instances`` lists the fleet as the store last heard of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.core.timebase import format_local

if TYPE_CHECKING:
    from efir.daemon.fleet import ServedBy

router = APIRouter(tags=["fleet"])
_UTC = ZoneInfo("UTC")


class ServedByOut(BaseModel):
    """Where a channel of another shard is served."""

    channel: str
    shard: str
    instance: str | None = Field(
        description="The instance serving it now (its shard's leader when it has one); "
        "null when no instance of the shard reported in the last 10 s."
    )
    url: str | None = Field(description="That instance's address (its `public_url`).")
    leader: bool = Field(description="That instance holds its shard's sender lease.")

    @classmethod
    def of(cls, where: ServedBy) -> ServedByOut:
        """The API shape of ``where``."""
        return cls(
            channel=where.channel,
            shard=where.shard,
            instance=where.instance,
            url=where.url,
            leader=where.leader,
        )


class MisdirectedOut(BaseModel):
    """The channel is served by another instance: where to ask instead."""

    detail: str
    served_by: ServedByOut


class InstanceOut(BaseModel):
    """One instance of the fleet, as it last reported itself."""

    id: str = Field(description="Its `mqtt.client_id`.")
    shard: str | None
    url: str | None
    leader: bool = Field(description="It holds its shard's sender lease.")
    alive: bool = Field(description="It reported in the last 10 s.")
    here: bool = Field(description="It is the instance answering.")
    version: str
    started: str
    seen: str
    channels: int = Field(description="How many channels it serves.")
    config: str = Field(description="Digest of the channel list and shards it runs with.")


class Instances(BaseModel):
    """The fleet: the shard this instance serves and every instance known."""

    shard: str | None = Field(description="The shard of the instance answering.")
    shards: list[str] = Field(description="Every shard the channel list names.")
    consistent: bool = Field(
        description="Every running instance runs this one's channel list and shards."
    )
    instances: list[InstanceOut]


class MisdirectedError(HTTPException):
    """The channel asked for is served by another shard (answered 421 with ``served_by``)."""

    def __init__(self, where: ServedBy) -> None:
        """Say where ``where.channel`` is served."""
        super().__init__(status.HTTP_421_MISDIRECTED_REQUEST, where.sentence())
        self.where = where


async def misdirected(request: Request, exc: Exception) -> JSONResponse:
    """The 421 answer, with ``served_by`` (registered on the application)."""
    del request
    assert isinstance(exc, MisdirectedError)  # noqa: S101 - registered for this class only
    body = MisdirectedOut(detail=str(exc.detail), served_by=ServedByOut.of(exc.where))
    return JSONResponse(body.model_dump(), status_code=exc.status_code)


#: The 421 response every channel route may give.
MISDIRECTED: dict[int | str, dict[str, Any]] = {
    421: {"model": MisdirectedOut, "description": "The channel is served by another shard"}
}


def not_here(ctx: Ctx, channel_id: str) -> None:
    """Raise :class:`MisdirectedError` when another shard serves ``channel_id``."""
    fleet = ctx.fleet
    where = None if fleet is None else fleet.served_by(channel_id)
    if where is not None:
        raise MisdirectedError(where)


@router.get("/api/v1/instances")
def instances(ctx: Ctx) -> Instances:
    """Every instance of the fleet, its shard, role and address (docs/scaling.md)."""
    fleet = ctx.fleet
    if fleet is None:
        return Instances(shard=None, shards=[], consistent=True, instances=[])
    rows = {r.id: r for r in fleet.rows}
    rows[fleet.me] = fleet.me_row()  # this one as it is now, reported or not
    return Instances(
        shard=fleet.shards.own,
        shards=list(fleet.shards.shards),
        consistent=not fleet.differing,
        instances=[
            InstanceOut(
                id=r.id,
                shard=r.shard,
                url=r.url,
                leader=r.leader,
                alive=fleet.alive(r),
                here=r.id == fleet.me,
                version=r.version,
                started=format_local(r.started_us, _UTC),
                seen=format_local(r.seen_us, _UTC),
                channels=r.channels,
                config=r.config,
            )
            for r in sorted(rows.values(), key=lambda r: (r.shard or "", r.id))
        ],
    )
