"""Benchmark: `efir audit` against its DuckDB peer (`audit_peer.py`), side by side.

Runs the two whole commands in alternating order (efir then peer, then peer
then efir, ...) on the same file, each in a fresh process, and reports per
run the wall time and the peak resident memory of the process (its
`ru_maxrss`, from `wait4`), the medians and the ratio efir / peer of each
pair. The first Efir report is checked against the peer, window by window
(`audit_peer.py --check`), and every report against the first.

Usage: python bench/audit_vs_peer.py YEAR.jsonl [--pairs 3] [--efir-arg ARG ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from audit_throughput import machine

HERE = Path(__file__).resolve().parent


def timed(command: list[str]) -> tuple[float, float, int]:
    """Run ``command``; return (wall s, peak RSS MB, exit code)."""
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def comparable(report: Path) -> dict[str, object]:
    data = json.loads(report.read_text(encoding="utf-8"))
    data.pop("generated_at", None)
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--efir-arg", action="append", default=[], help="extra efir audit argument")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp())
    efir = [sys.executable, "-m", "efir", "audit", str(args.events), "--format", "json"]
    peer = [sys.executable, str(HERE / "audit_peer.py"), str(args.events)]
    runs: dict[str, list[tuple[float, float]]] = {"efir": [], "peer": []}
    ratios: list[float] = []
    reports: list[Path] = []
    for n in range(2 * args.pairs):
        order = ("efir", "peer") if n % 2 == 0 else ("peer", "efir")
        got: dict[str, tuple[float, float]] = {}
        for who in order:
            if who == "efir":
                report = out / f"efir{n}.json"
                wall, rss, code = timed([*efir, "-o", str(report), *args.efir_arg])
                if code not in (0, 1):  # 1: violations found
                    msg = f"efir audit failed ({code})"
                    raise SystemExit(msg)
                reports.append(report)
            else:
                wall, rss, code = timed(peer)
                if code != 0:
                    msg = f"the peer failed ({code})"
                    raise SystemExit(msg)
            got[who] = (wall, rss)
            runs[who].append((wall, rss))
        ratios.append(got["efir"][0] / got["peer"][0])
    check = subprocess.run(  # noqa: S603
        [*peer, "--check", str(reports[0])], capture_output=True, text=True, check=False
    )
    first = comparable(reports[0])
    same_reports = all(comparable(r) == first for r in reports[1:])
    result = {
        "benchmark": "audit_vs_peer",
        "machine": machine(),
        "input": {"file": str(args.events), "bytes": args.events.stat().st_size},
        "efir_args": args.efir_arg,
        "runs": {
            who: [{"wall_s": round(w, 3), "peak_rss_mb": round(m, 1)} for w, m in values]
            for who, values in runs.items()
        },
        "median_wall_s": {w: round(statistics.median(v[0] for v in r), 3) for w, r in runs.items()},
        "median_peak_rss_mb": {
            w: round(statistics.median(v[1] for v in r), 1) for w, r in runs.items()
        },
        "wall_ratio_efir_over_peer": {
            "median": round(statistics.median(ratios), 3),
            "min": round(min(ratios), 3),
            "max": round(max(ratios), 3),
        },
        "peer_equals_efir": check.returncode == 0,
        "peer_check": check.stdout.strip().splitlines()[-1:],
        "efir_reports_identical": same_reports,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
