"""The store's report audits parsed events exactly as ``efir audit`` audits their file."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from efir.audit.run import audit_events, run_audit
from efir.core.channel import ChannelProfile
from efir.readers.base import OFFLINE_NOW_US
from efir.rulepacks import load_pack
from efir.schema.asrun import parse_event
from efir.sim.feed import FeedSpec, generate

ALMATY = ZoneInfo("Asia/Almaty")


def test_the_same_events_give_the_same_windows(tmp_path: Path) -> None:
    start = datetime(2026, 3, 2, tzinfo=ALMATY)
    payloads = list(
        generate(
            FeedSpec("qaz-tv", phases="start_end", scenario="risky"),
            start,
            start + timedelta(days=2),
        )
    )
    path = tmp_path / "days.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in payloads), encoding="utf-8")
    pack, channel = load_pack("kz"), ChannelProfile("qaz-tv")
    audited = run_audit(
        [path], channel=channel, channel_given=True, pack=pack, start="2026-03-02",
        end="2026-03-03", input_format=None, now_us=OFFLINE_NOW_US, split=False,
    )  # fmt: skip
    events = [parse_event(json.dumps(p).encode(), now_us=OFFLINE_NOW_US) for p in payloads]
    stored = audit_events(
        events, channel=channel, pack=pack, start_us=audited.period.start,
        end_us=audited.period.end, source="store",
    )  # fmt: skip
    assert stored.windows == audited.windows
    assert any(w.verdict == "violation" for w in stored.windows)
