"""Thousands of malformed, oversized, wrong-channel and hostile payloads over real MQTT.

The daemon keeps running; each bad payload lands in dead letters with a reason;
the good events around them are all counted.
"""

from __future__ import annotations

import json
import random
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from efir.sim.feed import FeedSpec, generate
from tests.integration.live import api, publish, running, settings_for, until
from tests.services import MQTT_HOST, MQTT_PORT, require_port, unique_prefix

pytestmark = pytest.mark.integration
ALMATY = ZoneInfo("Asia/Almaty")


def _hostile(rng: random.Random, good: dict[str, object]) -> tuple[str, bytes]:
    """One bad payload of a random family, and the topic channel it is sent to."""
    family = rng.randrange(10)
    if family == 0:
        return "qaz-tv", bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 300)))
    if family == 1:
        text = json.dumps(good)
        return "qaz-tv", text[: rng.randrange(1, len(text))].encode()
    if family == 2:
        return "qaz-tv", json.dumps({**good, "title": "x" * 70_000}).encode()
    if family == 3:
        return "qaz-tv", json.dumps({**good, "channel": "other-tv"}).encode()
    if family == 4:
        return "unknown-ch", json.dumps({**good, "channel": "unknown-ch"}).encode()
    if family == 5:
        return "qaz-tv", ("[" * 5000 + "]" * 5000).encode()
    if family == 6:
        return "qaz-tv", json.dumps({**good, "start": "2999-01-01T00:00:00Z"}).encode()
    if family == 7:
        return "qaz-tv", json.dumps({**good, "duration": rng.choice([-5, 0, 1e9, "NaN"])}).encode()
    if family == 8:
        return "qaz-tv", b'{"schema": "efir.asrun/1", "channel": "qaz-tv", "event_id": "\xff\xfe"}'
    return "qaz-tv", json.dumps({**good, "kind": "<script>alert(1)</script>", "schema": 1}).encode()


async def test_hostile_payloads_go_to_dead_letters_and_good_ones_count(tmp_path: Path) -> None:
    require_port(MQTT_HOST, MQTT_PORT, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    prefix = unique_prefix()
    mqtt_url = f"mqtt://{MQTT_HOST}:{MQTT_PORT}"
    settings = settings_for(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'efir.db'}",
        mqtt_url=mqtt_url,
        prefix=prefix,
        data_dir=tmp_path,
    )
    rng = random.Random(9)
    day = datetime(2026, 11, 16, tzinfo=ALMATY)
    good = list(generate(FeedSpec("qaz-tv", seed=4), day, day.replace(hour=6)))
    wire: list[tuple[str, bytes]] = []
    bad = 0
    for event in good:
        wire.append(("qaz-tv", json.dumps(event).encode()))
        for _ in range(rng.randrange(5, 15)):
            wire.append(_hostile(rng, event))
            bad += 1
    assert bad >= 2000
    async with running(settings) as service:
        await publish(mqtt_url, prefix, wire, service=service)
        await until(lambda: service.ingest.processed >= len(wire), timeout=120)
        assert await service.store.count_events() == len(good)
        letters = await service.store.dead(limit=100_000)
        assert len(letters) == bad
        assert all(d["reason"] and d["code"] for d in letters)
        codes = {d["code"] for d in letters}
        assert {"oversized", "unknown_channel"} <= codes
        async with api(service) as http:
            assert (await http.get("/readyz")).status_code == 200
            metrics = (await http.get("/metrics")).text
            assert 'efir_events_rejected_total{reason="oversized"}' in metrics
