"""The HTTP API without a broker: events by POST, status shape, token, readiness, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from efir.daemon.service import Service
from tests.unit.api.inprocess import AUTH, event, in_process

EVENT = event(title="News")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, Service]]:
    async with in_process(tmp_path) as pair:
        yield pair


async def test_post_needs_the_token_and_commits(client: tuple[httpx.AsyncClient, Service]) -> None:
    http, service = client
    assert (await http.post("/api/v1/events", json=EVENT)).status_code == 401
    bad = await http.post("/api/v1/events", json=EVENT, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    auth = AUTH
    ok = await http.post("/api/v1/events", json=[EVENT, {**EVENT, "duration": -1}], headers=auth)
    assert ok.status_code == 422  # one of two rejected
    body = ok.json()
    assert (body["accepted"], body["rejected"]) == (1, 1)
    assert "duration" in body["results"][1]["reasons"][0]
    assert await service.store.count_events() == 1
    # Dead letters hold raw payloads: they need a token to read.
    assert (await http.get("/api/v1/dead-letters")).status_code == 401
    dead = (await http.get("/api/v1/dead-letters", headers=auth)).json()
    assert len(dead) == 1
    assert dead[0]["source"] == "http"
    assert dead[0]["replay_attempts"] == 0
    # Fix the cause elsewhere, then replay: still invalid, so still rejected,
    # and the letter says so instead of a second one being added.
    for attempt in (1, 2):
        replay = await http.post(
            "/api/v1/dead-letters/replay", json={"ids": [dead[0]["id"]]}, headers=auth
        )
        assert replay.json()["rejected"] == 1
        again = (await http.get("/api/v1/dead-letters", headers=auth)).json()
        assert [(d["id"], d["replay_attempts"]) for d in again] == [(dead[0]["id"], attempt)]


async def test_status_shape_and_metrics(client: tuple[httpx.AsyncClient, Service]) -> None:
    http, _ = client
    await http.post("/api/v1/events", json=EVENT, headers=AUTH)
    status = (await http.get("/api/v1/channels/qaz-tv/status")).json()
    rules = {r["rule"]: r for r in status["rules"]}
    six = rules["lang_6h"]
    assert six["window_start"] == "2025-11-16T12:00:00+05:00"
    assert six["numerator_s"] == 1800.0
    assert six["threshold"] == 0.55
    for key in (
        "base_s",
        "unknown_s",
        "gap_s",
        "share",
        "status",
        "needed_s",
        "slack_s",
        "deadline",
        "budget_s",
    ):
        assert key in six
    assert rules["ads_evening_hour"]["budget_s"] is not None
    assert status["feed"]["state"] == "online"
    assert (await http.get("/api/v1/channels/nope/status")).status_code == 404
    ready = await http.get("/readyz")
    assert ready.status_code == 503  # no broker in this test
    assert ready.json()["checks"]["mqtt"].startswith("disconnected")
    metrics = (await http.get("/metrics")).text
    assert "_created" not in metrics  # no creation-time series per counter child
    for name in (
        "efir_rule_share",
        "efir_rule_needed_seconds",
        "efir_rule_status",
        "efir_feed_state",
        "efir_ingest_queue_depth",
        "efir_events_ingested_total",
    ):
        assert name in metrics
    assert 'efir_rule_threshold{channel="qaz-tv",rule="lang_6h"} 0.55' in metrics
    # The 2027 step, at local midnight of 1 January 2027 (UTC+5).
    assert 'efir_rule_next_threshold{channel="qaz-tv",rule="lang_6h"} 0.6' in metrics
    assert (
        'efir_rule_next_threshold_timestamp_seconds{channel="qaz-tv",rule="lang_6h"} 1.7987436e+09'
        in metrics
    )
    # The last seven days' six-hour intervals, one series each; the current one holds the event.
    assert (
        'efir_window_numerator_seconds{channel="qaz-tv",rule="lang_6h",'
        'window_start="2025-11-16 12:00"} 1800.0' in metrics
    )
    assert 'window_start="2025-11-10 00:00"' in metrics  # local midnight six days before
    assert 'window_start="2025-11-09' not in metrics
    assert 'efir_build_info{version="' in metrics
    openapi = (await http.get("/openapi.json")).json()
    assert "/api/v1/channels/{channel_id}/status" in openapi["paths"]
