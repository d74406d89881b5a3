"""The peer of `efir audit`: the DuckDB query a data engineer would write instead.

It pairs each `start` message with its `end` by event id (or takes a
`complete`), joins the items to the six-hour, day, evening-hour and week
windows of the channel's zone, and sums the overlaps for the six share rules
of the `kz` pack on a TV channel: `lang_6h`, `lang_week`, `domestic_tv_week`,
`retransmission_week`, `ads_day`, `ads_evening_hour`. It knows nothing of
corrections, cancels, overlap cuts, open items, count or item rules: on the
benchmark channel-year (clean start/end pairs) its figures must equal Efir's,
and `--check REPORT` says whether they do, window by window.

Usage:
    python bench/audit_peer.py YEAR.jsonl [-o OUT.json] [--check EFIR_REPORT.json]

Prints the number of windows; with `--check`, exits 1 unless every window of
those rules in the Efir report (`efir audit --format json`) has the same
numerator and base seconds (to the microsecond) as the peer's.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

import duckdb

#: What the query reads of each line (the rest is ignored).
COLUMNS = {
    "event_id": "VARCHAR",
    "phase": "VARCHAR",
    "start": "TIMESTAMPTZ",
    "duration": "DOUBLE",
    "kind": "VARCHAR",
    "language": "VARCHAR",
    "origin": "VARCHAR",
    "kk_fraction": "DOUBLE",
    "retransmission": "BOOLEAN",
    "tags": "VARCHAR[]",
}

QUERY = """
WITH ev AS (
    SELECT * FROM read_json($path, format = 'newline_delimited', columns = $columns)
),
attrs AS (  -- the start (or complete) message carries the attributes
    SELECT event_id, kind, language, origin, kk_fraction,
           coalesce(retransmission, false) AS retransmission, coalesce(tags, []) AS tags
    FROM ev WHERE phase IN ('start', 'complete')
),
spans AS (  -- the end (or complete) message carries what aired
    SELECT event_id, epoch_us(start) AS s,
           epoch_us(start) + CAST(round(duration * 1e6) AS BIGINT) AS e
    FROM ev WHERE phase IN ('end', 'complete')
),
items AS (
    SELECT s, e,
        kind NOT IN ('advertising', 'teleshopping', 'social_advertising') AS programme,
        language,
        CASE WHEN kk_fraction IS NOT NULL THEN kk_fraction
             WHEN language = 'kk' THEN 1.0 ELSE 0.0 END AS kazakh,
        origin = 'domestic' AS domestic,
        retransmission,
        kind IN ('advertising', 'teleshopping')
            AND NOT list_contains(tags, 'venue_advertising') AS paid_ad
    FROM attrs JOIN spans USING (event_id)
),
bounds AS (SELECT min(s) AS lo, max(e) AS hi FROM items),
local_days AS (
    SELECT d::TIMESTAMP AS d
    FROM bounds, generate_series(
        date_trunc('day', timezone($tz, make_timestamptz(lo))) - INTERVAL 7 DAY,
        date_trunc('day', timezone($tz, make_timestamptz(hi))) + INTERVAL 7 DAY,
        INTERVAL 1 DAY) AS t(d)
),
windows AS (
    SELECT 'lang_6h' AS rule, d + INTERVAL (6 * k) HOUR AS ws, d + INTERVAL (6 * k + 6) HOUR AS we
    FROM local_days, range(4) AS r(k)
    UNION ALL SELECT 'ads_day', d, d + INTERVAL 1 DAY FROM local_days
    UNION ALL
    SELECT 'ads_evening_hour', d + INTERVAL (h) HOUR, d + INTERVAL (h + 1) HOUR
    FROM local_days, range(18, 23) AS r(h)
    UNION ALL
    SELECT rule, d, d + INTERVAL 7 DAY
    FROM local_days,
        (VALUES ('lang_week'), ('domestic_tv_week'), ('retransmission_week')) AS w(rule)
    WHERE isodow(d) = 1
),
windows_us AS (
    SELECT rule, epoch_us(timezone($tz, ws)) AS ws, epoch_us(timezone($tz, we)) AS we FROM windows
),
pieces AS (
    SELECT w.rule, w.ws, i.*, least(i.e, w.we) - greatest(i.s, w.ws) AS us
    FROM windows_us AS w JOIN items AS i ON i.s < w.we AND i.e > w.ws
)
SELECT rule, ws,
    CASE WHEN rule IN ('lang_6h', 'lang_week')
         THEN sum(us * kazakh) FILTER (programme AND language IS DISTINCT FROM 'zxx')
         WHEN rule = 'domestic_tv_week' THEN sum(us) FILTER (programme AND domestic)
         WHEN rule = 'retransmission_week' THEN sum(us) FILTER (retransmission)
         ELSE sum(us) FILTER (paid_ad) END / 1e6 AS numerator_s,
    CASE WHEN rule IN ('lang_6h', 'lang_week')
         THEN sum(us) FILTER (programme AND language IS DISTINCT FROM 'zxx')
         WHEN rule = 'domestic_tv_week' THEN sum(us) FILTER (programme)
         ELSE sum(us) END / 1e6 AS base_s
FROM pieces
GROUP BY rule, ws
ORDER BY rule, ws
"""

RULES = (
    "lang_6h",
    "lang_week",
    "domestic_tv_week",
    "retransmission_week",
    "ads_day",
    "ads_evening_hour",
)


def run(path: Path, tz: str) -> dict[tuple[str, int], tuple[float, float]]:
    """Return ``{(rule, window start µs UTC): (numerator s, base s)}``."""
    con = duckdb.connect()
    rows = con.execute(QUERY, {"path": str(path), "columns": COLUMNS, "tz": tz}).fetchall()
    return {(rule, ws): (num or 0.0, base or 0.0) for rule, ws, num, base in rows}


def check(peer: dict[tuple[str, int], tuple[float, float]], report: Path) -> list[str]:
    """Differences between the peer and an Efir audit report, on every window of ``RULES``."""
    data = json.loads(report.read_text(encoding="utf-8"))
    problems: list[str] = []
    seen = 0
    for window in data["windows"]:
        if window["rule"] not in RULES:
            continue
        seen += 1
        ws = round(datetime.fromisoformat(window["window_start"]).timestamp() * 1e6)
        mine = (window["numerator_s"] or 0.0, window["base_s"] or 0.0)
        theirs = peer.get((window["rule"], ws), (0.0, 0.0))
        # The report rounds seconds to the microsecond.
        if any(abs(a - b) > 1e-6 for a, b in zip(mine, theirs, strict=True)):
            problems.append(
                f"{window['rule']} {window['window_start']}: efir {mine}, peer {theirs}"
            )
    if seen == 0:
        problems.append("the report has no window of the share rules")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("events", type=Path)
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument("--timezone", default="Asia/Almaty")
    parser.add_argument("--check", type=Path, metavar="EFIR_REPORT")
    args = parser.parse_args()
    peer = run(args.events, args.timezone)
    if args.output is not None:
        rows = [
            {"rule": r, "window_start_us": ws, "numerator_s": n, "base_s": b}
            for (r, ws), (n, b) in peer.items()
        ]
        args.output.write_text(json.dumps(rows), encoding="utf-8")
    print(f"{len(peer)} windows")
    if args.check is not None:
        problems = check(peer, args.check)
        for line in problems[:20]:
            print(line)
        if problems:
            print(f"{len(problems)} windows differ")
            sys.exit(1)
        print("every window equals the Efir report")


if __name__ == "__main__":
    main()
