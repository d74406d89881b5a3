"""Hostile catalogue input on PostgreSQL and SQLite: refused with a reason, nothing else lost."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.live import api, running, settings_for
from tests.services import Mosquitto, free_port, unique_prefix

pytestmark = pytest.mark.integration
AUTH = {"Authorization": "Bearer test-token"}


async def test_hostile_catalogue_input_is_refused_and_the_rest_kept(
    db_url: str, tmp_path: Path
) -> None:
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    settings = settings_for(
        db_url=db_url, mqtt_url=broker.url, prefix=unique_prefix(), data_dir=tmp_path / "data"
    )
    good = {"key_field": "house_id", "key": "H-1", "language": "kk"}
    try:
        async with running(settings) as service, api(service) as http:
            for entry in (
                {**good, "key": "H\x00NUL"},
                {**good, "title": "a\x00b"},
                {**good, "tags": ["ok", "x\x01"]},
                {**good, "key": "k" * 129},
                {**good, "language": "kz"},
                {**good, "kk_fraction": 2},
            ):
                got = await http.put(
                    "/api/v1/catalogue", json={"by": "t", "entries": [entry]}, headers=AUTH
                )
                assert got.status_code == 422, (entry, got.text)
            deep = '{"by": "t", "entries": [' + '{"a": ' * 5000 + "1" + "}" * 5000 + "]}"
            got = await http.put(
                "/api/v1/catalogue", content=deep,
                headers={**AUTH, "content-type": "application/json"},
            )  # fmt: skip
            assert got.status_code in (400, 422)
            csv = (
                "house_id,language,title\nH-2,kk,ok\nH-3,kk,bad\x00title\n"
                "H-4,ru," + "x" * 300 + "\n"
            )
            got = await http.post(
                "/api/v1/catalogue/import", params={"by": "t", "name": "h.csv"},
                content=csv.encode(), headers=AUTH,
            )  # fmt: skip
            assert got.status_code == 200, got.text
            assert [r["row"] for r in got.json()["refused"]] == [3]
            huge = await http.post(
                "/api/v1/catalogue/import", params={"by": "t"}, content=b"a" * (65 * 1024 * 1024),
                headers=AUTH,
            )  # fmt: skip
            assert huge.status_code == 400
            ok = await http.put(
                "/api/v1/catalogue", json={"by": "t", "entries": [good]}, headers=AUTH
            )
            assert ok.status_code == 200, ok.text
            keys = sorted(e["key"] for e in (await http.get("/api/v1/catalogue")).json())
            assert keys == ["H-1", "H-2", "H-4"]
    finally:
        broker.stop()
