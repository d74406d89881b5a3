"""Latency from the MQTT publish of a status-changing event to the webhook request.

Starts ``efir run`` as a child process (SQLite, the machine's Mosquitto on
127.0.0.1:1883, ``for``/``group_wait``/``group_interval`` 0, so the figure is
Efir's own path: ingest, commit, evaluation, outbox commit, delivery), and a
signed-webhook receiver in this process. Each cycle publishes a Russian
programme from the start of the current six-hour window to now (the
``lang_6h`` window turns ``unavoidable``/``critical``: an alert fires), waits
for the webhook, then publishes its cancel (the alert resolves) and waits
again. Both directions are samples.

    .venv/bin/python bench/alert_latency.py --cycles 100
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import aiomqtt
import httpx

ALMATY = ZoneInfo("Asia/Almaty")


class Hook:
    """Records (monotonic arrival, body) of every POST."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[float, dict[str, object]]] = []
        self.cond = threading.Condition()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                t = time.monotonic()
                body = self.rfile.read(int(self.headers["content-length"]))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
                with hook.cond:
                    hook.arrivals.append((t, json.loads(body)))
                    hook.cond.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _about(body: dict[str, object], status: str) -> bool:
    alerts = body.get("alerts")
    return isinstance(alerts, list) and any(
        a["labels"]["rule"] == "lang_6h"
        and a["labels"]["alertname"] == "EfirQuotaRisk"
        and a["status"] == status
        and a["change"] != "unchanged"
        for a in alerts
    )


async def wait_for(hook: Hook, start: int, status: str, limit_s: float = 10) -> float:
    """Arrival time of the first webhook from index ``start`` about lang_6h turning ``status``."""
    deadline = time.monotonic() + limit_s
    while True:
        with hook.cond:
            for t, body in hook.arrivals[start:]:
                if _about(body, status):
                    return t
        if time.monotonic() > deadline:
            msg = f"no webhook after {limit_s} s"
            raise TimeoutError(msg)
        await asyncio.sleep(0.0005)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cycles", type=int, default=100)
    args = parser.parse_args()
    hook = Hook()
    tmp = Path(tempfile.mkdtemp())
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    config = tmp / "efir.yaml"
    config.write_text(
        "channels:\n  - {id: qaz-tv, media: tv}\n"
        "alerts:\n  for_s: {warning: 0, error: 0, critical: 0}\n  keep_firing_s: 0\n"
        "  group_wait_s: 0\n  group_interval_s: 0\n"
        f"  receivers:\n    - {{name: bench, type: webhook, url: '{hook.url()}'}}\n"
    )
    env = {
        **os.environ,
        "EFIR_CONFIG": str(config),
        "EFIR_DATA_DIR": str(tmp),
        "EFIR_MQTT_URL": "mqtt://127.0.0.1:1883",
        "EFIR_MQTT__TOPIC_PREFIX": prefix,
        "EFIR_MQTT__CLIENT_ID": prefix,
        "EFIR_HTTP_PORT": str(port),
        "EFIR_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen([sys.executable, "-m", "efir", "run"], env=env)  # noqa: ASYNC220 - started once, before measuring
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            for _ in range(300):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        samples: list[float] = []
        async with aiomqtt.Client("127.0.0.1", 1883, identifier=f"{prefix}-pub") as client:
            for i in range(args.cycles):
                now = datetime.now(UTC)
                local = now.astimezone(ALMATY)
                ws = local.replace(
                    hour=local.hour - local.hour % 6, minute=0, second=0, microsecond=0
                )
                if (now - ws).total_seconds() < 60:
                    await asyncio.sleep(61 - (now - ws).total_seconds())
                    continue
                item = {
                    "schema": "efir.asrun/1",
                    "channel": "qaz-tv",
                    "event_id": f"b{i}",
                    "phase": "complete",
                    "kind": "program",
                    "language": "ru",
                    "start": ws.isoformat(),
                    "duration": round((now - ws).total_seconds() - 5, 3),
                }
                cancel = {
                    "schema": "efir.asrun/1",
                    "channel": "qaz-tv",
                    "event_id": f"b{i}",
                    "phase": "cancel",
                }
                for payload, status in ((item, "firing"), (cancel, "resolved")):
                    start = len(hook.arrivals)
                    t0 = time.monotonic()
                    await client.publish(
                        f"{prefix}/qaz-tv/event", json.dumps(payload).encode(), qos=1
                    )
                    samples.append(await wait_for(hook, start, status) - t0)
                    await asyncio.sleep(0.05)  # let the status settle before the next change
    finally:
        proc.terminate()
        proc.wait(15)
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=100)
    print(
        f"samples {len(ms)}  p50 {q[49]:.1f} ms  p90 {q[89]:.1f} ms  "
        f"p99 {q[98]:.1f} ms  max {ms[-1]:.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
