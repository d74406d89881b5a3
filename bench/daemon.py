"""Daemon benchmarks: end-to-end ingest vs broker loopback, status latency, restart.

Needs a Mosquitto binary and the local PostgreSQL. Starts a private Mosquitto
(unlimited queues) on a free port. Usage:

    .venv/bin/python bench/daemon.py [--events 20000] [--channels 300] [--restart-channels 5]

1. Broker loopback: the load generator (aiomqtt, QoS 1, 200 publishes in flight)
   publishes N events to a topic an auto-acknowledging aiomqtt subscriber reads;
   throughput = N / time until the subscriber has them all.
2. Efir end to end: the same generator publishes the same N events to Efir
   (MQTT -> committed in PostgreSQL -> counters updated); throughput = N / time
   until Efir has committed them all.
3. Status latency: GET /api/v1/channels/{id}/status over ``--channels`` channels
   (round robin, one client, 2000 requests): p50/p99.
4. Restart: time for ``Service.open`` (rebuilding the live state) with
   ``--restart-channels`` channels holding their nine-day live horizon.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
from tests.services import Mosquitto, create_database, drop_database, free_port

from efir.compose import build
from efir.config.settings import ChannelConfig, MqttConfig, Settings
from efir.sim.feed import FeedSpec, generate


def events(n: int, channels: list[str]) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    start = datetime.now(UTC) - timedelta(days=8)
    per = n // len(channels) + 1
    for i, cid in enumerate(channels):
        gen = generate(FeedSpec(cid, phases="start_end", seed=i), start, start + timedelta(days=8))
        for k, e in enumerate(gen):
            if k >= per:
                break
            out.append((cid, json.dumps(e).encode()))
    return out[:n]


async def publish_all(port: int, topic: str | None, items: list[tuple[str, bytes]]) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"gen-{os.getpid()}") as c:
        c.pending_calls_threshold = 1_000_000
        for i in range(0, len(items), 200):
            await asyncio.gather(
                *(c.publish(topic or f"asrun/{ch}/event", p, qos=1) for ch, p in items[i : i + 200])
            )


async def loopback(port: int, items: list[tuple[str, bytes]]) -> float:
    got = 0
    done = asyncio.Event()
    async with aiomqtt.Client("127.0.0.1", port, identifier="loop-sub") as sub:
        await sub.subscribe("loop/x", qos=1)

        async def read() -> None:
            nonlocal got
            async for _ in sub.messages:
                got += 1
                if got >= len(items):
                    done.set()
                    return

        reader = asyncio.create_task(read())
        t0 = time.perf_counter()
        await publish_all(port, "loop/x", items)
        await done.wait()
        elapsed = time.perf_counter() - t0
        reader.cancel()
    return len(items) / elapsed


def settings(db: str, port: int, channels: list[str], data: Path) -> Settings:
    return Settings(
        database_url=db,
        mqtt_url=f"mqtt://127.0.0.1:{port}",
        mqtt=MqttConfig(client_id="efir-bench"),
        http_port=0,
        data_dir=data,
        channels=[ChannelConfig(id=c) for c in channels],
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    tmp = Path(tempfile.mkdtemp())
    broker = Mosquitto(free_port(), tmp)
    broker.start()
    name, db = await create_database()
    try:
        channels = [f"ch{i:03d}" for i in range(args.channels)]
        items = events(args.events, ["qaz-tv", "qaz-radio"])
        report["broker_loopback_events_per_s"] = round(await loopback(broker.port, items))
        svc = build(settings(db, broker.port, ["qaz-tv", "qaz-radio", *channels], tmp))
        task = asyncio.create_task(svc.run(install_signals=False))
        await svc.consumer.connected.wait()
        t0 = time.perf_counter()
        await publish_all(broker.port, None, items)
        while svc.ingest.committed < len(items):  # noqa: ASYNC110 - polling a counter
            await asyncio.sleep(0.01)
        report["efir_end_to_end_events_per_s"] = round(len(items) / (time.perf_counter() - t0))
        report["ratio"] = round(
            report["efir_end_to_end_events_per_s"] / report["broker_loopback_events_per_s"], 2
        )
        lat = []
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{svc.http_port}") as http:
            ids = ["qaz-tv", "qaz-radio", *channels]
            for i in range(2000):
                t = time.perf_counter()
                r = await http.get(f"/api/v1/channels/{ids[i % len(ids)]}/status")
                lat.append((time.perf_counter() - t) * 1000)
                r.raise_for_status()
        q = statistics.quantiles(lat, n=100)
        report["status_channels"] = len(ids)
        report["status_p50_ms"] = round(q[49], 2)
        report["status_p99_ms"] = round(q[98], 2)
        svc.stop()
        await task
        restart_ids = ["qaz-tv", "qaz-radio"][: args.restart_channels]
        t = time.perf_counter()
        again = build(settings(db, broker.port, restart_ids, tmp))
        await again.open()
        report["restart_open_s"] = round(time.perf_counter() - t, 2)
        report["restart_events_loaded"] = sum(c.events for c in again.monitor.channels.values())
        await again.store.close()
    finally:
        broker.stop()
        await drop_database(name)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--channels", type=int, default=300)
    parser.add_argument("--restart-channels", type=int, default=2)
    print(json.dumps(asyncio.run(main(parser.parse_args())), indent=2))
