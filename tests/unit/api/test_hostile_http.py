"""Hostile HTTP input: a 4xx and a dead letter, bounded work, bounded answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from efir.api.events import MAX_BODY_BYTES
from efir.daemon.ingest import Inbound
from efir.daemon.service import Service
from tests.unit.api.inprocess import AUTH, NOW, event, in_process


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    async with in_process(tmp_path) as pair:
        yield pair


async def _letters(http: httpx.AsyncClient, **params: object) -> list[dict[str, object]]:
    answer = await http.get("/api/v1/dead-letters", params=params, headers=AUTH)
    assert answer.status_code == 200
    return answer.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        # A lone surrogate, escaped and as raw bytes (invalid UTF-8).
        (json.dumps(event()).replace('"p1"', '"\\ud800"').encode(), "malformed_json"),
        (
            json.dumps(event()).replace('"p1"', '"p\xed\xa0\x80"').encode("latin-1"),
            "malformed_json",
        ),
        # Arrays nested 100,000 deep (over the event size too), 30,000 deep,
        # and as one element of a batch (the batch is refused whole).
        (b"[" * 100_000 + b"]" * 100_000, "oversized"),
        (b"[" * 30_000 + b"]" * 30_000, "too_deep"),
        (b"[" + json.dumps(event()).encode() + b"," + b"[" * 30_000 + b"]" * 30_001, "too_deep"),
        (b'{"schema": "efir.asrun/1", "x": ' + b"{" * 60_000, "too_deep"),
    ],
)
async def test_malformed_bodies_give_422_and_a_dead_letter(
    client: tuple[httpx.AsyncClient, Service], body: bytes, code: str
) -> None:
    http, service = client
    answer = await http.post("/api/v1/events", content=body, headers=AUTH)
    assert answer.status_code == 422
    assert answer.json()["results"][0]["code"] == code
    letters = await _letters(http)
    assert [d["code"] for d in letters] == [code]
    assert letters[0]["payload_size"] == len(body)
    assert await service.store.count_events() == 0


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    client: tuple[httpx.AsyncClient, Service],
) -> None:
    http, service = client
    big = b"[" + b" " * (MAX_BODY_BYTES + 10) + b"]"
    answer = await http.post("/api/v1/events", content=big, headers=AUTH)
    assert answer.status_code == 413
    (letter,) = await _letters(http, payload_chars=0)
    assert letter["code"] == "oversized"
    assert letter["payload_size"] == len(big)
    assert letter["payload_truncated"] is True

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b" " * 65536

    answer = await http.post("/api/v1/events", content=chunks(), headers=AUTH)
    assert answer.status_code == 413
    assert len(await _letters(http)) == 2
    assert await service.store.count_events() == 0


async def test_an_oversized_payload_keeps_a_prefix_its_size_and_hash(
    client: tuple[httpx.AsyncClient, Service],
) -> None:
    http, service = client
    huge = json.dumps(event(title="x" * 5_000_000)).encode()
    (outcome,) = await service.ingest.submit_all(
        [Inbound(huge, "mqtt", NOW, "asrun/qaz-tv/event", "qaz-tv")]
    )
    assert outcome.code == "oversized"
    (row,) = await service.store.dead_by_id([1])
    assert len(row["payload"]) == 4096
    assert row["payload_size"] == len(huge)
    assert row["payload_sha256"] == hashlib.sha256(huge).hexdigest()
    (letter,) = await _letters(http, payload_chars=65536)
    assert letter["payload_truncated"] is True
    assert letter["payload_size"] == len(huge)
    assert len(letter["payload"]) == 4096


async def test_dead_letters_come_in_pages_of_bounded_size(
    client: tuple[httpx.AsyncClient, Service],
) -> None:
    http, service = client
    payloads = [json.dumps({"n": i, "pad": "y" * 60_000}).encode() for i in range(130)]
    await service.ingest.submit_and_wait(payloads, "http")
    first = await http.get("/api/v1/dead-letters", params={"limit": 100}, headers=AUTH)
    page = first.json()
    assert len(page) == 100
    assert all(len(d["payload"]) == 1024 and d["payload_truncated"] for d in page)
    assert len(first.content) < 200_000
    nxt = first.links["next"]["url"]
    rest = (await http.get(nxt, headers=AUTH)).json()
    assert len(rest) == 30
    assert {d["id"] for d in page}.isdisjoint(d["id"] for d in rest)
    assert "next" not in (await http.get(nxt, headers=AUTH)).links
    assert (
        await http.get("/api/v1/dead-letters", params={"limit": 101}, headers=AUTH)
    ).status_code == 422


async def test_replay_runs_the_checks_of_live_ingest_and_updates_the_letter(
    client: tuple[httpx.AsyncClient, Service],
) -> None:
    """A letter sent on another channel's topic must not land in the payload's channel."""
    http, service = client
    wrong = json.dumps(event("w1")).encode()
    await service.ingest.submit_all([Inbound(wrong, "mqtt", NOW, "asrun/other/event", "other")])
    (letter,) = await _letters(http)
    assert letter["code"] == "unknown_channel"
    replay = await http.post(
        "/api/v1/dead-letters/replay", json={"ids": [letter["id"]]}, headers=AUTH
    )
    assert replay.json()["rejected"] == 1
    assert await service.store.count_events() == 0
    (again,) = await _letters(http)
    assert (again["id"], again["replay_attempts"]) == (letter["id"], 1)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"to": "2125-11-16T00:00:00+05:00"}, "at most 8 days from now"),
        ({"to": "3026-01-01T00:00:00Z"}, "at most 8 days from now"),
        ({"to": "9999-12-31T23:59:59+00:00"}, "at most 8 days from now"),
        ({"to": "9999-12-31T23:59:59-14:00"}, "at most 8 days from now"),
        ({"to": "0001-01-01T00:00:00+14:00"}, "2000-01-01 or later"),
        ({"from": "0001-01-01T00:00:00+05:00"}, "2000-01-01 or later"),
        ({"from": "2023-01-01T00:00:00Z"}, "spans at most 366 days"),
        ({"from": "2025-11-17T00:00:00Z", "to": "2025-11-16T00:00:00Z"}, "must be after"),
        ({"from": "yesterday"}, "must be an RFC 3339 time"),
    ],
)
async def test_window_ranges_are_bounded(
    client: tuple[httpx.AsyncClient, Service], params: dict[str, str], expected: str
) -> None:
    http, _ = client
    answer = await http.get("/api/v1/channels/qaz-tv/windows", params=params)
    assert answer.status_code == 422
    assert expected in answer.json()["detail"]


async def test_a_window_range_within_the_limits_is_answered(
    client: tuple[httpx.AsyncClient, Service],
) -> None:
    http, _ = client
    await http.post("/api/v1/events", json=event(), headers=AUTH)
    answer = await http.get(
        "/api/v1/channels/qaz-tv/windows",
        params={"from": "2025-11-16T00:00:00+05:00", "to": "2025-11-24T00:00:00+05:00"},
    )
    assert answer.status_code == 200
    assert any(w["numerator_s"] == 1800.0 for w in answer.json()["windows"])


@pytest.mark.parametrize(
    "path", ["/api/v1/dead-letters", "/api/v1/deliveries", "/api/v1/receivers"]
)
async def test_reads_that_reveal_payloads_or_settings_need_a_token(
    tmp_path: Path, path: str
) -> None:
    async with in_process(tmp_path, api_read_token="reader") as (http, _):  # noqa: S106
        assert (await http.get(path)).status_code == 401
        bad = {"Authorization": "Bearer nope"}
        assert (await http.get(path, headers=bad)).status_code == 401
        for token in ("reader", "s3cret"):  # the read token, or the write token
            answer = await http.get(path, headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 200, token
        # The read token does not mutate.
        replay = await http.post(
            "/api/v1/dead-letters/replay",
            json={"ids": [1]},
            headers={"Authorization": "Bearer reader"},
        )
        assert replay.status_code == 401
    async with in_process(tmp_path / "none", api_token=None) as (http, _):
        assert (await http.get(path)).status_code == 403
