"""``efir adapter tail`` end to end: real Mosquitto, a running daemon, the adapter killed -9.

Files are written while the adapter runs (a day whole, another appended in
chunks with lines cut in half, one rewritten after a truncation, one rotated);
the adapter is killed with SIGKILL three times mid-file and started again.
The daemon ends with exactly the events of the files: none lost, none twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from efir.daemon.service import Service
from efir.sim.feed import FeedSpec, generate
from tests.integration.live import Child, kill_while_publishing, running, settings_for
from tests.services import Mosquitto, free_port, unique_prefix

pytestmark = pytest.mark.integration
ALMATY = ZoneInfo("Asia/Almaty")


def _days(n: int) -> list[list[dict[str, Any]]]:
    """``n`` past whole days of qaz-tv, one list of complete items per day."""
    today = datetime.now(UTC).astimezone(ALMATY).replace(hour=0, minute=0, second=0, microsecond=0)
    out = []
    for i in range(n, 0, -1):
        start = today - timedelta(days=i)
        spec = FeedSpec("qaz-tv", media="tv", phases="complete", seed=40 + i)
        day = list(generate(spec, start, start + timedelta(days=1)))
        for e in day:  # the generator numbers each day from 1: one id per item of the three
            e["event_id"] = f"{start:%m%d}-{e['event_id']}"
        out.append(day)
    return out


def _adapter(folder: Path, env: dict[str, str], log: Path) -> Child:
    """``efir adapter tail`` as a child process."""
    args = [
        "adapter", "tail", str(folder), "--channel", "qaz-tv", "--pattern", "*.jsonl*",
        "--settle-s", "0.5", "--heartbeat-s", "1",
    ]  # fmt: skip
    return Child(args, env, log)


async def _stored(service: Service) -> list[dict[str, Any]]:
    rows = await service.store.load_events("qaz-tv", 0)
    return [json.loads(p) for p, _ in rows]


def _line(e: dict[str, Any]) -> bytes:
    return (json.dumps(e, ensure_ascii=False) + "\n").encode()


async def test_tail_survives_three_kill_9_with_no_event_lost_or_twice(
    db_url: str, tmp_path: Path
) -> None:
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    prefix = unique_prefix()
    folder = tmp_path / "asrun"
    folder.mkdir()
    settings = settings_for(
        db_url=db_url, mqtt_url=broker.url, prefix=prefix, data_dir=tmp_path / "data"
    )
    env = {
        **os.environ,
        "EFIR_MQTT_URL": broker.url,
        "EFIR_MQTT__TOPIC_PREFIX": prefix,
        "EFIR_DATA_DIR": str(tmp_path / "adapter"),
        "EFIR_LOG_LEVEL": "INFO",
    }
    adapter = _adapter(folder, env, tmp_path / "adapter.log")
    first, second, third = _days(3)
    expected = {(e["event_id"], e["phase"]) for e in first + second + third}
    rng = random.Random(7)
    try:
        async with running(settings) as service:
            (folder / "day1.jsonl").write_bytes(b"".join(_line(e) for e in first))
            adapter.start()
            # The second day, appended in 120 chunks each cut mid-line, while the adapter
            # is killed -9 three times, each time after it has published something.
            data = b"".join(_line(e) for e in second)
            cuts = sorted(rng.sample(range(1, len(data)), 120))

            async def write() -> None:
                with (folder / "day2.jsonl").open("ab") as out:
                    last = 0
                    for cut in cuts:
                        out.write(data[last:cut])
                        out.flush()
                        last = cut
                        await asyncio.sleep(0.1)
                    out.write(data[last:])

            writer = asyncio.create_task(write())

            async def count() -> int:
                return len(await _stored(service))

            await kill_while_publishing(adapter, count, pause=rng.uniform(0.0, 0.5))
            await writer
            # The third day is written, then rotated away and replaced by its second half;
            # the first day is truncated and written again: nothing new in either.
            day3 = folder / "day3.jsonl"
            day3.write_bytes(b"".join(_line(e) for e in third))
            await asyncio.sleep(1.5)
            day3.rename(folder / "day3.jsonl.1")
            day3.write_bytes(b"".join(_line(e) for e in third[len(third) // 2 :]))
            (folder / "day1.jsonl").write_bytes(b"")
            await asyncio.sleep(0.3)
            (folder / "day1.jsonl").write_bytes(b"".join(_line(e) for e in first))
            async with asyncio.timeout(60):
                while len(await _stored(service)) < len(expected):
                    await asyncio.sleep(0.2)
            await asyncio.sleep(2)  # anything still arriving would be a duplicate
            stored = await _stored(service)
            assert adapter.terminate() == 0
    finally:
        adapter.stop()
        broker.stop()
    got = [(e["event_id"], e["phase"]) for e in stored]
    assert len(got) == len(expected)  # none twice
    assert set(got) == expected  # none lost
    log = (tmp_path / "adapter.log").read_text()
    assert "refused" not in log.replace("0 refused", "")  # no half line was ever refused


async def test_the_adapter_says_online_offline_and_beats(tmp_path: Path) -> None:
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    prefix = unique_prefix()
    folder = tmp_path / "asrun"
    folder.mkdir()
    (folder / "bad.jsonl").write_text('{"schema": "efir.asrun/1", "event_id": 1}\nnot json\n')
    env = {
        **os.environ,
        "EFIR_MQTT_URL": broker.url,
        "EFIR_MQTT__TOPIC_PREFIX": prefix,
        "EFIR_DATA_DIR": str(tmp_path / "adapter"),
    }
    adapter = _adapter(folder, env, tmp_path / "adapter.log")
    seen: dict[str, list[bytes]] = {}
    try:
        async with aiomqtt.Client("127.0.0.1", broker.port) as sub:
            await sub.subscribe(f"{prefix}/#", qos=1)
            adapter.start()

            async def collect() -> None:
                async for m in sub.messages:
                    seen.setdefault(m.topic.value.rsplit("/", 1)[1], []).append(bytes(m.payload))
                    if len(seen.get("heartbeat", [])) >= 2 and seen.get("status"):
                        return

            await asyncio.wait_for(collect(), 20)
            adapter.kill9()  # no goodbye: the broker publishes the Last Will
            async with asyncio.timeout(20):
                async for m in sub.messages:
                    if m.topic.value.endswith("/status") and bytes(m.payload) == b"offline":
                        break
    finally:
        adapter.stop()
        broker.stop()
    assert seen["status"][0] == b"online"
    beat = json.loads(seen["heartbeat"][0])
    assert beat["adapter"] == "tail"
    assert "event" not in seen  # both records were refused...
    log = (tmp_path / "adapter.log").read_text()
    assert "bad.jsonl:1:" in log  # ...and each is reported with its file and line
    assert "bad.jsonl:2:" in log
