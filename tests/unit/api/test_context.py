"""The API over a context of its own: no daemon, no database, no broker."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

import httpx
from prometheus_client import CollectorRegistry

from efir.api.app import create_app
from efir.api.context import ApiContext
from efir.config.alerts import AlertsConfig
from efir.core.channel import ChannelProfile
from efir.daemon.monitor import Monitor
from efir.schema.asrun import parse_event

NOW = 1_764_579_600_000_000  # 2025-12-01T09:00:00Z, 14:00 in Almaty


def _context(monitor: Monitor) -> ApiContext:
    unused = cast("Any", None)  # parts these routes never touch
    return ApiContext(
        now_us=lambda: NOW,
        monitor=monitor,
        store=unused,
        ingest=unused,
        alerter=unused,
        alert_store=unused,
        wake_delivery=lambda: None,
        registry=CollectorRegistry(),
        readiness=lambda: {"state": "ok"},
        stopping=asyncio.Event(),
        channel_names={"qaz-tv": "Qazaq TV"},
        alerts=AlertsConfig(),
    )


async def test_status_and_readiness_come_from_the_context_alone() -> None:
    monitor = Monitor([ChannelProfile(id="qaz-tv")], stale_after_s=300, started_us=NOW)
    payload = {
        "schema": "efir.asrun/1",
        "channel": "qaz-tv",
        "event_id": "PR-1",
        "phase": "complete",
        "start": "2025-12-01T12:00:00+05:00",
        "duration": 3600,
        "kind": "program",
        "language": "kk",
    }
    monitor.apply(parse_event(json.dumps(payload).encode(), now_us=NOW), NOW, NOW)
    transport = httpx.ASGITransport(app=create_app(_context(monitor)))
    async with httpx.AsyncClient(transport=transport, base_url="http://efir") as http:
        ready = await http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"ready": True, "checks": {"state": "ok"}}
        status = (await http.get("/api/v1/channels/qaz-tv/status")).json()
        assert status["name"] == "Qazaq TV"
        lang = next(r for r in status["rules"] if r["rule"] == "lang_6h")
        assert lang["window_start"] == "2025-12-01T12:00:00+05:00"
        assert lang["numerator_s"] == 3600.0
        missing = await http.get("/api/v1/channels/nope/status")
        assert missing.status_code == 404
        # Mutating endpoints are off without a write token in the context.
        assert (await http.post("/api/v1/events", content=b"{}")).status_code == 403
