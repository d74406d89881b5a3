"""The tail adapter's reading: what is new, once; hostile files refused and reported, never a crash."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from efir.adapters.ledger import Ledger
from efir.adapters.link import Link
from efir.adapters.tail import Tailer, TailOptions
from efir.readers.base import ReadOptions

ALMATY = ZoneInfo("Asia/Almaty")


class FakeLink:
    """Collects what would be published."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def publish(self, payloads: list[bytes]) -> None:
        self.sent.extend(payloads)


def _event(i: int, **fields: Any) -> str:
    body = {
        "schema": "efir.asrun/1", "channel": "qaz-tv", "event_id": f"e{i}", "phase": "complete",
        "start": f"2026-11-16T{10 + i // 60:02d}:{i % 60:02d}:00+05:00", "duration": 60,
        "kind": "program", "language": "kk", **fields,
    }  # fmt: skip
    return json.dumps(body) + "\n"


def _tailer(folder: Path, settle_s: float = 0.0, fmt: str | None = None) -> Tailer:
    options = TailOptions(
        directory=folder, channel="qaz-tv", input_format=fmt,
        read=ReadOptions(channel="qaz-tv", timezone=ALMATY), tz=ALMATY, settle_s=settle_s,
    )  # fmt: skip
    return Tailer(options, Ledger(folder.parent / "ledger.sqlite"))


def _old(path: Path) -> None:
    """Make ``path`` look written a minute ago (quiet: read whole)."""
    t = time.time() - 60
    os.utime(path, (t, t))


async def test_growing_file_is_published_once_and_a_restart_sends_nothing_again(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    log = folder / "today.jsonl"
    log.write_text(_event(0) + _event(1) + _event(2)[:30])  # the third line half written
    tailer, link = _tailer(folder, settle_s=30), FakeLink()
    await tailer.take(log, cast("Link", link))
    assert [json.loads(p)["event_id"] for p in link.sent] == ["e0", "e1"]
    assert tailer.stats.refused == 0  # a half line is not an error while the file is written
    log.write_text(_event(0) + _event(1) + _event(2) + _event(3))
    await tailer.take(log, cast("Link", link))
    assert [json.loads(p)["event_id"] for p in link.sent] == ["e0", "e1", "e2", "e3"]
    tailer.ledger.close()
    # A restart (a new ledger object on the same file): nothing is sent twice.
    again, link2 = _tailer(folder), FakeLink()
    _old(log)
    await again.take(log, cast("Link", link2))
    assert link2.sent == []
    assert again.stats.already_sent == 4
    # A correction (same id, other fields) is new.
    log.write_text(_event(0) + _event(1, language="ru"))
    _old(log)
    await again.take(log, cast("Link", link2))
    assert [json.loads(p)["language"] for p in link2.sent] == ["ru"]


async def test_an_event_of_another_channel_is_refused_not_published_as_ours(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    log = folder / "x.jsonl"
    log.write_text(_event(0, channel="other") + _event(1))
    _old(log)
    tailer, link = _tailer(folder), FakeLink()
    await tailer.take(log, cast("Link", link))
    assert [json.loads(p)["event_id"] for p in link.sent] == ["e1"]
    assert tailer.stats.reasons == {"other_channel": 1}


HOSTILE = [
    b"not json at all\n",
    b"{" * 100_000 + b"\n",  # nested far deeper than any decoder's stack
    b'{"a": "' + b"x" * (3 * 1024 * 1024) + b'"}\n',  # one line of 3 MiB
    bytes(range(256)) * 40 + b"\n",  # binary
    b'{"schema": "efir.asrun/1", "event_id": 5}\n',  # valid JSON, not an event
    "\ufeff\u0000{}\n".encode(),
    b"\xff\xfe\x00garbage\r\n",
]


@pytest.mark.parametrize("body", HOSTILE, ids=range(len(HOSTILE)))
async def test_a_hostile_line_is_refused_and_reported_once_and_the_rest_goes_on(
    tmp_path: Path, body: bytes
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    log = folder / "bad.jsonl"
    log.write_bytes(_event(0).encode() + body + _event(1).encode())
    _old(log)
    tailer, link = _tailer(folder, fmt="jsonl"), FakeLink()
    await tailer.take(log, cast("Link", link))
    assert [json.loads(p)["event_id"] for p in link.sent] == ["e0", "e1"]
    assert tailer.stats.refused >= 1
    reported = tailer.stats.refused
    await tailer.take(log, cast("Link", link))  # read again: reported once
    assert tailer.stats.refused == reported


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.binary(max_size=4096),
    fmt=st.sampled_from([None, "jsonl", "bxf", "ffplayout", "playbox"]),
)
async def test_any_bytes_in_any_format_never_crash_the_adapter(
    tmp_path: Path, data: bytes, fmt: str | None
) -> None:
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    log = folder / "any.log"
    log.write_bytes(data)
    _old(log)
    tailer, link = _tailer(folder, fmt=fmt), FakeLink()
    try:
        await tailer.take(log, cast("Link", link))
    finally:
        tailer.ledger.close()
        (folder.parent / "ledger.sqlite").unlink()
    for p in link.sent:
        assert json.loads(p)["channel"] == "qaz-tv"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent-folder", "--channel", "x"], "not a folder"),
        ([".", "--channel", "x", "--input-format", "docx"], "--input-format"),
        ([".", "--channel", "x", "--mqtt-url", "http://broker"], "--mqtt-url"),
    ],
)
def test_unusable_arguments_exit_2(args: list[str], message: str) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415 - only this test drives the CLI

    from efir.cli import app  # noqa: PLC0415

    done = CliRunner().invoke(app, ["adapter", "tail", *args])
    assert done.exit_code == 2, done.output
    assert message in done.output


async def test_a_growing_json_lines_file_is_parsed_from_where_it_was_left(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    log = folder / "today.jsonl"
    log.write_text(_event(0) + "not json\n")
    tailer, link = _tailer(folder, settle_s=30), FakeLink()
    await tailer.take(log, cast("Link", link))
    assert tailer.stats.refused == 1  # a whole line refused is reported at once
    with log.open("a") as out:
        out.write(_event(1) + _event(2))
    await tailer.take(log, cast("Link", link))
    assert [json.loads(p)["event_id"] for p in link.sent] == ["e0", "e1", "e2"]
    assert tailer.stats.already_sent == 0  # only the appended lines were read again
    assert tailer.stats.refused == 1
    log.write_text(_event(3))  # truncated and rewritten: read from the top
    await tailer.take(log, cast("Link", link))
    assert json.loads(link.sent[-1])["event_id"] == "e3"


async def test_a_file_rewritten_longer_between_two_readings_is_read_from_the_top(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    log = folder / "today.jsonl"
    log.write_text(_event(0))
    tailer, link = _tailer(folder), FakeLink()
    _old(log)
    await tailer.take(log, cast("Link", link))
    log.write_text(_event(5) + _event(6) + _event(7))  # same inode, longer, other content
    _old(log)
    await tailer.take(log, cast("Link", link))
    assert [json.loads(p)["event_id"] for p in link.sent] == ["e0", "e5", "e6", "e7"]
