"""The MQTT side: subscribe to adapters' topics, hand events to ingest, acknowledge late.

aiomqtt acknowledges QoS 1 messages on receipt unless told otherwise (its
issue #345); we switch its paho client to manual acknowledgements before
connecting and send each PUBACK only after the event is committed, so the
broker redelivers anything Efir had not stored when it died. The session is
persistent (fixed client id, no clean start, MQTT 5 session expiry), so
events published while Efir restarts wait in the broker.

Topics (DESIGN section 6, prefix default ``asrun``): ``{prefix}/{channel}/event``,
``{prefix}/{channel}/status`` (retained ``online``/``offline``, the adapter's
Last Will), ``{prefix}/{channel}/heartbeat``, ``{prefix}/{channel}/plan`` (a
planned schedule: a JSON array of events, acknowledged once stored). Efir publishes its own retained
``efir/status`` with a Last Will ``offline``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiomqtt
from paho.mqtt import client as mqtt_client
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from efir.daemon.ingest import Inbound
from efir.daemon.planning import PlanError
from efir.store.database import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from efir.config.settings import MqttConfig, MqttTarget
    from efir.config.shards import ShardMap
    from efir.daemon.ingest import Ingest
    from efir.daemon.monitor import Monitor
    from efir.daemon.planning import PlanIntake
    from efir.metrics import Metrics

log = logging.getLogger(__name__)

EFIR_STATUS_TOPIC = "efir/status"
#: The topics read under each channel.
_LEAVES = ("event", "status", "heartbeat", "plan")
#: CONNACK codes that retrying will not fix (3.1.1: 4 bad credentials, 5 not
#: authorised; MQTT 5: 0x86 bad user name or password, 0x87 not authorised,
#: 0x8A banned, 0x8C bad authentication method).
REFUSED = {4, 5, 0x86, 0x87, 0x8A, 0x8C}
#: How many unacknowledged events the broker may have in flight to us (MQTT 5
#: Receive Maximum): the writer commits them in one batch.
RECEIVE_MAXIMUM = 1000


@dataclass
class Connection:
    """What ``/readyz`` and the metrics show about the broker link."""

    connected: bool = False
    protocol: str | None = None
    error: str | None = None
    refused: bool = False
    generation: int = 0


class MqttConsumer:
    """Reads events, heartbeats and adapter status; reconnects with jittered backoff."""

    def __init__(
        self,
        target: MqttTarget,
        options: MqttConfig,
        ingest: Ingest,
        monitor: Monitor,
        metrics: Metrics,
        *,
        now_us: Callable[[], int],
        embedded: bool = False,
        planning: PlanIntake | None = None,
        shards: ShardMap | None = None,
    ) -> None:
        """Configure; :meth:`run` connects (``embedded``: the built-in broker speaks 3.1.1).

        ``shards``: with shards, an instance of the first shard subscribes to
        every channel's topics (it dead-letters channels nobody configured);
        the others to their own channels' topics only (docs/scaling.md).
        """
        self.planning = planning
        self.shards = shards
        self.target = target
        self.options = options
        self.ingest = ingest
        self.monitor = monitor
        self.metrics = metrics
        self.now_us = now_us
        self.state = Connection()
        self.prefix = options.topic_prefix.rstrip("/")
        self._protocol = (
            aiomqtt.ProtocolVersion.V311
            if options.protocol == "3.1.1" or (options.protocol == "auto" and embedded)
            else aiomqtt.ProtocolVersion.V5
        )
        self._client: aiomqtt.Client | None = None
        #: Generation of the live connection (0: none).
        self._link = 0
        self.stopping = asyncio.Event()
        #: Set while connected (tests and the simulator wait on it).
        self.connected = asyncio.Event()

    # ----------------------------------------------------------------- loop
    async def run(self) -> None:
        """Connect, consume, reconnect; returns after :meth:`stop`."""
        delay = self.options.reconnect_min_s
        while not self.stopping.is_set():
            try:
                await self._session()
                delay = self.options.reconnect_min_s
            except aiomqtt.MqttCodeError as exc:
                self._lost(exc)
                if _code(exc) in REFUSED:
                    self.state.refused = True
                    log.error(
                        "MQTT broker %s refused Efir (%s); check the user name and password "
                        "in EFIR_MQTT_URL; retrying in %.0f s",
                        self.target,
                        exc,
                        self.options.refused_retry_s,
                    )
                    await self._sleep(self.options.refused_retry_s)
                    continue
                delay = await self._backoff(delay, exc)
            except aiomqtt.MqttError as exc:
                self._lost(exc)
                delay = await self._backoff(delay, exc)
            except (OSError, ValueError, RuntimeError) as exc:
                # Whatever else goes wrong (TLS files, a library bug): never stop consuming.
                log.exception("MQTT consumer failed")
                self._lost(exc)
                delay = await self._backoff(delay, exc)

    async def stop(self) -> None:
        """Stop reading; the connection stays open until :meth:`close` so acks still go out."""
        self.stopping.set()

    async def publish(self, topic: str, payload: bytes) -> None:
        """Publish with QoS 1 on Efir's connection (alert notifications).

        Raises:
            ConnectionError: not connected, or the broker did not take it.
        """
        client = self._client
        if client is None or not self.state.connected:
            msg = f"not connected to the MQTT broker {self.target}"
            raise ConnectionError(msg)
        try:
            await client.publish(topic, payload, qos=1, timeout=5)
        except aiomqtt.MqttError as exc:
            raise ConnectionError(str(exc)) from exc

    async def close(self) -> None:
        """Say ``offline`` on ``efir/status`` and disconnect."""
        client = self._client
        if client is not None and self.state.connected:
            try:
                await client.publish(EFIR_STATUS_TOPIC, b"offline", qos=1, retain=True, timeout=2)
            except aiomqtt.MqttError as exc:
                log.debug("could not publish offline status: %s", exc)

    async def _session(self) -> None:
        client = self._make_client()
        self._client = client
        # Before connecting: the broker may redeliver as soon as the session resumes.
        client._client.manual_ack_set(True)  # noqa: SLF001, FBT003 - no public switch in aiomqtt yet (#345)
        resumed = self._watch_session(client)
        async with client:
            st = self.state
            st.generation += 1
            if st.generation > 1 and resumed and not resumed[0]:
                self._session_lost()
            self._link = st.generation  # acknowledgements may flow on this connection
            protocol = "5" if self._protocol is aiomqtt.ProtocolVersion.V5 else "3.1.1"
            await client.publish(EFIR_STATUS_TOPIC, b"online", qos=1, retain=True)
            await client.subscribe([(topic, 1) for topic in self.topic_filters()])
            # Connected means subscribed: what is published from now on reaches us.
            st.connected, st.error, st.refused, st.protocol = True, None, False, protocol
            self.metrics.mqtt_connected.set(1)
            self.metrics.mqtt_connects.inc()
            self.connected.set()
            log.info("connected to MQTT broker %s (MQTT %s)", self.target, protocol)
            reader = asyncio.create_task(self._read(client, st.generation))
            stop = asyncio.create_task(self.stopping.wait())
            await asyncio.wait({reader, stop}, return_when=asyncio.FIRST_COMPLETED)
            # A message read but not yet queued is never acknowledged: it comes again.
            for task in (reader, stop):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader  # re-raises a lost connection (MqttError) for run()
            # Wait until the writer has committed and acknowledged what we handed it.
            await self.ingest.idle()
            await self.close()
        self._down()

    def _down(self) -> None:
        """The connection is gone: no acknowledgements, not ready."""
        self._link = 0
        self.state.connected = False
        self.connected.clear()
        self.metrics.mqtt_connected.set(0)

    @staticmethod
    def _watch_session(client: aiomqtt.Client) -> list[bool]:
        """Note the CONNACK's session-present flag (aiomqtt drops it) in the list returned."""
        seen: list[bool] = []
        paho = client._client  # noqa: SLF001 - aiomqtt has no public hook for CONNACK flags
        forward = paho.on_connect

        def on_connect(*args: Any) -> None:
            seen[:] = [bool(args[2].session_present)]  # (client, userdata, flags, ...)
            if forward is not None:
                forward(*args)

        paho.on_connect = on_connect
        return seen

    def _session_lost(self) -> None:
        """The broker answered a reconnection without Efir's session (clean, not resumed).

        Its subscriptions and the messages queued for it are gone: what adapters
        published while Efir was away did not reach it and will not. A broker
        that cannot write its persistence file does this at every restart
        (docs/daemon.md).
        """
        self.metrics.mqtt_sessions_lost.inc()
        log.error(
            "the MQTT broker %s did not keep Efir's session: events published while Efir "
            "was disconnected, and any still queued for it, may be missing; have the "
            "adapters re-send what they aired since the disconnection",
            self.target,
        )

    def _make_client(self) -> aiomqtt.Client:
        o, t = self.options, self.target
        v5 = self._protocol is aiomqtt.ProtocolVersion.V5
        props = None
        if v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call] # paho is untyped here
            props.SessionExpiryInterval = o.session_expiry_s
            props.ReceiveMaximum = RECEIVE_MAXIMUM
        tls_context = None
        if t.tls:
            tls_context = ssl.create_default_context(cafile=str(o.tls_ca) if o.tls_ca else None)
            if o.tls_cert is not None:
                tls_context.load_cert_chain(o.tls_cert, o.tls_key)
            if o.tls_insecure:
                tls_context.check_hostname = False
                tls_context.verify_mode = ssl.CERT_NONE
        return aiomqtt.Client(
            t.host,
            t.port,
            username=t.username,
            password=t.password.get_secret_value() if t.password else None,
            identifier=o.client_id,
            protocol=self._protocol,
            clean_session=None if v5 else False,
            # MQTT 5: resume the session on every connect (paho refuses the flag on 3.1.1).
            clean_start=False if v5 else mqtt_client.MQTT_CLEAN_START_FIRST_ONLY,
            keepalive=o.keepalive_s,
            properties=props,
            tls_context=tls_context,
            tls_insecure=o.tls_insecure if t.tls else None,
            will=aiomqtt.Will(EFIR_STATUS_TOPIC, b"offline", qos=1, retain=True),
            timeout=10,
        )

    # ------------------------------------------------------------- messages
    async def _read(self, client: aiomqtt.Client, generation: int) -> None:
        async for message in client.messages:
            await self._handle(client, message, generation)

    async def _handle(
        self, client: aiomqtt.Client, message: aiomqtt.Message, generation: int
    ) -> None:
        topic = message.topic.value
        now = self.now_us()
        channel, leaf = self._split(topic)
        # paho hands PUBLISH payloads over as bytes.
        payload = bytes(message.payload)
        ack = self._acker(client, message, generation)
        if leaf == "event":
            await self.ingest.submit(Inbound(payload, "mqtt", now, topic, channel, ack))
            return
        if channel and leaf == "plan" and self.planning is not None:
            if self.monitor.get(channel) is None:
                if self.shards is None or self.shards.elsewhere(channel) is None:
                    log.warning("a plan for %s, which is not monitored, was ignored", channel)
            else:
                try:
                    got = await self.planning.receive_events(channel, payload, now)
                except PlanError as exc:
                    log.warning("a plan for %s was refused: %s", channel, exc)
                except StoreError as exc:
                    log.warning("a plan for %s could not be stored: %s", channel, exc)
                    return  # not acknowledged: the broker delivers it again
                else:
                    if got.refused:
                        log.warning("plan of %s: %d items refused", channel, len(got.refused))
        elif channel and leaf == "heartbeat":
            self.monitor.heard_heartbeat(channel, now)
        elif channel and leaf == "status":
            text = payload.decode("utf-8", "replace").strip().strip('"').lower()
            if self.monitor.heard_status(channel, text):
                log.info("channel %s adapter is %s", channel, text)
        ack()

    def topic_filters(self) -> list[str]:
        """The topic filters subscribed to: every channel's, or this shard's channels'.

        A persistent session keeps filters subscribed before a change of
        shards; what they still bring is acknowledged and left alone.
        """
        shards = self.shards
        if shards is None or shards.primary:
            return [f"{self.prefix}/+/{leaf}" for leaf in _LEAVES]
        return [f"{self.prefix}/{cid}/{leaf}" for cid in shards.channels() for leaf in _LEAVES]

    def _split(self, topic: str) -> tuple[str | None, str | None]:
        rest = topic.removeprefix(self.prefix + "/")
        parts = rest.split("/")
        if rest == topic or len(parts) != 2:
            return None, None
        return parts[0], parts[1]

    def _acker(
        self, client: aiomqtt.Client, message: aiomqtt.Message, generation: int
    ) -> Callable[[], None]:
        mid, qos = message.mid, message.qos

        def ack() -> None:
            # A message from an earlier connection is redelivered on this one
            # (its id may now name another message): never acknowledge it here.
            if qos > 0 and self._link == generation:
                client._client.ack(mid, qos)  # noqa: SLF001 - manual acknowledgement (aiomqtt #345)

        return ack

    # ------------------------------------------------------------ failures
    def _lost(self, exc: Exception) -> None:
        was = self.state.connected
        self._down()
        self.state.error = str(exc)
        if self.options.protocol == "auto" and not was and self.state.protocol is None:
            # Never connected: the broker may only speak 3.1.1 (the built-in one does).
            self._protocol = (
                aiomqtt.ProtocolVersion.V311
                if self._protocol is aiomqtt.ProtocolVersion.V5
                else aiomqtt.ProtocolVersion.V5
            )

    async def _backoff(self, delay: float, exc: Exception) -> float:
        log.warning("MQTT broker %s: %s; reconnecting in %.1f s", self.target, exc, delay)
        await self._sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter, not security
        return min(delay * 2, self.options.reconnect_max_s)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)


def _code(exc: aiomqtt.MqttCodeError) -> int:
    rc = exc.rc
    value = getattr(rc, "value", rc)
    return int(value) if isinstance(value, int) else -1
