"""The attack run: ten thousand hostile payloads of 25 families, over MQTT and HTTP.

Mixed with a day of valid events, on PostgreSQL and SQLite, against the real
Mosquitto. The daemon stays up throughout; every hostile payload becomes one
dead letter with a reason; every valid event is stored once; the live
counters equal ``efir audit`` of the valid events, window by window.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from efir.core.timebase import to_us
from efir.sim.feed import FeedSpec, generate
from tests.hostile import FAMILIES, hostile
from tests.integration.live import api, audit_day, publish, running, settings_for, until
from tests.services import MQTT_HOST, MQTT_PORT, require_port, unique_prefix

pytestmark = pytest.mark.integration
ALMATY = ZoneInfo("Asia/Almaty")
DAY = datetime(2026, 11, 16, tzinfo=ALMATY)
NEXT = datetime(2026, 11, 17, tzinfo=ALMATY)
NOW = to_us(datetime(2026, 11, 17, 2, 0, tzinfo=ALMATY))
AUTH = {"Authorization": "Bearer test-token"}
#: Families hostile only over MQTT: a topic naming another channel, an array
#: (a batch of events is what POST /api/v1/events takes).
MQTT_ONLY = {"long_topic_channel", "array_not_object"}
FIGURES = ("numerator_s", "base_s", "unknown_s", "gap_s", "share", "threshold", "verdict", "count")


def _audit(
    events: list[dict[str, object]], tmp_path: Path
) -> dict[tuple[str, str], dict[str, object]]:
    return audit_day(events, tmp_path, day="2026-11-16", now_us=NOW)


async def test_attack_run(db_url: str, tmp_path: Path) -> None:
    require_port(MQTT_HOST, MQTT_PORT, "Mosquitto", "mosquitto -d -c /etc/mosquitto/mosquitto.conf")
    postgres = db_url.startswith("postgresql")
    target = 10_000 if postgres else 3_000
    prefix = unique_prefix()
    mqtt_url = f"mqtt://{MQTT_HOST}:{MQTT_PORT}"
    settings = settings_for(db_url=db_url, mqtt_url=mqtt_url, prefix=prefix, data_dir=tmp_path)
    rng = random.Random(15)
    good = list(generate(FeedSpec("qaz-tv", phases="start_end", seed=4), DAY, NEXT))
    per_good = max(1, target // len(good) + 1)
    mqtt: list[tuple[str, bytes]] = []
    http_bad: list[tuple[str, bytes]] = []
    families: Counter[str] = Counter()
    for event in good:
        mqtt.append(("qaz-tv", json.dumps(event).encode()))
        for _ in range(per_good):
            name, channel, payload = hostile(rng, event)
            if rng.random() < 0.25 and name not in MQTT_ONLY:
                http_bad.append((name, payload))
            else:
                mqtt.append((channel, payload))
            families[name] += 1
    bad = sum(families.values())
    assert bad >= target
    assert len(families) == len(FAMILIES) >= 20
    expected = _audit(good, tmp_path)

    async with running(settings, lambda: NOW) as service, api(service) as http:

        async def post_all() -> list[tuple[str, int]]:
            codes = []
            async with httpx.AsyncClient(base_url=str(http.base_url), timeout=60) as client:
                for name, payload in http_bad:
                    answer = await client.post("/api/v1/events", content=payload, headers=AUTH)
                    codes.append((name, answer.status_code))
            return codes

        posting = asyncio.create_task(post_all())
        await publish(mqtt_url, prefix, mqtt, service=service)
        codes = await posting
        await until(lambda: service.ingest.processed >= len(mqtt) + len(http_bad), timeout=300)
        # Alive throughout, and ready at the end.
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        assert service.ingest.store_error is None
        assert {code for _, code in codes} <= {413, 422}, [c for c in codes if c[1] == 200][:3]
        # Each hostile payload one dead letter with a reason; each valid event stored once.
        assert await service.store.count_events() == len(good)
        letters = []
        before = None
        while True:
            page = await service.store.dead(limit=1000, before_id=before, payload_chars=0)
            letters.extend(page)
            if len(page) < 1000:
                break
            before = page[-1]["id"]
        assert len(letters) == bad
        assert all(d["reason"] and d["code"] for d in letters)
        assert {"oversized", "unknown_channel", "too_deep", "channel_mismatch"} <= {
            d["code"] for d in letters
        }
        # Live counters equal the audit of the valid events, window by window.
        live = (
            await http.get(
                "/api/v1/channels/qaz-tv/windows",
                params={"from": DAY.isoformat(), "to": NEXT.isoformat()},
            )
        ).json()["windows"]
        compared = 0
        for w in live:
            start = datetime.fromisoformat(w["window_start"])
            end = datetime.fromisoformat(w["window_end"])
            if start < DAY or end > NEXT:
                continue
            audit = expected[w["rule"], w["window_start"]]
            for key in FIGURES:
                assert w.get(key) == audit.get(key), (w["rule"], w["window_start"], key)
            compared += 1
        assert compared >= 15
        metrics = (await http.get("/metrics")).text
        assert 'efir_events_rejected_total{reason="too_deep"}' in metrics
    print(  # noqa: T201 - the figures for the note (pytest -s)
        f"attack run on {'PostgreSQL' if postgres else 'SQLite'}: {bad} hostile payloads of "
        f"{len(families)} families ({len(http_bad)} over HTTP), {len(good)} valid events; "
        f"{len(letters)} dead letters, {len(good)} events stored, {compared} windows equal the audit"
    )
