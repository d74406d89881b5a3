"""The poll adapter's reading of answers: hostile ones reported, never a crash, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import httpx
import pytest

from efir.adapters.ledger import Ledger
from efir.adapters.link import Link
from efir.adapters.poll import Poller, PollOptions
from efir.readers.nowplaying import PRESETS
from tests.getserver import GetServer

S = 1_000_000
NOW = 1_796_000_000 * S


class FakeLink:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def publish(self, payloads: list[bytes]) -> None:
        self.sent.extend(payloads)


def _script(answers: list[tuple[int, bytes]]) -> GetServer:
    """A server answering each GET with the next scripted (status, body), then 200 ``{}``."""
    return GetServer(lambda _: answers.pop(0) if answers else (200, b"{}"))


def _doc(i: int) -> bytes:
    song = {
        "sh_id": i,
        "played_at": NOW // S - 600 + 60 * i,
        "duration": 60,
        "song": {"title": f"s{i}"},
    }
    return json.dumps({"now_playing": song, "song_history": []}).encode()


HOSTILE = [
    (500, b"oops"),
    (200, b"<html>not json</html>"),
    (200, b"[" * 200_000),
    (200, b'{"now_playing": {"sh_id": 1}}'),  # no start
    (200, b"{}"),  # no now_playing at all: not "nothing on air"
    (200, b'{"now_playing": {"played_at": "soon"}}'),
    (200, b"x" * (5 * 1024 * 1024)),  # over the size limit
    (404, b""),
]


@pytest.mark.parametrize("hostile", HOSTILE, ids=range(len(HOSTILE)))
async def test_a_hostile_answer_is_reported_and_the_item_on_air_is_not_ended(
    tmp_path: Path, hostile: tuple[int, bytes]
) -> None:
    script = _script([(200, _doc(1)), hostile, (200, _doc(2))])
    options = PollOptions(
        script.base + "/np", "qaz-radio", PRESETS["azuracast"], ZoneInfo("Asia/Almaty")
    )
    poller = Poller(options, Ledger(tmp_path / "ledger.sqlite"), lambda: NOW)
    link = FakeLink()
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(3):
                await poller.once(http, cast("Link", link))
    finally:
        script.close()
    events = [json.loads(p) for p in link.sent]
    assert [(e["event_id"], e["phase"]) for e in events] == [
        ("1", "start"),
        ("1", "end"),
        ("2", "start"),
    ]
    assert events[1]["duration"] == 60  # ended when the next started, not at the bad answer
    assert poller.stats.problems == 1


async def test_a_restart_resumes_with_the_item_that_was_playing(tmp_path: Path) -> None:
    script = _script([(200, _doc(1)), (200, _doc(2))])
    options = PollOptions(
        script.base + "/np", "qaz-radio", PRESETS["azuracast"], ZoneInfo("Asia/Almaty")
    )
    link = FakeLink()
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            first = Poller(options, Ledger(tmp_path / "ledger.sqlite"), lambda: NOW)
            await first.once(http, cast("Link", link))
            first.ledger.close()
            again = Poller(options, Ledger(tmp_path / "ledger.sqlite"), lambda: NOW)
            await again.once(http, cast("Link", link))
    finally:
        script.close()
    assert [(json.loads(p)["event_id"], json.loads(p)["phase"]) for p in link.sent] == [
        ("1", "start"), ("1", "end"), ("2", "start"),
    ]  # fmt: skip
