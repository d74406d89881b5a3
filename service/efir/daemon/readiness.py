"""Readiness: whether this instance takes and counts events now, and if not why.

``/readyz`` answers with :meth:`Readiness.checks`, and ``efir_ready`` is 1
exactly when every check is ``ok``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from efir.daemon.ingest import Ingest
    from efir.daemon.mqtt import MqttConsumer


class Readiness:
    """The checks: live state rebuilt, store reachable, broker connected, queue not full."""

    def __init__(self, ingest: Ingest, consumer: MqttConsumer) -> None:
        """Check these parts; ``loaded`` is set by the service once the state is rebuilt."""
        self.ingest = ingest
        self.consumer = consumer
        self.loaded = False

    def checks(self) -> dict[str, str]:
        """One entry per check: ``ok`` or what is wrong."""
        mqtt = self.consumer.state
        ingest = self.ingest
        return {
            "state": "ok" if self.loaded else "rebuilding live state from the store",
            "store": "ok" if ingest.store_error is None else f"unavailable: {ingest.store_error}",
            "mqtt": "ok"
            if mqtt.connected
            else ("refused: " if mqtt.refused else "disconnected: ") + (mqtt.error or "connecting"),
            "queue": "ok"
            if not ingest.saturated
            else f"backpressure: {ingest.queue.qsize()} events queued",
        }

    def ready(self) -> bool:
        """Every check is ``ok``."""
        return all(v == "ok" for v in self.checks().values())
