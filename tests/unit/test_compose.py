"""The composition root wires every part when it builds it, and the API sees only its context."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}",
        mqtt_url="mqtt://127.0.0.1:1",
        channels=[ChannelConfig(id="qaz-tv", name="Qazaq TV")],
        api_token="secret-write",  # noqa: S106 - a test token
        api_read_token="secret-read",  # noqa: S106
    )


def test_build_wires_each_part_to_the_ones_it_uses(tmp_path: Path) -> None:
    service = build(_settings(tmp_path), now_us=lambda: 0)
    parts = service.parts
    # The writer hydrates restored ids through the checkpointer and wakes the alerter.
    assert parts.ingest.hydrate == parts.checkpointer.hydrate
    assert parts.ingest.on_applied == parts.alerter.kick
    # One lock, the monitor's, for the writer, checkpoints and the API.
    assert parts.checkpointer.monitor is parts.monitor is parts.ingest.monitor
    # The alerter's wake-up is the delivery worker's.
    assert parts.delivery._wake is not None
    parts.alerter.wake_delivery()
    assert parts.delivery._wake.is_set()
    # The worker delivers from the alert store's outbox, under its lease.
    assert parts.delivery.store is parts.alert_store.outbox
    assert parts.leadership.alerts is parts.alert_store


def test_the_api_gets_a_context_of_what_its_routes_use(tmp_path: Path) -> None:
    service = build(_settings(tmp_path), now_us=lambda: 42)
    ctx = service.app.state.context  # type: ignore[attr-defined]
    parts = service.parts
    assert ctx.monitor is parts.monitor
    assert ctx.ingest is parts.ingest
    assert ctx.now_us() == 42
    assert ctx.stopping is parts.stopping
    assert ctx.channel_names == {"qaz-tv": "Qazaq TV"}
    assert ctx.write_tokens == (b"secret-write",)
    assert ctx.read_tokens == (b"secret-write", b"secret-read")
    assert ctx.readiness()["state"] == "rebuilding live state from the store"


def test_a_service_built_and_dropped_is_freed(tmp_path: Path) -> None:
    """Building a service does not build its API: FastAPI's process-wide caches keep every
    application, and with it the live state, so a tool or benchmark that builds several
    services in one process would hold them all."""
    service = build(_settings(tmp_path), now_us=lambda: 0)
    monitor = weakref.ref(service.monitor)
    del service
    gc.collect()
    assert monitor() is None
