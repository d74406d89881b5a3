"""Now playing, end to end: ``efir adapter poll`` killed -9 three times, and the daemon's receivers.

A test HTTP server plays an AzuraCast station (a song every 0.4 s of wall
time, each a simulated minute long, history of the last twenty); the poll
adapter is killed with SIGKILL three times and started again; the daemon
ends with every song that finished, each event once. The receivers take
AzuraCast webhooks and a generic JSON push across a daemon restart, and turn
unreadable documents into dead letters.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from efir.config.settings import ChannelConfig
from efir.daemon.service import Service
from tests.getserver import GetServer
from tests.integration.live import Child, api, kill_while_publishing, running, settings_for
from tests.services import Mosquitto, free_port, unique_prefix

pytestmark = pytest.mark.integration
SONG_S = 60  # simulated length of each song
REAL_S = 0.4  # wall seconds per song
#: Songs in the history: more than air while the adapter is down and starting again.
HISTORY = 20


class Station:
    """An AzuraCast-like now-playing API over a fixed list of songs."""

    def __init__(self, songs: int, base: int) -> None:
        self.songs, self.base = songs, base
        self.t0 = time.monotonic()
        self.http = GetServer(lambda _: (200, json.dumps(self.document()).encode()))

    @property
    def url(self) -> str:
        return f"{self.http.base}/api/nowplaying/1"

    def index(self) -> int:
        return min(self.songs - 1, int((time.monotonic() - self.t0) / REAL_S))

    def song(self, i: int) -> dict[str, Any]:
        return {
            "sh_id": 5000 + i, "played_at": self.base + i * SONG_S, "duration": SONG_S + 5,
            "song": {"id": f"m{i}", "title": f"Song {i}", "artist": "Artist", "isrc": ""},
        }  # fmt: skip

    def document(self) -> dict[str, Any]:
        i = self.index()
        return {
            "now_playing": self.song(i),
            "song_history": [self.song(j) for j in range(i - 1, max(-1, i - 1 - HISTORY), -1)],
        }

    def close(self) -> None:
        self.http.close()


async def _stored(service: Service, channel: str) -> list[dict[str, Any]]:
    return [json.loads(p) for p, _ in await service.store.load_events(channel, 0)]


async def test_poll_survives_three_kill_9_with_no_event_lost_or_twice(
    db_url: str, tmp_path: Path
) -> None:
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    prefix = unique_prefix()
    songs = 30
    station = Station(songs, base=int(time.time()) - 2 * 86_400)
    settings = settings_for(
        db_url=db_url, mqtt_url=broker.url, prefix=prefix, data_dir=tmp_path / "data",
        channels=("qaz-radio",),
    )  # fmt: skip
    env = {
        **os.environ, "EFIR_MQTT_URL": broker.url, "EFIR_MQTT__TOPIC_PREFIX": prefix,
        "EFIR_DATA_DIR": str(tmp_path / "adapter"), "EFIR_LOG_LEVEL": "INFO",
    }  # fmt: skip
    args = [
        "adapter", "poll", station.url, "--channel", "qaz-radio", "--format", "azuracast",
        "--interval-s", "0.5", "--heartbeat-s", "1",
    ]  # fmt: skip
    adapter = Child(args, env, tmp_path / "adapter.log")

    async def count() -> int:
        return len(await _stored(service, "qaz-radio"))

    try:
        async with running(settings) as service:
            adapter.start()
            # Songs air while it is down (the pause): the history gives them.
            await kill_while_publishing(adapter, count, pause=1.2)
            async with asyncio.timeout(60):  # until the last song plays and the rest are done
                while True:
                    stored = await _stored(service, "qaz-radio")
                    done = {e["event_id"] for e in stored if e["phase"] == "complete"}
                    if station.index() == songs - 1 and len(done) == songs - 1:
                        break
                    await asyncio.sleep(0.2)
            await asyncio.sleep(1.5)  # anything still arriving would be a duplicate
            stored = await _stored(service, "qaz-radio")
            assert adapter.terminate() == 0
    finally:
        adapter.stop()
        station.close()
        broker.stop()
    versions = Counter((e["event_id"], e["phase"]) for e in stored)
    assert max(versions.values()) == 1, versions.most_common(3)  # none twice
    complete = {e["event_id"]: e for e in stored if e["phase"] == "complete"}
    assert set(complete) == {str(5000 + i) for i in range(songs - 1)}  # none lost
    assert {e["duration"] for e in complete.values()} == {SONG_S}  # each ends where the next starts
    assert ("5029", "start") in versions  # the last one is on air


async def test_receivers_take_webhooks_and_pushes_across_a_restart(
    db_url: str, tmp_path: Path
) -> None:
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    prefix = unique_prefix()
    base = int(time.time()) - 86_400
    mapping = {
        "item": "current", "start_format": "unix",
        "fields": {"event_id": "id", "start": "began", "duration": "length", "title": "name"},
        "set": {"kind": "program", "language": "kk"},
    }  # fmt: skip
    settings = settings_for(
        db_url=db_url, mqtt_url=broker.url, prefix=prefix, data_dir=tmp_path / "data",
        channels=("qaz-radio", "qaz-tv"),
    )  # fmt: skip
    settings = settings.model_copy(
        update={
            "channels": [
                ChannelConfig(id="qaz-radio", media="radio"),
                ChannelConfig(id="qaz-tv", nowplaying=mapping),
            ]
        }
    )
    basic = base64.b64encode(b"azuracast:test-token").decode()
    azura = {"authorization": f"Basic {basic}"}
    station = Station(4, base)

    def push(http: httpx.AsyncClient, doc: object, **kw: Any) -> Any:
        return http.post(
            "/api/v1/channels/qaz-radio/nowplaying", content=json.dumps(doc), headers=azura, **kw
        )

    def tv(i: int) -> dict[str, Any]:
        return {
            "current": {"id": f"tv{i}", "began": base + 1800 * i, "length": 1800, "name": f"P{i}"}
        }

    try:
        async with running(settings) as service, api(service) as http:
            for i in range(2):
                station.t0 = time.monotonic() - i * REAL_S - 0.01  # song i on air
                got = await push(http, station.document())
                assert got.status_code == 200, got.text
            denied = await http.post(
                "/api/v1/channels/qaz-radio/nowplaying", json=station.document()
            )
            assert denied.status_code == 401
            for body in (
                b"not json",
                b"[" * 5000,
                b"{}",
                json.dumps({"now_playing": {"x": 1}}).encode(),
            ):
                bad = await http.post(
                    "/api/v1/channels/qaz-radio/nowplaying", content=body, headers=azura
                )
                assert bad.status_code == 422, bad.text
                assert bad.json()["results"][0]["code"] == "unreadable_nowplaying"
            huge = await http.post(
                "/api/v1/channels/qaz-radio/nowplaying", content=b" " * (2 * 1024 * 1024),
                headers=azura,
            )  # fmt: skip
            assert huge.status_code == 413
            bearer = {"authorization": "Bearer test-token"}
            for i in range(2):
                got = await http.post(
                    "/api/v1/channels/qaz-tv/nowplaying", params={"format": "json"},
                    json=tv(i), headers=bearer,
                )  # fmt: skip
                assert got.status_code == 200, got.text
            letters = (await http.get("/api/v1/dead-letters", headers=bearer)).json()
        # A restart: the TV push has no history, so the open item must still end.
        async with running(settings) as service, api(service) as http:
            got = await http.post(
                "/api/v1/channels/qaz-tv/nowplaying", params={"format": "json", "token": "test-token"},
                json=tv(2),
            )  # fmt: skip
            assert got.status_code == 200, got.text
            station.t0 = time.monotonic() - 2 * REAL_S - 0.01
            assert (await push(http, station.document())).status_code == 200
            radio = await _stored(service, "qaz-radio")
            television = await _stored(service, "qaz-tv")
    finally:
        station.close()
        broker.stop()
    assert len(letters["letters"] if isinstance(letters, dict) else letters) >= 5
    assert Counter((e["event_id"], e["phase"]) for e in radio) == Counter(
        {("5000", "start"): 1, ("5000", "complete"): 1, ("5001", "start"): 1,
         ("5001", "complete"): 1, ("5002", "start"): 1}
    )  # fmt: skip
    phases = {(e["event_id"], e["phase"]): e.get("duration") for e in television}
    assert phases == {("tv0", "start"): 1800, ("tv0", "end"): 1800, ("tv1", "start"): 1800,
                      ("tv1", "end"): 1800, ("tv2", "start"): 1800}  # fmt: skip
    assert all(e["language"] == "kk" for e in television if e["phase"] == "start")
