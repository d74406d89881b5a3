"""A broker that comes back without Efir's session is reported; one that kept it is not.

Efir's subscriptions and the messages queued for it live in its broker
session. When a reconnection finds the session gone (a broker that lost its
state, e.g. one that cannot write its persistence file), what adapters
published meanwhile never arrives: Efir says so (metric and log) instead of
carrying on as if nothing happened.
"""

from __future__ import annotations

from pathlib import Path

import aiomqtt
import pytest

from tests.integration.live import running, settings_for, until
from tests.services import Mosquitto, create_database, drop_database, free_port, unique_prefix

pytestmark = pytest.mark.integration


async def test_a_lost_session_is_counted_and_a_kept_one_is_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    name, db = await create_database()
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    try:
        settings = settings_for(
            db_url=db, mqtt_url=broker.url, prefix=unique_prefix(), data_dir=tmp_path
        )
        async with running(settings) as svc:
            registry = svc.metrics.registry

            def sample(metric: str) -> float:
                return registry.get_sample_value(metric) or 0.0

            assert sample("efir_mqtt_connects_total") == 1
            # Another client takes the session over and leaves it: the broker keeps it.
            async with aiomqtt.Client(
                "127.0.0.1", broker.port, identifier=settings.mqtt.client_id, clean_session=False
            ):
                pass
            await until(lambda: sample("efir_mqtt_connects_total") == 2, timeout=30)
            assert sample("efir_mqtt_sessions_lost_total") == 0
            # The broker comes back without its state: the session is gone.
            broker.stop()
            for saved in tmp_path.glob("*.db"):  # noqa: ASYNC240 - a test step, broker stopped
                saved.unlink()
            broker.start()
            await until(lambda: sample("efir_mqtt_connects_total") == 3, timeout=30)
            assert sample("efir_mqtt_sessions_lost_total") == 1
            assert "did not keep Efir's session" in caplog.text
    finally:
        broker.stop()
        await drop_database(name)
