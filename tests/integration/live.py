"""Running an in-process Efir against real services, and publishing to it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import asyncpg
import httpx

from efir.audit.report import to_json
from efir.audit.run import run_audit
from efir.compose import build
from efir.config.settings import ChannelConfig, MqttConfig, Settings, parse_mqtt_url
from efir.core.channel import ChannelProfile
from efir.core.timebase import to_us
from efir.daemon.service import Service
from efir.rulepacks import load_pack
from efir.sim.feed import FeedSpec, generate

ALMATY = ZoneInfo("Asia/Almaty")


def audit_day(
    events: list[dict[str, Any]], tmp_path: Path, *, day: str, now_us: int
) -> dict[tuple[str, str], dict[str, Any]]:
    """``efir audit`` of ``events`` for qaz-tv over the local day ``day`` (YYYY-MM-DD), by window."""
    path = tmp_path / f"audit-{day}.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    following = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    result = run_audit(
        [path],
        channel=ChannelProfile("qaz-tv"),
        channel_given=True,
        pack=load_pack("kz"),
        start=f"{day}T00:00",
        end=f"{following}T00:00",
        input_format=None,
        now_us=now_us,
    )
    return {(w["rule"], w["window_start"]): w for w in to_json(result)["windows"]}


def past_days(
    channels: Sequence[tuple[str, str]], days: int, *, seed: int
) -> tuple[datetime, datetime, list[tuple[str, bytes]]]:
    """Whole past local days (Almaty) of start/end events for ``(channel, media)``, in air order.

    ``days`` days ending at yesterday's midnight; returns ``[start, end)`` and
    ``(channel, payload)`` pairs.
    """
    today = datetime.now(UTC).astimezone(ALMATY).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = today - timedelta(days=days + 1), today - timedelta(days=1)
    merged: list[tuple[str, str, bytes]] = []
    for i, (cid, media) in enumerate(channels):
        spec = FeedSpec(cid, media=media, phases="start_end", seed=seed + i)  # type: ignore[arg-type]
        merged.extend(
            (str(e["start"]), cid, json.dumps(e).encode()) for e in generate(spec, start, end)
        )
    merged.sort(key=lambda t: t[0])
    return start, end, [(cid, p) for _, cid, p in merged]


async def stored_events(db_url: str) -> list[tuple[str, str, str]]:
    """``(channel, event id, digest)`` of every stored event version (PostgreSQL)."""
    conn = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT channel_id, event_id, digest FROM events")
    finally:
        await conn.close()
    return [(r[0], r[1], r[2]) for r in rows]


async def assert_windows_match_audit(
    base: str,
    channel: str,
    media: str,
    payloads: list[bytes],
    period: tuple[datetime, datetime],
    tmp: Path,
) -> None:
    """The daemon at ``base`` gives every closed window of ``channel`` an audit of ``payloads`` gives.

    Compared over ``period`` (``[from, to)``): seconds, base, share, verdict and
    count of each window the audit judges whole.
    """
    start, end = period
    path = tmp / f"{channel}.jsonl"
    path.write_bytes(b"".join(p + b"\n" for p in payloads))
    audit = run_audit(
        [path],
        channel=ChannelProfile(channel, media=media),  # type: ignore[arg-type]
        channel_given=True,
        pack=load_pack("kz"),
        start=start.isoformat(),
        end=end.isoformat(),
        input_format=None,
        now_us=to_us(datetime.now(UTC)),
    )
    expected = {
        (w["rule"], w["window_start"]): w
        for w in to_json(audit)["windows"]
        if w["verdict"] != "partial"
    }
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        answer = await http.get(
            f"/api/v1/channels/{channel}/windows",
            params={"from": start.isoformat(), "to": end.isoformat()},
        )
    got = {(w["rule"], w["window_start"]): w for w in answer.json()["windows"]}
    assert expected, channel
    for key, w in expected.items():
        for field in ("numerator_s", "base_s", "share", "verdict", "count"):
            assert got[key].get(field) == w.get(field), (channel, key, field)


def settings_for(
    *,
    db_url: str,
    mqtt_url: str,
    prefix: str,
    data_dir: Path,
    channels: tuple[str, ...] = ("qaz-tv",),
    **extra: Any,
) -> Settings:
    return Settings(
        database_url=db_url,
        mqtt_url=mqtt_url,
        mqtt=MqttConfig(
            topic_prefix=prefix, client_id=f"efir-{prefix}", reconnect_min_s=0.1, reconnect_max_s=1
        ),
        http_port=0,
        data_dir=data_dir,
        channels=[ChannelConfig(id=c, media="radio" if "radio" in c else "tv") for c in channels],
        tick_s=0.2,
        api_token="test-token",  # noqa: S106 - a test token
        **extra,
    )


@contextlib.asynccontextmanager
async def running(
    settings: Settings, now_us: Callable[[], int] | None = None
) -> AsyncIterator[Service]:
    service = build(settings, now_us=now_us) if now_us else build(settings)
    task = asyncio.create_task(service.run(install_signals=False))
    try:
        async with asyncio.timeout(30):
            started = asyncio.create_task(service.started.wait())
            await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
            await service.consumer.connected.wait()
        yield service
    finally:
        service.stop()
        async with asyncio.timeout(15):
            await task


def api(service: Service) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.http_port}", timeout=30)


async def publish(
    mqtt_url: str,
    prefix: str,
    items: list[tuple[str, bytes]],
    *,
    service: Service | None = None,
    lag: int = 300,
) -> None:
    """Publish ``(channel, payload)`` at QoS 1; with ``service``, keep at most ``lag`` unprocessed."""
    target = parse_mqtt_url(mqtt_url)
    async with aiomqtt.Client(target.host, target.port, identifier=f"pub-{prefix}") as client:
        client.pending_calls_threshold = 10_000
        base = service.ingest.processed if service else 0
        for i in range(0, len(items), 100):
            chunk = items[i : i + 100]
            await asyncio.gather(
                *(client.publish(f"{prefix}/{ch}/event", p, qos=1) for ch, p in chunk)
            )
            while service is not None and base + i + len(chunk) - service.ingest.processed > lag:
                await asyncio.sleep(0.01)


async def until(predicate: Callable[[], bool], timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def payloads(events: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    return [(e["channel"], json.dumps(e).encode()) for e in events]


class Child:
    """A command (``python -m efir ...``) as a child process, its output appended to ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "efir", *self.args], env=self.env, stdout=out, stderr=out
            )

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)

    def stop(self) -> None:
        """Kill it if it still runs, and reap it."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


class Daemon(Child):
    """``efir run`` as a child process."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__(["run"], env, log)


async def kill_while_publishing(
    child: Child, stored: Callable[[], Awaitable[int]], *, times: int = 3, pause: float = 0.2
) -> None:
    """Kill ``child`` with SIGKILL ``times`` times, each after it has stored something more.

    ``stored``: how many versions the daemon holds; each kill waits until it grew
    since the last (re)start, then ``pause`` seconds, and starts the child again.
    """
    for _ in range(times):
        before = await stored()
        async with asyncio.timeout(30):
            while await stored() <= before:
                await asyncio.sleep(0.05)
        await asyncio.sleep(pause)
        child.kill9()
        child.start()


async def wait_ready(base: str, timeout: float = 30) -> None:
    """Until ``base``/readyz answers 200."""
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
