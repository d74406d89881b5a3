"""Restart with a year of history: time to ready, where it goes, and memory per channel.

Needs the local PostgreSQL. Usage:

    .venv/bin/python bench/restart.py [--channels 50] [--days 365] [--runs 3]

1. A fresh database gets, per channel, the simulator's dense TV feed (start and
   end of every programme segment, ad spot, promo and ident) for the last ten
   days before ``NOW``: what a restart reads (the ten-day live horizon).
2. The rest of the year is those rows again, shifted back ten days at a time
   (event ids suffixed so each is a distinct version). Restart never reads
   them, but they are in the table and its indexes, as after a year of
   operation. Their payloads still carry the recent dates: nothing reads them.
3. ``Service.open`` (migrations check, channels, feed states, then per channel:
   load the live horizon, parse, rebuild the engine) is timed ``--runs`` times,
   each with a new ``Service``. The same steps are then timed one by one, and
   the resident memory added by the live state of all channels is read from
   ``/proc/self/status``.
4. The memory the daemon holds per channel in operation is measured in a fresh
   process (``--restored-memory``): the resident memory ``Service.open`` adds
   when it restores every channel from its checkpoint, as after every restart
   and every compaction (``compact_every_s``). ``mb_per_channel`` (the first
   start, replaying the versions, which a compaction then drops) is the peak.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import zlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import pydantic_core
from sqlalchemy import text
from tests.services import create_database, drop_database

from efir.compose import build
from efir.config.settings import ChannelConfig, Settings
from efir.core.timebase import to_us
from efir.daemon.checkpoints import parse_stored
from efir.daemon.ingest import digest
from efir.daemon.monitor import HORIZON_US
from efir.daemon.service import Service  # noqa: TC001 - a benchmark script, not a typed module
from efir.schema.asrun import parse_event
from efir.sim.feed import FeedSpec, generate

ALMATY = ZoneInfo("Asia/Almaty")
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=ALMATY)
LIVE_DAYS = 10
COLUMNS = ["channel_id", "event_id", "phase", "at_us", "digest", "received_us", "source", "payload"]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def live_rows(channel: str, seed: int) -> list[tuple[Any, ...]]:
    start = NOW - timedelta(days=LIVE_DAYS)
    spec = FeedSpec(channel, phases="start_end", segment_s=(180, 600), spots=(5, 9), seed=seed)
    now_us = to_us(NOW)
    rows = []
    for payload in generate(spec, start, NOW):
        raw = json.dumps(payload, separators=(",", ":")).encode()
        event = parse_event(raw, now_us=now_us)
        if event.start is not None and event.start >= now_us:
            continue  # the last ad break may run past NOW: not aired yet
        when = event.start if event.start is not None else now_us
        received = when + (event.duration or 0) + 1_000_000
        rows.append(
            (
                channel,
                event.event_id,
                str(event.phase),
                when,
                digest(event),
                min(received, now_us),
                "mqtt",
                raw,
            )
        )
    return rows


def settings(db: str, channels: list[str], *, checkpoints: bool = True) -> Settings:
    return Settings(
        database_url=db,
        mqtt_url="mqtt://127.0.0.1:1",  # open() does not connect
        data_dir=Path("/tmp"),  # noqa: S108 - unused with PostgreSQL
        channels=[ChannelConfig(id=c) for c in channels],
        checkpoint_every_s=300 if checkpoints else 0,
    )


async def fill(dsn: str, channels: list[str], days: int) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        t = time.perf_counter()
        live = 0
        for i, ch in enumerate(channels):
            rows = live_rows(ch, 2026 + i)
            live += len(rows)
            await conn.copy_records_to_table("events", records=rows, columns=COLUMNS)
        top = await conn.fetchval("SELECT max(id) FROM events")
        shift = LIVE_DAYS * 86400 * 1_000_000
        copies = max(0, -(-(days - LIVE_DAYS) // LIVE_DAYS))
        for k in range(1, copies + 1):
            await conn.execute(
                f"""
                INSERT INTO events ({", ".join(COLUMNS)})
                SELECT channel_id, event_id || '~{k}', phase, at_us - {k * shift}, digest,
                       received_us - {k * shift}, source, payload
                FROM events WHERE id <= $1
                """,  # noqa: S608 - integers computed here
                top,
            )
        await conn.execute("ANALYZE events")
        total = await conn.fetchval("SELECT count(*) FROM events")
        size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('events'))")
        return {
            "live_horizon_rows": live,
            "rows_total": total,
            "history_days": LIVE_DAYS * (copies + 1),
            "table_size": size,
            "fill_s": round(time.perf_counter() - t, 1),
        }
    finally:
        await conn.close()


async def count_rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM events"))
    finally:
        await conn.close()


async def steps(db: str, channels: list[str]) -> dict[str, float]:
    """The work of a restart from checkpoints, step by step."""
    svc = build(settings(db, channels), now_us=lambda: to_us(NOW))
    await svc.store.open()
    now = to_us(NOW)
    since = now - HORIZON_US
    ck = svc.checkpointer
    gc.disable()
    t = time.perf_counter()
    stored = await ck.store.load(ck.holder)
    fetch = time.perf_counter() - t
    decode = restore = 0.0
    marks = {}
    for cid, row in stored.items():
        t = time.perf_counter()
        data = pydantic_core.from_json(zlib.decompress(row.data))
        decode += time.perf_counter() - t
        t = time.perf_counter()
        svc.monitor.restore(cid, data, since=since, upto=row.upto_id, now=now)
        restore += time.perf_counter() - t
        marks[cid] = (row.upto_id, row.taken_us - ck.lookback_us)
    t = time.perf_counter()
    later = await ck.store.rows_after(marks, since)
    replayed = 0
    for cid, rows in later.items():
        events = parse_stored(cid, ((r.payload, r.received_us) for r in rows))
        replayed += len(events)
        await ck.hydrate(events)
        svc.monitor.replay(cid, events)
    catch_up = time.perf_counter() - t
    gc.enable()
    await svc.store.close()
    return {
        "checkpoints_fetch_s": round(fetch, 2),
        "checkpoints_decode_s": round(decode, 2),
        "checkpoints_restore_s": round(restore, 2),
        "rows_after_checkpoints": replayed,
        "catch_up_s": round(catch_up, 2),
    }


def full_collection() -> dict[str, Any]:
    """The pause a full collection of the live state costs the event loop.

    A restart freezes the state it rebuilt (the collector skips it); each
    compaction replaces a channel's state with one that is not frozen, so
    after a compaction round the collector walks all of it: unfrozen here.
    """
    gc.unfreeze()
    gc.collect()
    t = time.perf_counter()
    gc.collect()
    took = time.perf_counter() - t
    tracked = len(gc.get_objects())
    gc.freeze()
    return {"full_gc_s_unfrozen": round(took, 3), "gc_tracked_objects": tracked}


def figures(svc: Service) -> dict[str, Any]:
    """Every window of the live horizon, per channel: what a restart must reproduce."""
    now = to_us(NOW)
    return {
        cid: ch.engine.windows(now - HORIZON_US, now, now=now)
        for cid, ch in svc.monitor.channels.items()
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "channels": args.channels,
    }
    channels = [f"tv{i:03d}" for i in range(args.channels)]
    name, db = await create_database(keep=args.keep)
    try:
        first = build(settings(db, channels))
        await first.store.open()  # migrate
        async with first.store.engine.begin() as conn:
            await conn.execute(text("DELETE FROM checkpoints"))
        await first.store.close()
        if await count_rows(db) == 0:
            report |= await fill(db, channels, args.days)
        # The previous run: rebuilt from events (no checkpoint yet), then it checkpoints.
        gc.collect()
        before = rss_mb()
        prev = build(settings(db, channels), now_us=lambda: to_us(NOW))
        t = time.perf_counter()
        await prev.open()
        report["ready_s_replaying_events"] = round(time.perf_counter() - t, 2)
        report["rss_added_mb"] = round(rss_mb() - before, 1)
        report["mb_per_channel"] = round(report["rss_added_mb"] / args.channels, 1)
        report["versions_in_horizon"] = await count_horizon(db)
        expected = figures(prev)
        took, size = [], 0
        for cid in channels:
            t = time.perf_counter()
            size += await prev.checkpointer.take(cid)
            took.append(time.perf_counter() - t)
        report["checkpoint_take_ms_per_channel"] = round(1000 * statistics.median(took), 1)
        report["checkpoint_kb_per_channel"] = round(size / 1024 / len(channels), 1)
        await prev.store.close()
        del prev
        times, same = [], True
        for _ in range(args.runs):
            gc.collect()
            svc = build(settings(db, channels), now_us=lambda: to_us(NOW))
            t = time.perf_counter()
            await svc.open()
            times.append(time.perf_counter() - t)
            same = same and figures(svc) == expected
            report["items_restored"] = sum(
                len(c.engine.book) for c in svc.monitor.channels.values()
            )
            report |= full_collection()
            await svc.store.close()
            del svc
        report |= restored_memory(db, channels)
        report["ready_s_min"] = round(min(times), 2)
        report["ready_s_median"] = round(statistics.median(times), 2)
        report["same_windows_as_replay"] = same
        report |= await steps(db, channels)
    finally:
        if not args.keep:
            await drop_database(name)
    return report


def restored_memory(db: str, channels: list[str]) -> dict[str, Any]:
    """Resident memory of the live state restored from checkpoints, in a fresh process."""
    done = subprocess.run(  # noqa: S603 - this script, with arguments it built
        [sys.executable, __file__, "--restored-memory", db, "--channels", str(len(channels))],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", ".")},
    )
    got = json.loads(done.stdout)
    added = got["rss_added_mb"]
    return {
        "rss_restored_mb": added,
        "mb_per_channel_restored": round(added / len(channels), 2),
        "ready_s_fresh_process": got["ready_s"],
    }


async def measure_restored(db: str, n: int) -> dict[str, Any]:
    """In this (fresh) process: the RSS ``Service.open`` adds restoring from checkpoints."""
    channels = [f"tv{i:03d}" for i in range(n)]
    svc = build(settings(db, channels), now_us=lambda: to_us(NOW))
    gc.collect()
    before = rss_mb()
    t = time.perf_counter()
    await svc.open()
    ready = time.perf_counter() - t
    gc.collect()
    added = rss_mb() - before
    restored = len(svc.restored)
    await svc.store.close()
    return {
        "rss_added_mb": round(added, 1),
        "restored_channels": restored,
        "ready_s": round(ready, 2),
    }


async def count_horizon(dsn: str) -> int:
    conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        since = to_us(NOW) - HORIZON_US
        return int(await conn.fetchval("SELECT count(*) FROM events WHERE at_us >= $1", since))
    finally:
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--keep",
        metavar="DATABASE",
        help="fill this database once and keep it for later runs (same --channels and --days)",
    )
    parser.add_argument(
        "--restored-memory",
        metavar="DATABASE_URL",
        help="(internal) only measure the memory of a restore from checkpoints",
    )
    args = parser.parse_args()
    if args.restored_memory:
        print(json.dumps(asyncio.run(measure_restored(args.restored_memory, args.channels))))
    else:
        print(json.dumps(asyncio.run(main(args)), indent=2))
