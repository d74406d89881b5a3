"""Ingest: acknowledged only after commit; any bytes either count or go to dead letters."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from efir.core.channel import ChannelProfile
from efir.daemon.ingest import Inbound, Ingest
from efir.daemon.monitor import Monitor
from efir.metrics import Metrics
from efir.store import Store, StoreUnavailableError
from efir.store.database import DeadLetter, EventRow

GOOD = {
    "schema": "efir.asrun/1",
    "channel": "qaz-tv",
    "event_id": "e1",
    "start": "2026-11-16T10:00:00+05:00",
    "duration": 60,
    "kind": "program",
    "language": "kk",
}
NOW = 1_794_808_800_000_000  # 2026-11-16T11:00+05:00, an hour after the event


class FlakyStore(Store):
    """Fails the first ``failures`` commits, as a database that is away."""

    def __init__(self, url: str, failures: int) -> None:
        super().__init__(url)
        self.failures = failures

    async def save(self, rows: Sequence[EventRow], dead: Sequence[DeadLetter]) -> dict[int, str]:
        if self.failures:
            self.failures -= 1
            msg = "connection refused"
            raise StoreUnavailableError(msg)
        return await super().save(rows, dead)


async def test_acknowledged_only_after_the_commit(tmp_path: Path) -> None:
    store = FlakyStore(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}", failures=3)
    await store.open()
    monitor = Monitor([ChannelProfile("qaz-tv")], stale_after_s=300)
    ingest = Ingest(store, monitor, Metrics(), now_us=lambda: NOW, queue_max=10, batch_max=10)
    acked: list[bool] = []
    writer = asyncio.create_task(ingest.run())
    await ingest.submit(
        Inbound(
            json.dumps(GOOD).encode(),
            "mqtt",
            NOW,
            channel="qaz-tv",
            ack=lambda: acked.append(True),
        )
    )
    await asyncio.sleep(0.3)
    assert acked == []  # the database refused: nothing acknowledged, nothing counted
    assert ingest.store_error == "connection refused"
    assert monitor.channels["qaz-tv"].events == 0
    await asyncio.wait_for(ingest.idle(), 10)
    assert acked == [True]  # once, after the commit
    assert await store.count_events() == 1
    assert monitor.channels["qaz-tv"].events == 1
    assert ingest.store_error is None
    writer.cancel()
    await store.close()


@given(st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_any_bytes_are_accepted_or_dead_lettered(payload: bytes) -> None:
    monitor = Monitor([ChannelProfile("qaz-tv")], stale_after_s=300)
    ingest = Ingest(
        Store("sqlite+aiosqlite://"),
        monitor,
        Metrics(),
        now_us=lambda: NOW,
        queue_max=10,
        batch_max=1,
    )
    event, outcome, row, letter = ingest._check(Inbound(payload, "mqtt", NOW, channel="qaz-tv"))
    if outcome.accepted:
        assert event is not None
        assert row is not None
        assert letter is None
    else:
        assert letter is not None
        assert letter.reason
        assert letter.code
        assert letter.payload == payload
