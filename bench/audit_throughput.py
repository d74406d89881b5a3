"""Benchmark: events per second through `efir audit` on a generated channel-year.

Measures the whole command (`python -m efir audit YEAR --format json`, wall
clock, best of N runs; as it runs by default, with a second process reading
part of the input, and with `--single-process`) and, in one process, where
the time goes: reading and validation, lifecycle + accounting (bulk load),
window evaluation, report.

Usage: python bench/audit_throughput.py [--events-file F] [--runs 3]
(generates bench data with bench/generate_year.py when no file is given).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from efir.audit.report import to_json
from efir.audit.run import AuditResult, InputStats, _period
from efir.core.channel import ChannelProfile
from efir.core.engine import ChannelEngine
from efir.readers.base import ReadOptions
from efir.readers.jsonl import JsonLinesReader
from efir.rulepacks import load_pack

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def phases(path: Path) -> dict[str, float]:
    gc.disable()  # as run_audit does for its load
    t0 = time.perf_counter()
    events = [e for e in JsonLinesReader().read(path, ReadOptions()) if not hasattr(e, "reasons")]
    t1 = time.perf_counter()
    pack = load_pack("kz")
    engine = ChannelEngine(ChannelProfile(events[0].channel), pack.rules)  # type: ignore[union-attr]
    engine.load(events)  # type: ignore[arg-type]
    t2 = time.perf_counter()
    period = _period(engine, None, None)
    windows = engine.windows(period.start, period.end, now=period.end, period=period)
    t3 = time.perf_counter()
    result = AuditResult(engine.channel, pack, engine, period, windows, InputStats())
    json.dumps(to_json(result))
    t4 = time.perf_counter()
    gc.enable()
    return {
        "events": len(events),
        "read_validate_s": t1 - t0,
        "lifecycle_accounting_s": t2 - t1,
        "evaluate_s": t3 - t2,
        "report_s": t4 - t3,
        "windows": len(windows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events-file", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    path = args.events_file
    if path is None:
        path = Path(tempfile.mkdtemp()) / "year.jsonl"
        subprocess.run([sys.executable, str(HERE / "generate_year.py"), str(path)], check=True)  # noqa: S603
    lines = sum(1 for _ in path.open("rb"))
    walls: dict[str, list[float]] = {"two_processes": [], "single_process": []}
    for _ in range(args.runs):
        for mode, extra in (("two_processes", []), ("single_process", ["--single-process"])):
            command = [sys.executable, "-m", "efir", "audit", str(path), "--format", "json"]
            t = time.perf_counter()
            proc = subprocess.run([*command, "-o", os.devnull, *extra], check=False)  # noqa: S603
            walls[mode].append(time.perf_counter() - t)
            if proc.returncode not in (0, 1):
                raise SystemExit(proc.returncode)
    best = min(walls["two_processes"])
    split = phases(path)
    report = {
        "benchmark": "audit_throughput",
        "machine": machine(),
        "input": {"file": str(path), "events": lines, "bytes": path.stat().st_size},
        "wall_s": {
            mode: {"best": round(min(w), 3), "runs": [round(x, 3) for x in w]}
            for mode, w in walls.items()
        },
        "events_per_s": round(lines / best),
        "events_per_s_single_process": round(lines / min(walls["single_process"])),
        "in_process_split_s": {
            k: round(v, 3) if isinstance(v, float) else v for k, v in split.items()
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
