"""Rivendell's PAD updates: the documented shape read despite its JSON, skipped fields named."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efir.core.timebase import to_us
from efir.readers.pypad import PadError, decode, playing

DATA = Path(__file__).parents[2] / "data" / "pypad"
ALMATY = ZoneInfo("Asia/Almaty")


def test_an_update_as_rivendell_writes_it_is_read() -> None:
    raw = (DATA / "update.json").read_bytes()
    with pytest.raises(ValueError, match="Expecting"):
        json.loads(raw)  # as in Rivendell's own example: not valid JSON
    update = decode(raw)
    assert update["machine"] == 1
    item, unused = playing(update, ALMATY)
    assert item is not None
    assert item.event_id == "rd1-233-20261203T180000"
    assert item.start == to_us(datetime(2026, 12, 3, 18, tzinfo=ALMATY))
    assert item.duration == 215.4
    assert item.fields == {
        "kind": "music", "title": "Qairan Elim", "artist": "Dimash", "isrc": "KZA012300001",
        "house_id": "40112_1", "raw": {"groupName": "MUSIC_KZ", "cartType": "Audio",
                                        "description": "Cut 001"},
    }  # fmt: skip
    assert unused == {"recordingMbId", "releaseMbId"}  # sent, not in the documented list


def test_local_start_times_are_read_in_the_channel_zone() -> None:
    update = {"machine": 1, "now": {"startDateTime": "2026-12-03T18:00:00", "lineId": 1}}
    item, _ = playing(update, ALMATY)
    assert item is not None
    assert item.start == to_us(datetime(2026, 12, 3, 18, tzinfo=ALMATY))
    assert playing({"machine": 1, "now": None}, ALMATY) == (None, set())


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1, 2]", "not a PAD update"),
        (b'{"padUpdate": 3}', "not a PAD update"),
        (b"[" * 100_000, "not JSON"),
        (b'{"x": "' + b"a" * 300_000 + b'"}', "over"),
    ],
)
def test_what_is_not_an_update_says_why(raw: bytes, message: str) -> None:
    with pytest.raises(PadError, match=message):
        decode(raw)


@pytest.mark.parametrize(
    "now", [{"startDateTime": "yesterday"}, {"startDateTime": None}, "a string", 7]
)
def test_an_unreadable_now_says_why(now: object) -> None:
    with pytest.raises(PadError, match="now"):
        playing({"machine": 1, "now": now}, ALMATY)


@given(raw=st.binary(max_size=2048))
def test_any_bytes_are_an_update_or_a_reason(raw: bytes) -> None:
    try:
        update = decode(raw)
    except PadError as exc:
        assert str(exc)  # noqa: PT017 - every refusal carries its reason
        return
    try:
        playing(update, ALMATY)
    except PadError as exc:
        assert str(exc)  # noqa: PT017 - every refusal carries its reason
