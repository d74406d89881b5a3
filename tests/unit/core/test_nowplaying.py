"""Now playing to start and end events: each item once, each end where the next starts."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from efir.core.nowplaying import Playing, Tracker
from efir.core.timebase import US_PER_S, to_us
from efir.readers.nowplaying import PRESETS, MappingError, NowPlayingMap

S = US_PER_S
T0 = to_us(datetime(2026, 12, 3, 12, tzinfo=ZoneInfo("UTC")))
DATA = Path(__file__).parents[2] / "data" / "nowplaying"
ALMATY = ZoneInfo("Asia/Almaty")


def _start_of(e: dict) -> int:
    return to_us(datetime.fromisoformat(e["start"]))


@given(
    lengths=st.lists(st.integers(1, 900), min_size=1, max_size=12),
    looks=st.lists(st.integers(1, 4), min_size=12, max_size=12),
    restart_at=st.integers(0, 12),
    history=st.booleans(),
)
def test_every_item_starts_once_and_ends_where_the_next_starts(
    lengths: list[int], looks: list[int], restart_at: int, history: bool
) -> None:
    items, t = [], T0
    for i, n in enumerate(lengths):
        items.append(Playing(f"i{i}", t, float(n), {"title": f"song {i}"}))
        t += n * S
    tracker, events = Tracker("qaz-radio"), []
    for i, item in enumerate(items):
        if i == restart_at:  # the caller stored the current item and starts again
            kept = tracker.current
            tracker = Tracker("qaz-radio", None if kept is None else Playing.from_dict(
                json.loads(json.dumps(kept.to_dict()))))  # fmt: skip
        past = items[max(0, i - 3) : i] if history else []
        for k in range(looks[i]):  # observed several times while it plays
            events += tracker.observe(item.start + k * S // 10, item, past)
    starts = [e["event_id"] for e in events if e["phase"] == "start"]
    assert starts == [it.event_id for it in items]  # each once, in order
    final = {}
    for e in events:
        if e["phase"] in ("end", "complete"):
            final[e["event_id"]] = e
    for i, item in enumerate(items[:-1]):
        got = final[item.event_id]
        assert _start_of(got) == item.start
        assert got["duration"] == pytest.approx(lengths[i])  # ends where the next starts
    assert items[-1].event_id not in final  # the last one still plays
    assert all(e["channel"] == "qaz-radio" and e["schema"] == "efir.asrun/1" for e in events)


def test_nothing_playing_ends_the_item_at_the_observation() -> None:
    tracker = Tracker("r")
    tracker.observe(T0, Playing("a", T0, 300.0))
    (end,) = tracker.observe(T0 + 120 * S, None)
    assert (end["phase"], end["duration"]) == ("end", 120.0)
    assert tracker.observe(T0 + 130 * S, None) == []


def test_history_fills_what_aired_while_nobody_listened() -> None:
    """An adapter down for three songs: the source's history gives them on its return."""
    a, b, c, d = (Playing(x, T0 + i * 200 * S, 250.0) for i, x in enumerate("abcd"))
    tracker = Tracker("r", current=a)
    events = tracker.observe(d.start + S, d, [c, b, a])
    got = {(e["event_id"], e["phase"]): e.get("duration") for e in events}
    assert got == {("a", "complete"): 200.0, ("b", "complete"): 200.0,
                   ("c", "complete"): 200.0, ("d", "start"): 250.0}  # fmt: skip


def test_azuracast_preset_reads_its_now_playing_document() -> None:
    doc = json.loads((DATA / "azuracast.json").read_text())
    playing, history = PRESETS["azuracast"].read(doc, 1764763250 * S, ALMATY)
    assert playing is not None
    assert (playing.event_id, playing.start, playing.duration) == ("1043", 1764763200 * S, 215.0)
    assert playing.fields == {"kind": "music", "title": "Qairan Elim", "artist": "Dimash",
                              "isrc": "KZA012300001", "house_id": "9f2c1e"}  # fmt: skip
    assert [h.event_id for h in history] == ["1042", "1041"]
    events = Tracker("qaz-radio").observe(1764763250 * S, playing, history)
    phases = {(e["event_id"], e["phase"]): e.get("duration") for e in events}
    # 1041 is cut where 1042 starts (180 s, shorter than its 181 s); 1042 where 1043 starts.
    assert phases == {("1041", "complete"): 180.0, ("1042", "complete"): 220.0,
                      ("1043", "start"): 215.0}  # fmt: skip


def test_ffplayout_preset_reads_seconds_of_the_local_day() -> None:
    doc = {"jsonrpc": "2.0", "id": 1, "result": {
        "play_mode": "playlist", "index": 12, "start_sec": 43200.0, "start_time": "12:00:00",
        "played_sec": 30.5, "remaining_sec": 1769.5,
        "current_media": {"title": "Kazakh news", "seek": 0.0, "out": 1800.0, "duration": 1800.0,
                          "category": "", "source": "/media/news/1200.mp4"}}}  # fmt: skip
    now = to_us(datetime(2026, 12, 3, 12, 0, 31, tzinfo=ALMATY))
    playing, history = PRESETS["ffplayout"].read(doc, now, ALMATY)
    assert playing is not None
    assert playing.start == to_us(datetime(2026, 12, 3, 12, tzinfo=ALMATY))
    assert playing.duration == 1800.0
    assert playing.fields["house_id"] == "/media/news/1200.mp4"
    assert history == []
    # Just after midnight, an item that started at 23:50 is yesterday's.
    late = dict(doc["result"], start_sec=85800.0)
    playing, _ = PRESETS["ffplayout"].read(
        late, to_us(datetime(2026, 12, 4, 0, 5, tzinfo=ALMATY)), ALMATY
    )
    assert playing is not None
    assert playing.start == to_us(datetime(2026, 12, 3, 23, 50, tzinfo=ALMATY))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected a mapping"),
        ({"fields": {"title": "t"}}, "'start' among them"),
        ({"fields": {"start": "s", "colour": "c"}}, "colour"),
        ({"fields": {"start": "s"}, "start_format": "weekday"}, "start_format"),
        ({"fields": {"start": "s"}, "set": {"colour": 1}}, "'set'"),
        ({"fields": {"start": "s"}, "extra": 1}, "unknown keys extra"),
    ],
)
def test_a_bad_mapping_says_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        NowPlayingMap.load(data)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(doc=JSON | st.fixed_dictionaries({"now_playing": JSON, "song_history": JSON}))
def test_any_json_is_read_or_refused_with_a_reason(doc: object) -> None:
    for preset in PRESETS.values():
        reason = None
        try:
            playing, history = preset.read(doc, T0, ALMATY)
        except MappingError as exc:
            reason = str(exc)
        else:
            Tracker("r").observe(T0, playing, history)  # and never crashes the tracker
        assert reason is None or reason  # a refusal always says why
