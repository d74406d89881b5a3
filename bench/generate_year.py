"""Write a generated channel-year of as-run events (JSON lines) for the audit benchmark.

Dense TV feed: programme segments of 3-10 min between ad breaks of 5-9 spots,
promos and idents, each item sent as a `start` and an `end` message (what a
live adapter records): about 1.1 million events for a year.

Usage: python bench/generate_year.py OUT.jsonl [--days 365]
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from efir.sim.feed import FeedSpec, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    start = datetime(2025, 1, 1, tzinfo=UTC) - timedelta(hours=5)  # 2025-01-01 00:00 +05
    spec = FeedSpec("bench-tv", phases="start_end", segment_s=(180, 600), spots=(5, 9), seed=2026)
    count = 0
    with args.out.open("w", encoding="utf-8") as handle:
        for payload in generate(spec, start, start + timedelta(days=args.days)):
            handle.write(json.dumps(payload, separators=(",", ":")))
            handle.write("\n")
            count += 1
    print(f"{count} events, {args.out.stat().st_size / 1e6:.1f} MB -> {args.out}")


if __name__ == "__main__":
    main()
