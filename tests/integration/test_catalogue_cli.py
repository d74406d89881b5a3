"""``efir catalog import`` and ``efir catalog unknown`` against a running daemon."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.integration.live import api, running, settings_for
from tests.services import Mosquitto, free_port, unique_prefix

pytestmark = pytest.mark.integration


async def test_import_and_worklist_from_the_command_line(tmp_path: Path) -> None:
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    settings = settings_for(
        db_url=f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", mqtt_url=broker.url,
        prefix=unique_prefix(), data_dir=tmp_path / "data",
    )  # fmt: skip
    day = datetime.now(UTC).astimezone(ZoneInfo("Asia/Almaty")).replace(
        hour=6, minute=0, second=0, microsecond=0
    ) - timedelta(days=1)
    events = [
        {"schema": "efir.asrun/1", "channel": "qaz-tv", "event_id": f"x{i}", "phase": "complete",
         "start": (day + timedelta(hours=i)).isoformat(), "duration": 3600, "kind": "program",
         "origin": "domestic", "house_id": "SER-9" if i % 2 else f"N-{i}",
         "language": None if i % 2 else "kk", "title": "Серия" if i % 2 else "Жаңалықтар"}
        for i in range(6)
    ]  # fmt: skip
    catalogue = tmp_path / "house.csv"
    catalogue.write_text("house_id,language,title\nSER-9,kk,Серия\nBAD,kz,\n", encoding="utf-8")
    try:
        async with running(settings) as service, api(service) as http:
            posted = await http.post(
                "/api/v1/events", json=events, headers={"Authorization": "Bearer test-token"}
            )
            assert posted.status_code == 200, posted.text
            env = {
                **os.environ, "EFIR_URL": f"http://127.0.0.1:{service.http_port}",
                "EFIR_API_TOKEN": "test-token",
            }  # fmt: skip
            efir = [sys.executable, "-m", "efir", "catalog"]

            async def run(*args: str) -> tuple[int, str, str]:
                proc = await asyncio.create_subprocess_exec(
                    *efir, *args, env=env, stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                out, errors = await asyncio.wait_for(proc.communicate(), 60)
                return proc.returncode or 0, out.decode(), errors.decode()

            code, out, errors = await run("unknown", "--channel", "qaz-tv", "--csv")
            assert code == 0, errors
            lines = out.splitlines()
            assert lines[1].startswith("house_id,SER-9,Серия,program,language,10800,3")
            code, _, errors = await run("import", str(catalogue), "--by", "aigerim")
            assert code == 2, errors  # one row refused
            assert "house.csv:3: language 'kz'" in errors
            assert "1 entries put" in errors
            assert "recounted: qaz-tv" in errors
            code, out, errors = await run("unknown", "--channel", "qaz-tv", "--csv")
            assert code == 0, errors
            assert out.splitlines()[1:] == []  # nothing left to classify
    finally:
        broker.stop()
