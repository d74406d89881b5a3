"""Health: liveness, readiness (with reasons) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """Liveness: the process answers."""

    status: str = "ok"


class Readiness(BaseModel):
    """Readiness: state loaded, store writable, broker connected, queue not saturated."""

    ready: bool
    checks: dict[str, str] = Field(description="One entry per check: `ok` or what is wrong.")


@router.get("/healthz")
def healthz() -> Health:
    """The process is alive."""
    return Health()


@router.get("/readyz", responses={503: {"model": Readiness}})
def readyz(ctx: Ctx, response: Response) -> Readiness:
    """Ready to take and count events (503 with the reasons otherwise)."""
    checks = ctx.readiness()
    ready = all(v == "ok" for v in checks.values())
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(ready=ready, checks=checks)


@router.get("/metrics", response_class=Response)
def metrics(ctx: Ctx) -> Response:
    """Prometheus metrics (Efir's own registry)."""
    return Response(generate_latest(ctx.registry), media_type=CONTENT_TYPE_LATEST)
