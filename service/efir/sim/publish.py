"""``efir simulate``: publish a realistic playout feed to an MQTT broker, like an adapter.

For each channel it publishes its retained adapter status ``online`` (with a
Last Will ``offline``), catches up from ``since`` (default: Monday 00:00 local
of this week, so weekly rules show a realistic week) as fast as the broker
takes it, then goes on live: each item's ``start`` when it starts and its
``end`` when it ends, and a heartbeat every ``heartbeat_s``. ``speed`` > 1 runs
the simulated clock faster than the wall clock (it may then run up to a day
ahead: the furthest Efir accepts).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

import aiomqtt

from efir.core.timebase import US_PER_S, from_us, seconds_to_us, to_us
from efir.sim.feed import FeedSpec, generate

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from efir.config.settings import MqttTarget

log = logging.getLogger(__name__)

#: The simulated clock may run this far ahead of the wall clock (Efir's future limit is a day).
MAX_AHEAD_US = 23 * 3600 * US_PER_S
DEFAULT_CHANNELS: tuple[tuple[str, Literal["tv", "radio"]], ...] = (
    ("qaz-tv", "tv"),
    ("qaz-radio", "radio"),
)


@dataclass(frozen=True, slots=True)
class SimOptions:
    """What to publish and how fast."""

    channels: tuple[tuple[str, Literal["tv", "radio"]], ...] = DEFAULT_CHANNELS
    speed: float = 1.0
    scenario: Literal["normal", "risky"] = "normal"
    since: datetime | None = None
    duration_s: float | None = None
    topic_prefix: str = "asrun"
    heartbeat_s: float = 30.0
    seed: int | None = None
    timezone: str = "Asia/Almaty"


def timeline(spec: FeedSpec, since: datetime, until: datetime) -> list[tuple[int, bytes]]:
    """``(publish instant µs, payload)`` sorted; a start at its start, an end at its end."""
    out: list[tuple[int, bytes]] = []
    for p in generate(spec, since, until):
        start = to_us(datetime.fromisoformat(p["start"]))
        at = start if p["phase"] == "start" else start + seconds_to_us(p["duration"])
        out.append((at, json.dumps(p, ensure_ascii=False).encode()))
    out.sort(key=lambda pair: pair[0])
    return out


def monday_midnight(now: datetime, tz: ZoneInfo) -> datetime:
    """00:00 local of this week's Monday."""
    local = now.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=midnight.weekday())


async def simulate(
    target: MqttTarget,
    options: SimOptions,
    *,
    wall_us: Callable[[], int] | None = None,
    on_caught_up: Callable[[int], None] | None = None,
) -> int:
    """Publish until ``duration_s`` has passed (forever if ``None``); return events published."""
    clock = wall_us or (lambda: to_us(datetime.now(UTC)))
    t0_wall = clock()
    tz = ZoneInfo(options.timezone)
    now_dt = from_us(t0_wall, ZoneInfo("UTC"))
    since = options.since or monday_midnight(now_dt, tz)
    horizon = now_dt + timedelta(days=1, hours=1)
    if options.duration_s is not None:
        horizon = min(
            horizon, now_dt + timedelta(seconds=options.duration_s * options.speed + 3600)
        )
    seed = options.seed if options.seed is not None else since.toordinal()
    merged: list[tuple[int, str, bytes]] = []
    for i, (channel, media) in enumerate(options.channels):
        spec = FeedSpec(
            channel, media=media, phases="start_end", scenario=options.scenario, seed=seed + i
        )
        merged.extend((at, channel, payload) for at, payload in timeline(spec, since, horizon))
    merged.sort(key=lambda t: t[0])
    prefix = options.topic_prefix.rstrip("/")
    sent = 0
    first = options.channels[0][0]
    async with aiomqtt.Client(
        target.host,
        target.port,
        username=target.username,
        password=target.password.get_secret_value() if target.password else None,
        identifier=f"efir-sim-{first}",
        will=aiomqtt.Will(f"{prefix}/{first}/status", b"offline", qos=1, retain=True),
        timeout=10,
    ) as client:
        client.pending_calls_threshold = 1_000  # the catch-up has many publishes in flight
        for channel, _ in options.channels:
            await client.publish(f"{prefix}/{channel}/status", b"online", qos=1, retain=True)
        i = 0
        # Catch up to now in chunks of concurrent QoS 1 publishes.
        while i < len(merged) and merged[i][0] <= t0_wall:
            chunk: list[Awaitable[None]] = []
            while i < len(merged) and merged[i][0] <= t0_wall and len(chunk) < 200:
                _at, channel, payload = merged[i]
                chunk.append(client.publish(f"{prefix}/{channel}/event", payload, qos=1))
                i += 1
            await asyncio.gather(*chunk)
            sent += len(chunk)
        log.info("simulator caught up: %d events since %s", sent, since.isoformat())
        if on_caught_up is not None:
            on_caught_up(sent)
        started = time.monotonic()
        last_beat = 0.0
        while options.duration_s is None or time.monotonic() - started < options.duration_s:
            elapsed = time.monotonic() - started
            sim_now = t0_wall + round(elapsed * options.speed * US_PER_S)
            sim_now = min(sim_now, clock() + MAX_AHEAD_US)
            while i < len(merged) and merged[i][0] <= sim_now:
                _, channel, payload = merged[i]
                await client.publish(f"{prefix}/{channel}/event", payload, qos=1)
                sent += 1
                i += 1
            if elapsed - last_beat >= options.heartbeat_s or last_beat == 0.0:
                last_beat = max(elapsed, 1e-9)
                for channel, _ in options.channels:
                    await client.publish(f"{prefix}/{channel}/heartbeat", b"{}", qos=0)
            if i >= len(merged):
                break
            await asyncio.sleep(0.2)
    return sent
