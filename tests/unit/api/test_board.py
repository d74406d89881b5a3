"""The status board's page, JSON and event stream, without a broker."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from efir.config.settings import ChannelConfig
from tests.unit.api.inprocess import AUTH, event, in_process


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    channels = [
        ChannelConfig(id="qaz-tv", name="Qazaq TV"),
        ChannelConfig(id="qaz-radio", media="radio"),
    ]
    async with in_process(tmp_path, channels) as (http, _):
        yield http


async def test_page_is_self_contained_and_translated(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    # No CDN or any other host: broadcast sites are often offline.
    assert "http://" not in html
    assert "https://" not in html
    assert "/api/v1/board/events" in html
    for label in ("Efir мәртебе тақтасы", "Efir: табло статусов", "Қазақ тілі", "Реклама"):
        assert label in html


async def test_board_tiles_carry_the_figures(client: httpx.AsyncClient) -> None:
    posted = await client.post(
        "/api/v1/events",
        json=[
            event("kk", title="Жаңалықтар"),
            event(
                "ru", start="2025-11-16T12:30:00+05:00", duration=1200, language="ru", title="Кино"
            ),
            event("on", start="2025-11-16T12:50:00+05:00", duration=3600, title="Ток-шоу"),
        ],
        headers=AUTH,
    )
    assert posted.status_code == 200, posted.text
    board = (await client.get("/api/v1/board")).json()
    tiles = {t["channel"]: t for t in board["tiles"]}
    assert set(tiles) == {"qaz-tv", "qaz-radio"}
    tv = tiles["qaz-tv"]
    assert tv["name"] == "Qazaq TV"
    assert tv["on_air"]["title"] == "Ток-шоу"
    lang = tv["language"]
    # kk 30 min, ru 20 min, then a 60 min kk item reported complete: counted in full.
    assert lang["share"] == pytest.approx(90 / 110)
    assert lang["threshold"] == 0.55
    assert lang["next_threshold"] == 0.60
    assert lang["next_threshold_from"].startswith("2027-01-01T00:00:00+05:00")
    assert lang["window_start"] == "2025-11-16T12:00:00+05:00"
    # Needed 55 % of 360 min = 198, minus 90 aired = 108 min; after the item ends at
    # 13:50, 250 min remain, so 142 min of slack: Kazakh content must start by 16:12.
    assert lang["status"] == "on_track"
    assert lang["needed_s"] == pytest.approx(108 * 60)
    assert lang["slack_s"] == pytest.approx(142 * 60)
    assert lang["deadline"] == "2025-11-16T16:12:00+05:00"
    assert lang["advice"] is None  # on track: nothing to do
    ads = tv["ads"]
    assert ads["open"] is False  # 13:00: the next evening hour is 18:00-19:00
    assert ads["window_start"] == "2025-11-16T18:00:00+05:00"
    assert ads["limit_s"] == pytest.approx(720)
    assert tiles["qaz-radio"]["on_air"] is None
    assert tiles["qaz-radio"]["feed"]["state"] == "unknown"


async def test_stream_sends_the_board_as_an_event(client: httpx.AsyncClient) -> None:
    async with client.stream("GET", "/api/v1/board/events", params={"once": True}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = (await r.aread()).decode()
    fields = dict(
        line.split(": ", 1) for line in text.splitlines() if line and not line.startswith(":")
    )
    assert fields["event"] == "board"
    assert fields["retry"] == "3000"
    assert {t["channel"] for t in json.loads(fields["data"])["tiles"]} == {"qaz-tv", "qaz-radio"}


async def test_a_tile_names_the_rule_behind_its_worst_status(client: httpx.AsyncClient) -> None:
    """A radio tile showed a green bar beside 'at risk' from a weekly rule it does not show."""
    await client.post(
        "/api/v1/events",
        json=[
            event(
                f"r{i}",
                channel="qaz-radio",
                kind="music",
                language="ru",
                start=f"2025-11-16T{10 + i}:00:00+05:00",
                duration=3600,
                origin="foreign",
            )
            for i in range(3)
        ],
        headers=AUTH,
    )
    tiles = {t["channel"]: t for t in (await client.get("/api/v1/board")).json()["tiles"]}
    radio = tiles["qaz-radio"]
    status = (await client.get("/api/v1/channels/qaz-radio/status")).json()
    worst = [r for r in status["rules"] if r["status"] == radio["worst_status"]]
    assert radio["worst_rule"] == worst[0]["rule"]
    assert radio["worst_title"] == worst[0]["title"]
    assert radio["now"].startswith("2025-11-16T13:00:00+05:00")
    page = (await client.get("/")).text
    assert "legendNow" in page  # the threshold marks have a legend
    assert "worstBy" in page


async def test_the_deadline_is_written_for_people(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/events", json=event("p1", language="ru"), headers=AUTH)
    language = {t["channel"]: t for t in (await client.get("/api/v1/board")).json()["tiles"]}[
        "qaz-tv"
    ]["language"]
    assert language["deadline"] is not None  # 30 min of Russian: at risk, a deadline today
    assert language["deadline_text"] == language["deadline"][11:16]  # today: HH:MM


async def test_advice_and_titles_come_in_the_language_asked_for(
    client: httpx.AsyncClient,
) -> None:
    # Two hours of Russian from 12:00: at 14:00 the six-hour interval is at risk.
    await client.post(
        "/api/v1/events",
        json=event("p1", language="ru", duration=7200, start="2025-11-16T11:00:00+05:00"),
        headers=AUTH,
    )
    english = (await client.get("/api/v1/channels/qaz-tv/status")).json()
    russian = (await client.get("/api/v1/channels/qaz-tv/status", params={"lang": "ru"})).json()
    lang_6h = {r["rule"]: r for r in english["rules"]}["lang_6h"]
    ru_6h = {r["rule"]: r for r in russian["rules"]}["lang_6h"]
    assert lang_6h["advice"].startswith("air ")
    assert ru_6h["advice"].startswith("выпустите в эфир ещё ")
    assert ru_6h["title"] == "Доля казахского языка в каждом шестичасовом интервале"
    assert ru_6h["needed_s"] == lang_6h["needed_s"]  # the figures are the same
    board = (await client.get("/api/v1/board", params={"lang": "kk"})).json()
    assert board["lang"] == "kk"
    tile = {t["channel"]: t for t in board["tiles"]}["qaz-tv"]["language"]
    assert tile["advice"].startswith("талапқа сай контентті тағы ")
    refused = await client.get("/api/v1/board", params={"lang": "de"})
    assert refused.status_code == 422
    async with client.stream(
        "GET", "/api/v1/board/events", params={"once": True, "lang": "ru"}
    ) as r:
        text = (await r.aread()).decode()
    assert "выпустите в эфир" in text
