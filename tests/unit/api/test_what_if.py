"""The what-if in the API: windows judged under the thresholds in force on another date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from efir.api.channels import _rejudged
from efir.core.rules import what_if
from efir.daemon.service import Service
from efir.rulepacks import load_pack
from tests.unit.api.inprocess import AUTH, event, in_process


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    async with in_process(tmp_path) as pair:
        yield pair


async def test_windows_as_of_2027_are_judged_under_the_60_percent_thresholds(
    client: tuple[httpx.AsyncClient, Service],
) -> None:
    """A morning at 58.3 % Kazakh: complies today, fails under the thresholds of 2027."""
    http, _ = client
    events = [
        event(
            f"m{i}",
            start=f"2025-11-16T{i // 6:02d}:{i % 6 * 10:02d}:00+05:00",
            duration=600,
            language="kk" if i % 36 < 21 else "ru",
        )
        for i in range(72)
    ]
    assert (await http.post("/api/v1/events", json=events, headers=AUTH)).status_code == 200
    span = {
        "rule": "lang_6h",
        "from": "2025-11-16T00:00:00+05:00",
        "to": "2025-11-16T12:00:00+05:00",
    }
    today = (await http.get("/api/v1/channels/qaz-tv/windows", params=span)).json()
    then = (
        await http.get("/api/v1/channels/qaz-tv/windows", params={**span, "as_of": "2027-01-01"})
    ).json()
    assert today["what_if"] is None
    assert then["what_if"] == {"as_of": "2027-01-01", "overrides": {}}
    assert [(w["threshold"], w["verdict"]) for w in today["windows"]] == [(0.55, "complies")] * 2
    assert [(w["threshold"], w["verdict"]) for w in then["windows"]] == [(0.6, "violation")] * 2
    bad = await http.get("/api/v1/channels/qaz-tv/windows", params={**span, "as_of": "2027-13-01"})
    assert bad.status_code == 422
    # The board's view: the last four weeks' share windows that would fail in 2027.
    view = (await http.get("/api/v1/board/what-if")).json()
    assert view["as_of"] == "2027-01-01"
    (ch,) = view["channels"]
    six = [f for f in ch["failing"] if f["rule"] == "lang_6h"]
    assert [(f["window_start"], f["threshold"], f["verdict_now"]) for f in six] == [
        ("2025-11-16T06:00:00+05:00", 0.6, "complies"),  # latest first
        ("2025-11-16T00:00:00+05:00", 0.6, "complies"),
    ]
    assert six[0]["share"] == pytest.approx(21 / 36)
    assert ch["judged"] >= 2


def test_a_stored_window_is_rejudged_from_its_figures() -> None:
    under = {r.id: r for r in what_if(load_pack("kz").rules, as_of=date(2027, 1, 1))}
    stored = {"numerator_s": 5760.0, "base_s": 10000.0, "threshold": 0.55, "verdict": "complies"}
    judged = _rejudged(under, "lang_6h", stored)
    assert judged is not None
    assert (judged["threshold"], judged["verdict"]) == (0.6, "violation")
    count = {"count": 4, "threshold": 4, "verdict": "complies"}
    assert _rejudged(under, "channel_id_day", count)["verdict"] == "complies"  # type: ignore[index]
    assert _rejudged(under, "no_such_rule", stored) is None
