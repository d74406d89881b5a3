"""An adapter's connection to the broker: status with a Last Will, heartbeats, QoS 1 events.

The status is ``online`` (retained) once connected; the broker publishes the
Last Will ``offline`` (retained) when the adapter dies without saying goodbye,
and a clean stop says ``offline`` itself. The heartbeat (every
``heartbeat_s`` seconds, QoS 0) is a small JSON object naming the adapter
and what it has sent, so a quiet station (a long programme) is not taken
for a dead feed. :meth:`Link.publish` returns once the broker has
acknowledged the event (PUBACK): only then does the adapter record it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import time
from typing import TYPE_CHECKING, Any, Self

import aiomqtt

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from types import TracebackType

    from efir.config.settings import MqttTarget

log = logging.getLogger(__name__)

#: Events published concurrently before waiting for their acknowledgements.
IN_FLIGHT = 100
#: The pause before connecting again to a broker that went away: doubling, at most.
BACKOFF_S = (0.5, 30.0)


class Link:
    """One adapter's MQTT session for one channel."""

    def __init__(
        self,
        target: MqttTarget,
        *,
        prefix: str,
        channel: str,
        adapter: str,
        heartbeat_s: float = 30.0,
        client_id: str | None = None,
    ) -> None:
        """Connect on ``async with``; publish under ``{prefix}/{channel}/``."""
        self.target = target
        self.base = f"{prefix.rstrip('/')}/{channel}"
        self.adapter = adapter
        self.heartbeat_s = heartbeat_s
        self.sent = 0
        self.since = time.time()
        tls = ssl.create_default_context() if target.tls else None
        self._client = aiomqtt.Client(
            target.host,
            target.port,
            username=target.username,
            password=target.password.get_secret_value() if target.password else None,
            identifier=client_id or f"efir-{adapter}-{channel}",
            will=aiomqtt.Will(f"{self.base}/status", b"offline", qos=1, retain=True),
            tls_context=tls,
            timeout=10,
        )
        self._client.pending_calls_threshold = 10 * IN_FLIGHT
        self._beat: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        """Connect, say ``online``, start the heartbeat."""
        await self._client.__aenter__()
        await self._client.publish(f"{self.base}/status", b"online", qos=1, retain=True)
        self._beat = asyncio.create_task(self._heartbeat(), name=f"heartbeat {self.base}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the heartbeat; on a clean stop say ``offline``; disconnect."""
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiomqtt.MqttError):
                await self._beat
        if exc_type is None or issubclass(exc_type, asyncio.CancelledError):
            with contextlib.suppress(aiomqtt.MqttError):
                await self._client.publish(f"{self.base}/status", b"offline", qos=1, retain=True)
        with contextlib.suppress(aiomqtt.MqttError):
            await self._client.__aexit__(exc_type, exc, tb)

    def heartbeat(self) -> dict[str, Any]:
        """The heartbeat payload: which adapter, since when, events sent."""
        return {
            "adapter": self.adapter,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since)),
            "events_sent": self.sent,
        }

    async def _heartbeat(self) -> None:
        while True:
            body = json.dumps(self.heartbeat()).encode()
            await self._client.publish(f"{self.base}/heartbeat", body, qos=0)
            await asyncio.sleep(self.heartbeat_s)

    async def publish(self, payloads: list[bytes]) -> None:
        """Publish events (QoS 1); return when the broker has acknowledged every one."""
        for i in range(0, len(payloads), IN_FLIGHT):
            chunk = payloads[i : i + IN_FLIGHT]
            await asyncio.gather(
                *(self._client.publish(f"{self.base}/event", p, qos=1) for p in chunk)
            )
            self.sent += len(chunk)


async def connected(
    target: MqttTarget,
    *,
    prefix: str,
    channel: str,
    adapter: str,
    heartbeat_s: float,
    work: Callable[[Link], Awaitable[None]],
    stop: asyncio.Event | None = None,
) -> None:
    """Run ``work`` on a :class:`Link`, connecting again (with a growing pause) when it drops.

    Returns when ``work`` does, or when ``stop`` is set while waiting to connect
    again. What ``work`` has not recorded as acknowledged is done again on the
    new connection: the adapters' ledgers make that safe.
    """
    backoff = BACKOFF_S[0]
    while True:
        try:
            async with Link(
                target, prefix=prefix, channel=channel, adapter=adapter, heartbeat_s=heartbeat_s
            ) as link:
                backoff = BACKOFF_S[0]
                await work(link)
                return
        except aiomqtt.MqttError as exc:
            log.warning("broker %s: %s; connecting again in %.1f s", target, exc, backoff)
            with contextlib.suppress(TimeoutError):
                if stop is not None:
                    await asyncio.wait_for(stop.wait(), backoff)
                    return
                await asyncio.sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_S[1])
