"""The FastAPI application: one router per resource, one context for all of them.

:func:`create_app` takes the :class:`~efir.api.context.ApiContext` the
composition root built and mounts the routers: health, channels, events,
dead letters, alerts, silences, deliveries, receivers and the board. Who may
call what is in :mod:`efir.api.auth`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from fastapi.openapi.utils import get_openapi
from fastapi_offline import FastAPIOffline

from efir import __version__
from efir.api import (
    alerts,
    catalogue,
    channels,
    dead_letters,
    deliveries,
    events,
    fleet,
    health,
    nowplaying,
    plans,
    receivers,
    reports,
    silences,
)
from efir.api.auth import AUTH_ERRORS
from efir.api.board import board_router
from efir.api.models import ErrorOut

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.routing import APIRoute

    from efir.api.context import ApiContext


def create_app(context: ApiContext) -> FastAPI:
    """Build the API over ``context``."""
    # Swagger UI and ReDoc from files in the package: broadcast networks are
    # often air-gapped, and a CDN-loaded /docs is a blank page there.
    app = FastAPIOffline(
        title="Efir",
        version=__version__,
        summary="Real-time broadcast compliance monitor: live airtime quotas per channel.",
        generate_unique_id_function=_operation_id,
    )
    app.state.context = context
    for module in (
        health,
        channels,
        plans,
        reports,
        catalogue,
        events,
        nowplaying,
        dead_letters,
        alerts,
        silences,
        deliveries,
        receivers,
        fleet,
    ):
        app.include_router(module.router)
    app.add_exception_handler(fleet.MisdirectedError, fleet.misdirected)
    app.include_router(board_router())
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _operation_id(route: APIRoute) -> str:
    """Operation ids are the route functions' names (stable, readable, unique)."""
    return route.name


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
                for code, spec in AUTH_ERRORS.items():
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
