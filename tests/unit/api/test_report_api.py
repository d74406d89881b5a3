"""The report of a channel and period of the store, through the API."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pypdfium2 as pdfium

from efir.config.settings import ChannelConfig
from tests.unit.api.inprocess import AUTH, event, in_process

MORNING = {"from": "2025-11-16T00:00:00+05:00", "to": "2025-11-16T12:00:00+05:00"}


def _morning() -> list[dict[str, object]]:
    """00:00-12:00 in ten-minute items, 58.3 % Kazakh; a Russian-only spot at 06:00."""
    items = [
        event(
            f"m{i}",
            start=f"2025-11-16T{i // 6:02d}:{i % 6 * 10:02d}:00+05:00",
            duration=600 if i != 36 else 570,
            language="kk" if i % 36 < 21 else "ru",
        )
        for i in range(72)
    ]
    items.append(
        event(
            "ru-spot",
            start="2025-11-16T06:09:30+05:00",
            duration=30,
            kind="advertising",
            language="ru",
        )
    )
    return items


def _blocks(text: str) -> dict[str, list[dict[str, str]]]:
    out = {}
    for block in text.strip().split("\n\n"):
        rows = list(csv.reader(io.StringIO(block)))
        out[rows[0][1]] = [dict(zip(rows[1], r, strict=True)) for r in rows[2:]]
    return out


async def test_the_report_of_the_store_matches_its_windows(tmp_path: Path) -> None:
    async with in_process(tmp_path) as (http, _):
        assert (await http.post("/api/v1/events", json=_morning(), headers=AUTH)).status_code == 200
        url = "/api/v1/channels/qaz-tv/report"
        assert (await http.get(url, params={**MORNING, "format": "csv"})).status_code == 401
        got = await http.get(url, params={**MORNING, "format": "csv"}, headers=AUTH)
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("text/csv")
        blocks = _blocks(got.text)
        six = [w for w in blocks["windows"] if w["rule"] == "lang_6h"]
        assert [(w["window_start"], w["verdict"]) for w in six] == [
            ("2025-11-16T00:00:00+05:00", "complies"),
            ("2025-11-16T06:00:00+05:00", "complies"),
        ]
        checklist = {r["rule"]: r["answer"] for r in blocks["checklist"]}
        assert checklist["ads_language"] == "does not comply"
        (spot,) = [e for e in blocks["evidence"] if e["rule"] == "ads_language"]
        assert spot["event_id"] == "ru-spot"
        assert spot["source"].startswith("received 2025-11-16T13:00:00")
        # Under the thresholds of 2027 the six-hour intervals fail (58.3 % < 60 %).
        later = await http.get(
            url, params={**MORNING, "format": "csv", "as_of": "2027-01-01"}, headers=AUTH
        )
        six = [w for w in _blocks(later.text)["windows"] if w["rule"] == "lang_6h"]
        assert {w["verdict"] for w in six} == {"violation"}
        pdf = await http.get(url, params=MORNING, headers=AUTH)
        assert pdf.headers["content-type"] == "application/pdf"
        assert "attachment" in pdf.headers["content-disposition"]
        doc = pdfium.PdfDocument(pdf.content)
        assert "Compliance report: qaz-tv" in doc[0].get_textpage().get_text_range()
        xlsx = await http.get(url, params={**MORNING, "format": "xlsx"}, headers=AUTH)
        assert xlsx.content[:2] == b"PK"


async def test_bad_periods_and_channels_are_refused(tmp_path: Path) -> None:
    async with in_process(tmp_path, channels=[ChannelConfig(id="qaz-tv")]) as (http, _):
        url = "/api/v1/channels/qaz-tv/report"
        assert (await http.get(url, headers=AUTH)).status_code == 422  # `from` is required
        bad = await http.get(url, params={"from": "yesterday"}, headers=AUTH)
        assert bad.status_code == 422
        wide = await http.get(url, params={"from": "2023-01-01T00:00:00Z"}, headers=AUTH)
        assert wide.status_code == 422
        missing = await http.get("/api/v1/channels/nope/report", params=MORNING, headers=AUTH)
        assert missing.status_code == 404
