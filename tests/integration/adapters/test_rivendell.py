"""``efir adapter rivendell`` end to end: a PAD feed replayed, the adapter killed -9 three times.

The test server replays a session of PAD updates in Rivendell's shape (the
update of ``tests/data/pypad``, with its missing comma and its undocumented
fields, one per song): each connection first gets the update on air, then
one every 0.3 s; the replay waits while nobody listens, as a recording does.
The daemon ends with every song's start and, for all but the last, its end
where the next one starts: none lost, none twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from efir.daemon.service import Service
from tests.integration.live import Child, kill_while_publishing, running, settings_for
from tests.services import Mosquitto, free_port, unique_prefix

pytestmark = pytest.mark.integration
TEMPLATE = (Path(__file__).parents[2] / "data" / "pypad" / "update.json").read_text()
SONG_S = 180


def _update(i: int, base: int) -> bytes:
    start = datetime.fromtimestamp(base + i * SONG_S, UTC).isoformat()
    text = (
        TEMPLATE.replace("2026-12-03T18:00:00+05:00", start)
        .replace('"lineId": 233', f'"lineId": {1000 + i}')
        .replace('"title": "Qairan Elim"', f'"title": "Song {i}"')
        .replace('"length": 215400', f'"length": {(SONG_S + 20) * 1000}')
    )
    # rdpadd ends each update with an empty line.
    return text.strip().replace("\n", "\r\n").encode() + b"\r\n\r\n"


class Feed:
    """A replayed PAD feed on a TCP port."""

    def __init__(self, songs: int, base: int) -> None:
        self.songs, self.base, self.position = songs, base, 0
        self.server: asyncio.Server | None = None
        self.serving: object | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.serving = me = object()  # only the newest listener moves the replay on
        try:
            writer.write(_update(self.position, self.base))
            await writer.drain()
            while True:
                try:  # the pause between updates, watching for the listener leaving
                    if await asyncio.wait_for(reader.read(1), 0.3) == b"":
                        return  # gone (killed): the replay waits for the next one
                except TimeoutError:
                    pass
                if self.serving is not me or self.position >= self.songs - 1:
                    continue
                self.position += 1
                writer.write(_update(self.position, self.base))
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)


async def _stored(service: Service) -> list[dict[str, Any]]:
    return [json.loads(p) for p, _ in await service.store.load_events("qaz-fm", 0)]


async def test_rivendell_survives_three_kill_9_with_no_event_lost_or_twice(
    db_url: str, tmp_path: Path
) -> None:
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    prefix = unique_prefix()
    songs = 24
    feed = Feed(songs, base=int(time.time()) - 2 * 86_400)
    port = await feed.start()
    settings = settings_for(
        db_url=db_url, mqtt_url=broker.url, prefix=prefix, data_dir=tmp_path / "data",
        channels=("qaz-fm",),
    )  # fmt: skip
    env = {
        **os.environ, "EFIR_MQTT_URL": broker.url, "EFIR_MQTT__TOPIC_PREFIX": prefix,
        "EFIR_DATA_DIR": str(tmp_path / "adapter"), "EFIR_LOG_LEVEL": "INFO",
    }  # fmt: skip
    args = [
        "adapter",
        "rivendell",
        "--channel",
        "qaz-fm",
        "--port",
        str(port),
        "--heartbeat-s",
        "1",
    ]
    log = tmp_path / "adapter.log"
    adapter = Child(args, env, log)

    async def count() -> int:
        return len(await _stored(service))

    try:
        async with running(settings) as service:
            adapter.start()
            await kill_while_publishing(adapter, count)
            expected = 2 * songs - 1
            async with asyncio.timeout(60):
                while len(await _stored(service)) < expected:
                    await asyncio.sleep(0.2)
            await asyncio.sleep(1.5)  # anything still arriving would be a duplicate
            stored = await _stored(service)
            assert adapter.terminate() == 0
    finally:
        adapter.stop()
        await feed.stop()
        broker.stop()
    versions = Counter((e["event_id"], e["phase"]) for e in stored)
    assert max(versions.values()) == 1, versions.most_common(3)  # none twice
    ids = [f"rd1-{1000 + i}-" for i in range(songs)]
    starts = sorted(e["event_id"] for e in stored if e["phase"] == "start")
    ends = {e["event_id"]: e for e in stored if e["phase"] == "end"}
    assert [s[: len(ids[0])] for s in starts] == sorted(ids)  # every song started
    assert len(ends) == songs - 1  # every song but the last ended...
    assert {e["duration"] for e in ends.values()} == {SONG_S}  # ...where the next began
    text = log.read_text()
    assert "recordingMbId, releaseMbId" in text  # the skipped fields are named
