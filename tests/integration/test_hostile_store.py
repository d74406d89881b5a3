"""Hostile input against the real databases: a data error concerns one row, never the store.

On PostgreSQL a value the database cannot hold (U+0000 in text, a value
wider than its column) used to be retried as "store unavailable" forever,
freezing ingest. Now the row is dead-lettered with the database's reason and
everything around it is stored. The property test pushes any bytes through
the ingest path on PostgreSQL and SQLite: each commits an event or a dead
letter, and the writer goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings
from efir.daemon.ingest import Inbound
from efir.daemon.service import Service
from efir.store import Store
from efir.store.database import DeadLetter, EventRow
from efir.store.tables import dead_letters
from tests.hostile import payloads, samples
from tests.unit.api.inprocess import NOW, event, writing

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def _service(db_url: str) -> AsyncIterator[Service]:
    service = build(
        Settings(
            database_url=db_url,
            mqtt_url="mqtt://127.0.0.1:1",
            channels=[ChannelConfig(id="qaz-tv")],
            checkpoint_every_s=0,
        ),
        now_us=lambda: NOW,
    )
    async with writing(service):
        yield service


def _row(event_id: str, n: int) -> EventRow:
    return EventRow("qaz-tv", event_id, "complete", NOW, f"{n:064d}", NOW, "mqtt", b"{}")


async def _count_letters(store: Store) -> int:
    async with store.engine.connect() as conn:
        return int(
            (await conn.execute(select(func.count()).select_from(dead_letters))).scalar_one()
        )


async def test_rows_the_database_cannot_hold_are_dead_lettered_and_the_rest_stored(
    db_url: str,
) -> None:
    store = Store(db_url)
    await store.open()
    try:
        rows = [_row("ok-1", 1), _row("nul\x00id", 2), _row("i" * 200, 3), _row("ok-2", 4)]
        dead = [
            DeadLetter(NOW, "mqtt", "t" * 5000, "c" * 300, "unknown_channel", "why\x00", b"x"),
            DeadLetter(NOW, "http", None, None, "invalid", "bad", b"y" * 200_000),
        ]
        refused = await store.save(rows, dead)
        postgres = store.dialect == "postgresql"
        # SQLite holds U+0000 and does not enforce varchar widths; PostgreSQL does.
        assert sorted(refused) == ([1, 2] if postgres else [])
        assert await store.count_events() == (2 if postgres else 4)
        letters = await store.dead(limit=10)
        assert len(letters) == (4 if postgres else 2)
        by_code: dict[str, list[dict[str, object]]] = {}
        for d in letters:
            by_code.setdefault(str(d["code"]), []).append(d)
        (unknown,) = by_code["unknown_channel"]
        assert unknown["channel_id"] == "c" * 64  # fitted to its column, still not a channel
        assert unknown["topic"] == "t" * 512
        assert "\x00" not in str(unknown["reason"])
        (big,) = by_code["invalid"]
        assert (len(big["payload"]), big["payload_size"]) == (4096, 200_000)  # type: ignore[arg-type]
        if postgres:
            reasons = [str(d["reason"]) for d in by_code["unstorable"]]
            assert len(reasons) == 2
            assert all(r.startswith("the database refused the event: ") for r in reasons)
    finally:
        await store.close()


async def test_ingest_goes_on_past_payloads_the_database_cannot_hold(db_url: str) -> None:
    """The two payloads that froze ingest on PostgreSQL, then a good event behind them."""
    async with _service(db_url) as service:
        nul = json.dumps(event("bad\x00id")).encode()
        long_topic = "c" * 100
        good = json.dumps(event("good")).encode()
        outcomes = await asyncio.wait_for(
            service.ingest.submit_all(
                [
                    Inbound(nul, "mqtt", NOW, "asrun/qaz-tv/event", "qaz-tv"),
                    Inbound(good, "mqtt", NOW, f"asrun/{long_topic}/event", long_topic),
                    Inbound(good, "mqtt", NOW, "asrun/qaz-tv/event", "qaz-tv"),
                ]
            ),
            timeout=10,
        )
        assert [o.code for o in outcomes] == ["invalid_field", "unknown_channel", None]
        assert service.ingest.store_error is None
        assert service.readiness()["store"] == "ok"
        assert await service.store.count_events() == 1
        assert await _count_letters(service.store) == 2


async def test_any_bytes_through_ingest_commit_an_event_or_a_dead_letter(db_url: str) -> None:
    """Property: up to 100 KB, nesting up to 10,000, on PostgreSQL and SQLite."""
    good = event("g")
    drawn: list[bytes] = samples(payloads(good), 300)
    drawn.append(json.dumps(good).encode())
    async with _service(db_url) as service:
        for start in range(0, len(drawn), 50):
            chunk = drawn[start : start + 50]
            items = [Inbound(p, "mqtt", NOW, "asrun/qaz-tv/event", "qaz-tv") for p in chunk]
            outcomes = await asyncio.wait_for(service.ingest.submit_all(items), timeout=30)
            for payload, outcome in zip(chunk, outcomes, strict=True):
                assert outcome.accepted or (outcome.code and outcome.reasons), payload[:200]
        assert service.ingest.store_error is None
        accepted = service.ingest.committed
        letters = await _count_letters(service.store)
        assert accepted + letters == len(drawn)
        assert letters >= len(drawn) // 2
        assert await service.store.count_events() >= 1


async def test_a_stored_row_that_no_longer_parses_is_skipped_at_restart(db_url: str) -> None:
    """A row nested 974 deep was accepted by the old schema; every later start crashed on it."""
    deep = b'{"schema": "efir.asrun/1", "channel": "qaz-tv", "event_id": "deep", ' + (
        b'"start": "2025-11-16T12:00:00+05:00", "duration": 60, "kind": "program", "x": '
        + b"[" * 974
        + b"]" * 974
        + b"}"
    )
    good = json.dumps(event("good")).encode()
    store = Store(db_url)
    await store.open()
    try:
        rows = [
            EventRow("qaz-tv", "deep", "complete", NOW, "d" * 64, NOW, "mqtt", deep),
            EventRow("qaz-tv", "good", "complete", NOW, "g" * 64, NOW, "mqtt", good),
        ]
        assert await store.save(rows, []) == {}
    finally:
        await store.close()
    async with _service(db_url) as service:  # opening replays the stored rows
        book = service.monitor.channels["qaz-tv"].engine.book
        assert book.item("good") is not None
        assert book.item("deep") is None
