"""The catalogue end to end in one process: a fix that flips a six-hour verdict, journaled."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import openpyxl

from efir.daemon.service import Service
from tests.unit.api.inprocess import AUTH, event, in_process

WINDOW = "2025-11-16T06:00:00+05:00"


def _day() -> list[dict[str, object]]:
    """06:00-12:00: three hours in Kazakh, three of house number H-77 with no language."""
    out = []
    for h in range(6):
        fields = {"language": "kk"} if h % 2 == 0 else {"language": None, "house_id": "H-77"}
        out.append(event(f"p{h}", start=f"2025-11-16T{6 + h:02d}:00:00+05:00", duration=3600,
                         title=f"Item {h}", origin="domestic", **fields))  # fmt: skip
    return out


async def _window(http: httpx.AsyncClient, service: Service) -> dict[str, object]:
    await service.ticker.tick()  # store the closed windows, as the daemon does each tick
    got = await http.get(
        "/api/v1/channels/qaz-tv/windows",
        params={"rule": "lang_6h", "from": WINDOW, "to": "2025-11-16T12:00:00+05:00"},
    )
    assert got.status_code == 200, got.text
    (w,) = [w for w in got.json()["windows"] if w["window_start"] == WINDOW]
    return w


async def test_a_catalogue_fix_flips_the_verdict_and_is_journaled(tmp_path: Path) -> None:
    async with in_process(tmp_path) as (http, service):
        assert (await http.post("/api/v1/events", json=_day(), headers=AUTH)).status_code == 200
        before = await _window(http, service)
        assert before["verdict"] == "violation"  # 3 h of 6 unknown: 50 % < 55 %
        assert before["unknown_s"] == 3 * 3600
        work = (await http.get("/api/v1/channels/qaz-tv/unclassified")).json()
        top = work["items"][0]
        assert (top["key_field"], top["key"], top["missing"]) == ("house_id", "H-77", ["language"])
        assert (top["seconds"], top["airings"]) == (3 * 3600, 3)
        tile = (await http.get("/api/v1/board", params={"lang": "ru"})).json()["tiles"][0]
        assert tile["unclassified"]["seconds"] == 3 * 3600
        assert tile["unclassified"]["words"] == "3 ч 00 мин"
        assert tile["unclassified"]["top"][0]["key"] == "H-77"
        metrics = (await http.get("/metrics")).text
        assert 'efir_unclassified_seconds{channel="qaz-tv"} 10800.0' in metrics
        fix = {
            "by": "aigerim",
            "entries": [
                {"key_field": "house_id", "key": "H-77", "language": "kk", "title": "Kazakh series"}
            ],
        }
        done = await http.put("/api/v1/catalogue", json=fix, headers=AUTH)
        assert done.status_code == 200, done.text
        assert done.json() == {"put": 1, "deleted": 0, "unchanged": 0, "recounted": ["qaz-tv"],
                               "refused": []}  # fmt: skip
        after = await _window(http, service)
        assert after["verdict"] == "complies"
        assert after["revision"] == 1
        assert after["revised_from"] == "violation"
        again = await http.put("/api/v1/catalogue", json=fix, headers=AUTH)
        assert again.json()["unchanged"] == 1  # the same entry twice changes nothing
        journal = (await http.get("/api/v1/catalogue/journal")).json()
        assert [(j["by"], j["action"], j["key"]) for j in journal] == [("aigerim", "put", "H-77")]
        assert journal[0]["before"] is None
        assert journal[0]["after"]["language"] == "kk"
        assert (await http.get("/api/v1/channels/qaz-tv/unclassified")).json()["items"] == []
        tile = (await http.get("/api/v1/board")).json()["tiles"][0]
        assert tile["unclassified"] is None  # the recount forgot the old worklist
        listed = (await http.get("/api/v1/catalogue", params={"q": "series"})).json()
        assert [(e["key"], e["used"] > 0) for e in listed] == [("H-77", True)]
        refused = await http.put("/api/v1/catalogue", json=fix)
        assert refused.status_code == 401
    # A restart reads the catalogue before the stored events: the fix still holds.
    async with in_process(tmp_path) as (http, service):
        assert (await _window(http, service))["verdict"] == "complies"


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def test_import_from_csv_and_xlsx_lists_the_rows_it_refuses(tmp_path: Path) -> None:
    csv_file = (
        "House number;Language;Origin;Tags;Title\n"
        "H-1;kk;domestic;news, live;Кешкі жаңалықтар\n"
        "H-2;kz;foreign;;Film\n"  # kz is the country code
        ";ru;;;No key\n"
        "H-3;;;;Nothing said\n"
    ).encode()
    xlsx = _xlsx([
        ["ISRC", "kind", "language", "kk_fraction", "channel"],
        ["KZA012300001", "music", "kk", None, None],
        ["KZA012300002", "music", None, "50%", "qaz-tv"],
        ["KZA012300003", "jingle", "kk", None, None],
    ])  # fmt: skip
    async with in_process(tmp_path) as (http, _):
        got = await http.post(
            "/api/v1/catalogue/import", params={"by": "import", "name": "house.csv"},
            content=csv_file, headers=AUTH,
        )  # fmt: skip
        assert got.status_code == 200, got.text
        body = got.json()
        assert body["put"] == 1
        assert [r["row"] for r in body["refused"]] == [3, 4, 5]
        assert "Kazakh is kk" in body["refused"][0]["reasons"][0]
        got = await http.post(
            "/api/v1/catalogue/import", params={"by": "import", "name": "music.xlsx"},
            content=xlsx, headers=AUTH,
        )  # fmt: skip
        body = got.json()
        assert body["put"] == 2
        assert [r["row"] for r in body["refused"]] == [4]
        entries = {e["key"]: e for e in (await http.get("/api/v1/catalogue")).json()}
        assert entries["H-1"]["tags"] == ["news", "live"]
        assert entries["H-1"]["title"] == "Кешкі жаңалықтар"
        assert entries["KZA012300002"]["kk_fraction"] == 0.5
        assert entries["KZA012300002"]["channel"] == "qaz-tv"
        bad = await http.post(
            "/api/v1/catalogue/import", params={"by": "x"}, content=b"\xff\xfe\x00garbage",
            headers=AUTH,
        )  # fmt: skip
        assert bad.status_code == 400
        gone = await http.delete(
            "/api/v1/catalogue/house_id/H-1", params={"by": "aigerim"}, headers=AUTH
        )
        assert gone.json()["deleted"] == 1
        missing = await http.delete(
            "/api/v1/catalogue/house_id/H-1", params={"by": "aigerim"}, headers=AUTH
        )
        assert missing.status_code == 404


async def test_another_instance_follows_a_change_at_its_next_tick(tmp_path: Path) -> None:
    """A standby (here: a second instance on the same database) reads the journal each tick."""
    async with in_process(tmp_path) as (http, service):
        assert (await http.post("/api/v1/events", json=_day(), headers=AUTH)).status_code == 200
        await service.ticker.tick()
    async with in_process(tmp_path) as (http, active), in_process(tmp_path) as (_, standby):
        assert "H-77" not in {e.key for e in standby.cataloguing.catalogue.entries()}
        fix = {"by": "aigerim", "entries": [{"key_field": "house_id", "key": "H-77",
                                             "language": "kk"}]}  # fmt: skip
        assert (await http.put("/api/v1/catalogue", json=fix, headers=AUTH)).status_code == 200
        await standby.ticker.tick()
        assert "H-77" in {e.key for e in standby.cataloguing.catalogue.entries()}
        ch = standby.monitor.channels["qaz-tv"]
        (w,) = [w for w in ch.engine.windows(*_six(), now=active.now_us()) if w.rule == "lang_6h"]
        assert w.unknown_s == 0  # recounted with the entry


def _six() -> tuple[int, int]:
    from datetime import datetime  # noqa: PLC0415 - this helper alone

    from efir.core.timebase import to_us  # noqa: PLC0415

    start = to_us(datetime.fromisoformat(WINDOW))
    return start, start + 6 * 3600 * 1_000_000


async def test_the_report_names_the_entry_that_classified_an_item(tmp_path: Path) -> None:
    async with in_process(tmp_path) as (http, _):
        assert (await http.post("/api/v1/events", json=_day(), headers=AUTH)).status_code == 200
        fix = {"by": "aigerim", "entries": [{"key_field": "house_id", "key": "H-77",
                                             "language": "ru"}]}  # fmt: skip
        assert (await http.put("/api/v1/catalogue", json=fix, headers=AUTH)).status_code == 200
        got = await http.get(
            "/api/v1/channels/qaz-tv/report",
            params={"from": WINDOW, "to": "2025-11-16T12:00:00+05:00", "format": "csv"},
            headers=AUTH,
        )
        assert got.status_code == 200, got.text
        assert "catalogue house_id=H-77: language (aigerim)" in got.text  # the evidence's source
