"""Benchmark: the cost of one live update as the week fills.

Feeds a channel engine a week of events one by one (`apply`, the live path:
start then end per item), and at each simulated day measures over 300
further updates: the mean time of `apply` alone and of `apply` followed by a
full status evaluation of every active rule (what the daemon does per event).
Cost should stay flat as history grows: O(windows touched), not O(history).

Usage: python bench/live_update.py
"""

from __future__ import annotations

import gc
import json
import time
from datetime import UTC, datetime, timedelta

from audit_throughput import machine  # sibling script in bench/
from efir.core.channel import ChannelProfile
from efir.core.engine import ChannelEngine
from efir.rulepacks import load_pack
from efir.schema.asrun import parse_event
from efir.sim.feed import FeedSpec, generate

SAMPLE = 300


def main() -> None:
    start = datetime(2025, 3, 3, tzinfo=UTC) - timedelta(hours=5)  # Monday 00:00 +05
    spec = FeedSpec("live-tv", phases="start_end", seed=7)
    payloads = list(generate(spec, start, start + timedelta(days=7, hours=2)))
    # Validation happens outside the timed loop: this measures the engine.
    events = [parse_event(json.dumps(p), now_us=1 << 62) for p in payloads]
    engine = ChannelEngine(ChannelProfile("live-tv"), load_pack("kz").rules)
    per_day = len(events) // 7
    rows = []
    gc.collect()
    for day in range(7):
        done = day * per_day
        for event in events[done : done + per_day - SAMPLE]:
            engine.apply(event)
        sample = events[done + per_day - SAMPLE : done + per_day]
        t0 = time.perf_counter()
        for event in sample[: SAMPLE // 2]:
            engine.apply(event)
        t1 = time.perf_counter()
        for event in sample[SAMPLE // 2 :]:
            engine.apply(event)
            engine.status(event.start or 0)
        t2 = time.perf_counter()
        rows.append(
            {
                "day_of_week": day + 1,
                "items_in_ledger": len(engine.book),
                "apply_us": round((t1 - t0) / (SAMPLE // 2) * 1e6, 2),
                "apply_and_status_us": round((t2 - t1) / (SAMPLE - SAMPLE // 2) * 1e6, 1),
            }
        )
    report = {"benchmark": "live_update", "machine": machine(), "rules": len(engine.rules)}
    print(json.dumps({**report, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
