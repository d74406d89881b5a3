"""An Efir service with its API in this process: no broker, a fixed clock, SQLite."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings
from efir.daemon.service import Service

NOW = 1_763_280_000_000_000  # 2025-11-16T13:00:00+05:00 (a Sunday)
TOKEN = "s3cret"  # noqa: S105 - a test token
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def event(event_id: str = "p1", **fields: Any) -> dict[str, Any]:
    """A ``complete`` programme on qaz-tv, 12:00-12:30 in Kazakh unless ``fields`` say otherwise."""
    return {
        "schema": "efir.asrun/1",
        "channel": "qaz-tv",
        "event_id": event_id,
        "phase": "complete",
        "start": "2025-11-16T12:00:00+05:00",
        "duration": 1800,
        "kind": "program",
        "language": "kk",
        **fields,
    }


@contextlib.asynccontextmanager
async def writing(service: Service) -> AsyncIterator[Service]:
    """Open ``service`` (restore or replay) and run its ingest writer; close the store after."""
    await service.open()
    writer = asyncio.create_task(service.ingest.run())
    try:
        yield service
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writer
        await service.store.close()


@contextlib.asynccontextmanager
async def in_process(
    tmp_path: Path, channels: list[ChannelConfig] | None = None, **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    """The service at ``NOW`` with its ingest writer running, and an HTTP client on its API."""
    service = build(
        Settings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
            mqtt_url="mqtt://127.0.0.1:1",
            channels=channels or [ChannelConfig(id="qaz-tv")],
            **{"api_token": TOKEN, **settings},
        ),
        now_us=lambda: NOW,
    )
    async with writing(service):
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://efir") as http:
            yield http, service
