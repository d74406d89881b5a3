"""Bearer tokens: who may change things, and who may read payloads and settings.

Status reads are open (they carry nothing beyond what the board shows).
Reads that can reveal raw payloads, delivery errors or receivers' settings
(dead letters, deliveries, receivers) need ``Authorization: Bearer`` with
``$EFIR_API_READ_TOKEN`` or ``$EFIR_API_TOKEN``; every mutating endpoint needs
``$EFIR_API_TOKEN``. Each is off (403) while its token is not configured.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from efir.api.context import Ctx  # noqa: TC001 - FastAPI reads the annotation at runtime
from efir.api.models import ErrorOut

_bearer = HTTPBearer(auto_error=False)
_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

#: Errors of a token-protected endpoint (added to each by the OpenAPI document).
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No bearer token, or not the right one"},
    403: {"model": ErrorOut, "description": "The endpoint's token is not configured"},
}


def authorised(ctx: Ctx, credentials: _Credentials) -> None:
    """Mutating endpoints: ``$EFIR_API_TOKEN``."""
    _check(credentials, ctx.write_tokens, "mutating endpoints are off: set EFIR_API_TOKEN")


def readable(ctx: Ctx, credentials: _Credentials) -> None:
    """Reads that can reveal payloads and settings: the read or the write token."""
    _check(
        credentials,
        ctx.read_tokens,
        "this endpoint can reveal payloads and settings and is off: set "
        "EFIR_API_READ_TOKEN (or EFIR_API_TOKEN)",
    )


#: ``dependencies=`` of a mutating route and of a revealing read.
MUTATE = [Depends(authorised)]
REVEAL = [Depends(readable)]


def _check(
    credentials: HTTPAuthorizationCredentials | None, tokens: tuple[bytes, ...], off: str
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
