"""Real PostgreSQL and Mosquitto for integration tests (never skipped: they fail with the fix).

Each test gets its own PostgreSQL database and MQTT topic prefix / client id,
and removes them afterwards. Tests that restart a broker start their own
Mosquitto (the Debian binary) on a free port with a private data directory.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

PG_ADMIN_DSN = os.environ.get("EFIR_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
MQTT_HOST = os.environ.get("EFIR_TEST_MQTT_HOST", "127.0.0.1")
MQTT_PORT = int(os.environ.get("EFIR_TEST_MQTT_PORT", "1883"))
PG_START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def require_port(host: str, port: int, what: str, fix: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return
    except OSError as exc:
        msg = f"{what} is not reachable at {host}:{port} ({exc}); start it: {fix}"
        raise RuntimeError(msg) from None


async def create_database(keep: str | None = None) -> tuple[str, str]:
    """Create a fresh database; return (name, SQLAlchemy URL).

    ``keep``: use the database of that name, creating it only if missing (benchmarks).
    """
    require_port("127.0.0.1", 5432, "PostgreSQL", PG_START)
    name = keep or f"efir_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_ADMIN_DSN)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return name, f"{base}/{name}"


async def drop_database(name: str) -> None:
    for _ in range(50):
        try:
            conn = await asyncpg.connect(PG_ADMIN_DSN)
            break
        except (OSError, asyncpg.PostgresError):
            await asyncio.sleep(0.2)
    else:
        return
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@dataclass
class Mosquitto:
    """A private Mosquitto: unlimited queues (Efir acknowledges late), persistence on."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        conf = self.directory / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            # Started as root, mosquitto switches to the user "mosquitto", which
            # cannot write to this test's directory: it would log "Error saving
            # in-memory database" and come back from a restart without any
            # session. Running as the invoking user keeps persistence working.
            f"user {getpass.getuser()}\n"
            "allow_anonymous true\n"
            # Efir acknowledges only after commit: the broker must queue, not drop.
            "max_queued_messages 0\n"
            "max_inflight_messages 0\n"
            "persistence true\n"
            f"persistence_location {self.directory}/\n"
            "autosave_interval 1\n"
        )
        self.process = subprocess.Popen([binary, "-c", str(conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        msg = "private mosquitto did not start"
        raise RuntimeError(msg)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()  # SIGTERM: mosquitto saves its persistence file
            self.process.wait(10)
            self.process = None


class Inbox:
    """Messages a local SMTP server received (raw bytes, in order)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, _server: object, _session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


@contextlib.contextmanager
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on a free local port, and what it received."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415 - only for e-mail tests

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()
