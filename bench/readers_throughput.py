"""Records per second of each reader, on a synthetic channel-year written in its format.

Usage:

    .venv/bin/python bench/readers_throughput.py [--records 300000] [--runs 3]

For each format (nielsen-nl, csv through a mapping, bxf, marina, playbox) a file of
``--records`` records is written (a dense TV day repeated: programmes,
promos, idents, breaks; a channel-year is about 900,000 records), then read
``--runs`` times with ``efir.readers`` exactly as ``efir audit`` reads it
(records, classification, validation into events). The best and median
records/s are printed, with the file size. Targets (issue 17): 100,000
records/s for the delimited readers, 50,000 for BXF. (A Marina item is two
rows, its Media and Switch events; records/s counts items.)
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

from efir.readers.base import LineError, ReadOptions
from efir.readers.marina import COLUMNS as MARINA_COLUMNS
from efir.readers.registry import READERS
from efir.readers.timecode import to_timecode, us_to_frames

TZ = ZoneInfo("Asia/Almaty")
MARINA_NAMES = [name for name, _ in MARINA_COLUMNS]
KINDS = [("PROGRAMMA", 1500), ("PROMO", 30), ("STATIONID", 5), ("BREAK", 180)]
RATE = Fraction(25)


def _items(n: int) -> list[tuple[datetime, int, str, int]]:
    t = datetime(2026, 1, 1, 2, 0, tzinfo=TZ)
    out = []
    for i in range(n):
        kind, seconds = KINDS[i % len(KINDS)]
        out.append((t, seconds, kind, i))
        t += timedelta(seconds=seconds)
    return out


def write_nielsen(path: Path, items: list[tuple[datetime, int, str, int]]) -> None:
    lines = [
        "%FORMAT\t20230101\tBROADCASTDAY\t20260101",
        "%PIVOTHOUR\t020000",
        (
            "%COMMENT ChannelID\tOmroep\tDate\tStartTime\tDuration\tEndTime\tProgID"
            "\tProgramType\tUnharmonizedTitle"
        ),
    ]
    for t, seconds, kind, i in items:
        day = t - timedelta(hours=2)
        start = t - datetime(day.year, day.month, day.day, tzinfo=TZ)
        end = start + timedelta(seconds=seconds - 1)

        def hms(d: timedelta) -> str:
            s = int(d.total_seconds())
            return f"{s // 3600:02d}{s // 60 % 60:02d}{s % 60:02d}"

        lines.append(
            f"234\tQAZ\t{day:%Y%m%d}\t{hms(start)}\t{seconds}\t{hms(end)}\t{i}\t{kind}\tTitle {i}"
        )
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("iso-8859-1"))


CSV_MAPPING = {
    "delimiter": ";",
    "fields": {
        "start": {"column": "start", "format": "iso"},
        "duration": {"column": "duration"},
        "kind": {
            "column": "type",
            "map": {"P": "program", "R": "promo", "I": "ident", "B": "advertising"},
        },
        "title": "title",
        "house_id": "house",
    },
}


def write_csv(path: Path, items: list[tuple[datetime, int, str, int]]) -> None:
    lines = ["start;duration;type;title;house"]
    code = {"PROGRAMMA": "P", "PROMO": "R", "STATIONID": "I", "BREAK": "B"}
    lines += [f"{t.isoformat()};{s};{code[k]};Title {i};H{i}" for t, s, k, i in items]
    path.write_text("\n".join(lines) + "\n")


def write_bxf(path: Path, items: list[tuple[datetime, int, str, int]]) -> None:
    ad = "<NonProgramEvent><Details><AdType>Commercial</AdType></Details></NonProgramEvent>"
    with path.open("w") as out:
        out.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n<BxfMessage '
            'xmlns="http://smpte-ra.org/schemas/2021/2008/BXF"><BxfData><Schedule type="Primary">'
        )
        for t, seconds, kind, i in items:
            midnight = datetime(t.year, t.month, t.day, tzinfo=TZ)
            us = round((t - midnight).total_seconds() * 1_000_000)
            start = to_timecode(us_to_frames(us, RATE), RATE)
            length = to_timecode(seconds * 25, RATE)
            out.write(
                f"<AsRun><BasicAsRun><AsRunEventId><EventId>urn:uuid:{i}</EventId></AsRunEventId>"
                f"<Content><ContentId><HouseNumber>H{i}</HouseNumber></ContentId>"
                f"<Name>Title {i}</Name>{ad if kind == 'BREAK' else ''}</Content><AsRunDetail>"
                "<Status>Aired Without Discrepancy</Status><Type>Primary</Type><StartDateTime>"
                f'<SmpteDateTime broadcastDate="{t:%Y-%m-%d}"><SmpteTimeCode frameRate="25">'
                f"{start}</SmpteTimeCode></SmpteDateTime></StartDateTime><Duration>"
                f'<SmpteDuration><SmpteTimeCode frameRate="25">{length}</SmpteTimeCode>'
                "</SmpteDuration></Duration></AsRunDetail></BasicAsRun></AsRun>\n"
            )
        out.write("</Schedule></BxfData></BxfMessage>\n")


MARINA_WIDTHS = [w for _, w in MARINA_COLUMNS]
DF = Fraction(30000, 1001)


def write_marina(path: Path, items: list[tuple[datetime, int, str, int]]) -> None:
    def row(cells: dict[str, str]) -> str:
        return " " + " ".join(
            cells.get(name, "").ljust(w)
            for name, w in zip(MARINA_NAMES, MARINA_WIDTHS, strict=True)
        )

    def stamp(t: datetime) -> str:
        midnight = datetime(t.year, t.month, t.day, tzinfo=TZ)
        us = round((t - midnight).total_seconds() * 1_000_000)
        return f"{t:%d/%m/%Y} {to_timecode(us_to_frames(us, DF), DF)}"

    with path.open("w") as out:
        out.write("Log Output - Marina Text AsRun v1.0\nChannel: 'QAZ'\n\n")
        out.write(" " + " ".join(n.ljust(w) for n, w in MARINA_COLUMNS) + "\n")
        out.write(" " + " ".join("-" * w for w in MARINA_WIDTHS) + "\n")
        code = {"PROGRAMMA": "ENT", "PROMO": "PRM", "STATIONID": "PRM", "BREAK": "COM"}
        for t, seconds, kind, i in items:
            cells = {
                "TYPE": "P",
                "START TIME": stamp(t),
                "END TIME": stamp(t + timedelta(seconds=seconds)),
                "MEDIA ID": f"{code[kind]}{i:09d}",
                "TITLE": f"Title {i}",
                "STATUS": "Completed",
            }
            out.write(row({**cells, "EVENT": "Media Event", "DEVICE STREAM": "A) P"}) + "\n")
            out.write(row({**cells, "EVENT": "Switch Event", "DEVICE STREAM": "PGM"}) + "\n")


def write_playbox(path: Path, items: list[tuple[datetime, int, str, int]]) -> None:
    """One playlist of ``items``: write at most a week (a playlist is a day or a few)."""
    folder = {"PROGRAMMA": "Programs", "PROMO": "Anons", "STATIONID": "id", "BREAK": "Commercial"}
    lines = ["#FILENAME V:\\PLAYLISTS\\2026_01_01_02_00_00.ply", "#PLAYLISTTC 02:00:00:00"]
    for _, seconds, kind, i in items:
        lines += [
            f"#LISTID {i}",
            "#DYNAMICMEDIA FALSE",
            "#TYPE MPEG2 (48 kHz)",
            "#TC 0.00000",
            f'"V:\\VIDEO\\{folder[kind]}\\{i}.mpg";0.00000;{seconds:.5f};;Title {i}',
        ]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("windows-1251"))


def measure(name: str, paths: list[Path], options: ReadOptions, runs: int) -> dict[str, object]:
    rates = []
    for _ in range(runs):
        t = time.perf_counter()
        n = bad = 0
        for path in paths:
            for got in READERS[name].read(path, options):
                n += 1
                bad += isinstance(got, LineError)
        rates.append(n / (time.perf_counter() - t))
    return {
        "records": n,
        "refused": bad,
        "files": len(paths),
        "file_mb": round(sum(p.stat().st_size for p in paths) / 1e6, 1),
        "records_per_s_best": round(max(rates)),
        "records_per_s_median": round(statistics.median(rates)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    items = _items(args.records)
    report: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}"
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, writer, options in (
            ("nielsen-nl", write_nielsen, ReadOptions(timezone=TZ)),
            ("csv", write_csv, ReadOptions(timezone=TZ, mapping=CSV_MAPPING)),
            ("bxf", write_bxf, ReadOptions(timezone=TZ)),
            ("marina", write_marina, ReadOptions(timezone=TZ)),
            ("playbox", write_playbox, ReadOptions(timezone=TZ)),
        ):
            # Playlists are days: a week per file (a plan of 31 days at most is read).
            size = 1400 if name == "playbox" else len(items)
            paths = []
            for n, first in enumerate(range(0, len(items), size)):
                path = folder / f"{name}-{n}"
                writer(path, items[first : first + size])
                paths.append(path)
            report[name] = measure(name, paths, options, args.runs)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
