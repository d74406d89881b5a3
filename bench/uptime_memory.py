"""Memory of the live state over weeks of uptime, with and without compaction.

Runs the daemon's live path without I/O: per simulated day and channel, the
simulator's dense TV feed (start and end of every segment, spot, promo and
ident) is validated and applied through ``Monitor.apply`` with the clock at
the moment each event reports (a start at its start, an end at its end).
With compaction, each channel is compacted every ``--compact-every-h`` hours
of simulated time exactly as the daemon does it
(``capture``, then ``Monitor.compact`` from the live horizon); an event for a
kept item first hydrates its versions, taken here from the last two days of
events instead of the store. After each day the resident memory (after a full
collection) is read from ``/proc/self/status``.

Each mode runs in its own process so one does not reuse the other's memory.

Usage: python bench/uptime_memory.py [--channels 10] [--days 30] [--compact-every-h 6]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from efir.config.settings import ChannelConfig, Settings
from efir.core.checkpoint import capture
from efir.core.timebase import US_PER_S, to_us
from efir.daemon.monitor import HORIZON_US, Monitor
from efir.schema.asrun import parse_event
from efir.sim.feed import FeedSpec, generate

ALMATY = ZoneInfo("Asia/Almaty")
START = datetime(2026, 9, 1, tzinfo=ALMATY)
REPORT_DAYS = (1, 5, 10, 15, 20, 25, 30, 45, 60)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(channels: int, days: int, compact_every_h: float) -> dict[str, object]:
    """One mode, in this process."""
    ids = [f"tv{i:03d}" for i in range(channels)]
    settings = Settings(channels=[ChannelConfig(id=c) for c in ids])
    monitor = Monitor(settings.profiles(), stale_after_s=300)
    every_us = round(compact_every_h * 3600 * US_PER_S)
    compacted = dict.fromkeys(ids, to_us(START))
    recent: dict[str, dict[str, list[object]]] = {c: {} for c in ids}
    previous: dict[str, dict[str, list[object]]] = {c: {} for c in ids}
    took: list[float] = []
    hydrated = 0
    gc.collect()
    base = rss_mb()
    per_day: dict[int, float] = {}
    items: dict[int, int] = {}
    for day in range(days):
        lo = START + timedelta(days=day)
        for n, cid in enumerate(ids):
            seed = day * channels + n
            spec = FeedSpec(cid, phases="start_end", segment_s=(180, 600), spots=(5, 9), seed=seed)
            previous[cid], recent[cid] = recent[cid], {}
            for payload in generate(spec, lo, lo + timedelta(days=1)):
                payload["event_id"] = f"d{day}-{payload['event_id']}"  # unique across days
                raw = json.dumps(payload).encode()
                event = parse_event(raw, now_us=1 << 62)
                # Received when it happened: a start at the start, an end at the end.
                now = (event.start or 0) + (0 if event.phase == "start" else event.duration or 0)
                if every_us and now - compacted[cid] >= every_us:
                    ch = monitor.channels[cid]
                    t = time.perf_counter()
                    data = capture(ch.engine, now)
                    monitor.compact(cid, data, since=now - HORIZON_US, upto=0)
                    took.append(time.perf_counter() - t)
                    compacted[cid] = now
                if monitor.needs_history(event):
                    stored = previous[cid].get(event.event_id, []) + recent[cid].get(
                        event.event_id, []
                    )
                    monitor.hydrate(cid, event.event_id, stored, now)  # type: ignore[arg-type]
                    hydrated += 1
                recent[cid].setdefault(event.event_id, []).append(event)
                monitor.apply(event, now, now)
        if day + 1 in REPORT_DAYS or day + 1 == days:
            gc.collect()
            per_day[day + 1] = round((rss_mb() - base) / channels, 1)
            items[day + 1] = sum(len(c.engine.book) for c in monitor.channels.values())
    t = time.perf_counter()
    gc.collect()
    full_gc = time.perf_counter() - t
    return {
        "compact_every_h": compact_every_h,
        "mb_per_channel_after_day": per_day,
        "items_held_after_day": items,
        "compaction_ms_median": round(1000 * statistics.median(took), 1) if took else None,
        "compaction_ms_max": round(1000 * max(took), 1) if took else None,
        "compactions": len(took),
        "hydrations": hydrated,
        "full_gc_s_at_end": round(full_gc, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--compact-every-h", type=float, default=6.0)
    parser.add_argument("--one", action="store_true", help="run one mode in this process")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run(args.channels, args.days, args.compact_every_h)))
        return
    report = []
    for every in (0.0, args.compact_every_h):
        out = subprocess.run(  # noqa: S603 - this script, with our own arguments
            [
                sys.executable,
                __file__,
                "--one",
                f"--channels={args.channels}",
                f"--days={args.days}",
                f"--compact-every-h={every}",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        report.append(json.loads(out.stdout))
    print(json.dumps({"channels": args.channels, "days": args.days, "runs": report}, indent=2))


if __name__ == "__main__":
    main()
