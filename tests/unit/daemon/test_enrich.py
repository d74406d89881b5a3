"""A channel's ``classify:``: live events classified at ingest and at restart, payloads kept."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from efir.config.settings import ChannelConfig, load_settings
from efir.core.channel import ChannelProfile
from efir.core.event import Kind
from efir.daemon.checkpoints import parse_stored
from efir.daemon.enrich import Enrichment
from efir.daemon.ingest import Inbound, Ingest
from efir.daemon.monitor import Monitor
from efir.metrics import Metrics
from efir.readers.classify import build_classifier, classify_payload
from efir.store import Store

RULES = {
    "default": {"kind": "program"},
    "rules": [
        {
            "when": {"house_id": {"prefix": "COM"}, "raw.Lang": {"equals": "KAZ"}},
            "set": {"kind": "advertising", "language": "kk"},
        },
        {"when": {"house_id": {"prefix": "COM"}}, "set": {"kind": "advertising"}},
    ],
}
START = {
    "schema": "efir.asrun/1",
    "channel": "qaz-tv",
    "event_id": "spot-1",
    "phase": "start",
    "start": "2026-11-16T10:00:00+05:00",
    "duration": 3600,
    "house_id": "COM0042",
    "raw": {"Lang": "KAZ"},
}
NOW = 1_794_807_000_000_000  # 2026-11-16T10:30+05:00, half-way through the item


async def test_ingest_classifies_what_it_counts_and_stores_what_arrived(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'e.db'}")
    await store.open()
    enrichment = Enrichment({"qaz-tv": build_classifier(RULES, "classify")})
    monitor = Monitor([ChannelProfile("qaz-tv"), ChannelProfile("other")], stale_after_s=300)
    ingest = Ingest(
        store,
        monitor,
        Metrics(),
        now_us=lambda: NOW,
        queue_max=10,
        batch_max=10,
        enrichment=enrichment,
    )
    writer = asyncio.create_task(ingest.run())
    payload = json.dumps(START).encode()
    other = json.dumps({**START, "channel": "other"}).encode()
    for body, channel in ((payload, "qaz-tv"), (other, "other")):
        await ingest.submit(Inbound(body, "mqtt", NOW, channel=channel, ack=lambda: None))
    await asyncio.wait_for(ingest.idle(), 10)
    item = monitor.channels["qaz-tv"].engine.on_air(NOW)
    assert item is not None
    assert item.event.kind is Kind.ADVERTISING
    assert item.event.language == "kk"
    # No rules for that channel: a start without a kind is refused (dead-lettered).
    assert monitor.channels["other"].engine.on_air(NOW) is None
    stored = await store.load_events("qaz-tv", 0)
    assert [p for p, _ in stored] == [payload]  # the payload as it arrived
    # A restart reads the stored payload back through the same rules.
    (again,) = parse_stored("qaz-tv", stored, enrichment)
    assert (again.kind, again.language) == (Kind.ADVERTISING, "kk")
    assert parse_stored("qaz-tv", stored) == []  # without the rules it has no kind
    writer.cancel()
    await store.close()


def test_only_the_phases_that_bring_an_item_are_classified() -> None:
    classifiers = {"qaz-tv": build_classifier(RULES, "classify")}
    end = json.dumps({**START, "phase": "end"}).encode()
    assert classify_payload(classifiers, end) == end
    for hostile in (b"", b"[" * 10_000, b"x" * 100_000, b'{"phase": "start"}', b"\xff\xfe"):
        assert classify_payload(classifiers, hostile) == hostile


def test_the_configuration_names_a_rule_that_cannot_work(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"classify: rules\.0\.when\.title\.regex"):
        ChannelConfig(
            id="qaz-tv",
            classify={
                "rules": [{"when": {"title": {"regex": "("}}, "set": {"kind": "advertising"}}]
            },
        )
    rules = tmp_path / "rules.yaml"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    config = tmp_path / "efir.yaml"
    config.write_text(f"channels:\n  - id: qaz-tv\n    classify: {rules}\n", encoding="utf-8")
    settings = load_settings(config=str(config))
    assert Enrichment.of(settings).classifiers.keys() == {"qaz-tv"}
    config.write_text(
        "channels:\n  - id: qaz-tv\n    classify: /nowhere/rules.yaml\n", encoding="utf-8"
    )
    with pytest.raises(Exception, match=r"classify: cannot read /nowhere/rules\.yaml"):
        load_settings(config=str(config))
