"""The built-in MQTT broker (amqtt) for a first try with nothing else installed.

Production sites use their own broker (Mosquitto, EMQX, HiveMQ) through
``EFIR_MQTT_URL``; the built-in one listens on 127.0.0.1 only and keeps
sessions in memory.
"""

from __future__ import annotations

import errno
import logging
import socket
from typing import Any

from amqtt.broker import Broker

from efir.core.errors import ServiceError

log = logging.getLogger(__name__)


class BrokerPortInUseError(ServiceError):
    """The built-in broker's port is taken; the message names both fixes."""


def port_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in {errno.EADDRINUSE, errno.EACCES}:
                return False
            raise
    return True


def port_in_use_message(port: int) -> str:
    """What to do when the embedded broker's port is taken."""
    return (
        f"port {port} on 127.0.0.1 is already in use (another MQTT broker, such as "
        f"Mosquitto, is probably running there), so the built-in broker cannot start. "
        f"Either use that broker: EFIR_MQTT_URL=mqtt://127.0.0.1:{port} efir run, "
        f"or start the built-in broker on another port: "
        f"EFIR_EMBEDDED_BROKER_PORT=1884 efir run"
    )


class EmbeddedBroker:
    """An amqtt broker on ``127.0.0.1:port`` (anonymous, in memory)."""

    def __init__(self, port: int) -> None:
        """Configure; nothing listens until :meth:`start`."""
        self.port = port
        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
            },
        }
        self.broker = Broker(config)

    async def start(self) -> None:
        """Listen, or raise :class:`BrokerPortInUseError` naming the fix."""
        if not port_free("127.0.0.1", self.port):
            raise BrokerPortInUseError(port_in_use_message(self.port))
        await self.broker.start()
        log.info("built-in MQTT broker listening on 127.0.0.1:%d", self.port)

    async def stop(self) -> None:
        """Disconnect clients and stop listening."""
        await self.broker.shutdown()
