"""``efir convert`` and ``efir audit`` on a foreign format, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "omroep-brabant"


def _efir(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "efir", *args], capture_output=True, text=True, check=False
    )


def test_convert_writes_each_event_with_its_source_fields(tmp_path: Path) -> None:
    out = tmp_path / "ob.jsonl"
    classify = tmp_path / "classify.yaml"
    classify.write_text(
        "default: {language: nl, origin: foreign}\n"
        "rules:\n  - when: {raw.ProgramType: {equals: STATIONID}}\n    set: {language: zxx}\n"
    )
    done = _efir(
        "convert",
        str(DATA / "AR20240617.tvbrab"),
        "--source-timezone",
        "Europe/Amsterdam",
        "--timezone",
        "Europe/Amsterdam",
        "--channel",
        "ob",
        "--classify",
        str(classify),
        "-o",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 484
    first = lines[0]
    assert first["start"] == "2024-06-17T02:00:00+02:00"
    assert first["raw"]["ProgramType"] == "PROGRAMMA"
    assert first["language"] == "nl"
    assert "classified: rule 1: 79; default: 484" in done.stderr
    # What convert wrote is canonical input: the audit reads it as efir.asrun/1.
    report = tmp_path / "report.json"
    audited = _efir(
        "audit", str(out), "--timezone", "Europe/Amsterdam", "--format", "json", "-o", str(report)
    )
    assert audited.returncode in (0, 1), audited.stderr
    assert json.loads(report.read_text())["input"]["events_applied"] == 484


def test_audit_reads_the_as_run_directly_and_reports_the_classification(tmp_path: Path) -> None:
    classify = tmp_path / "classify.yaml"
    classify.write_text("default: {language: nl}\nrules: []\n")
    report = tmp_path / "report.json"
    done = _efir(
        "audit",
        str(DATA / "AR20240617.tvbrab"),
        "--source-timezone",
        "Europe/Amsterdam",
        "--timezone",
        "Europe/Amsterdam",
        "--classify",
        str(classify),
        "--format",
        "json",
        "-o",
        str(report),
    )
    assert done.returncode in (0, 1), done.stderr
    body = json.loads(report.read_text())
    assert body["input"]["events_applied"] == 484
    assert body["input"]["classification"]["default"]["records"] == 484


def test_a_bad_mapping_or_zone_is_one_clear_error(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    log.write_text("a,b\n")
    mapping = tmp_path / "m.yaml"
    mapping.write_text("fields: {title: a}\n")
    done = _efir(
        "convert",
        str(log),
        "--input-format",
        "csv",
        "--mapping",
        str(mapping),
        "-o",
        str(tmp_path / "o"),
    )
    assert done.returncode == 2
    assert "`start`" in done.stderr
    assert "Traceback" not in done.stderr
    done = _efir("convert", str(log), "--source-timezone", "Mars/Base", "-o", str(tmp_path / "o"))
    assert done.returncode == 2
    assert "unknown zone" in done.stderr


def test_a_playlist_is_audited_as_planned_from_its_day_start(tmp_path: Path) -> None:
    playlist = tmp_path / "day.json"
    program = [
        {"in": 0, "out": 3 * 3600, "duration": 3 * 3600, "source": "/m/kk-film.mp4"},
        {"in": 0, "out": 3 * 3600, "duration": 3 * 3600, "source": "/m/ru-film.mp4"},
    ]
    playlist.write_text(json.dumps({"channel": "x", "date": "2027-01-04", "program": program}))
    classify = tmp_path / "classify.yaml"
    classify.write_text(
        "rules:\n"
        "  - when: {house_id: {prefix: kk-}}\n    set: {language: kk, origin: domestic}\n"
        "  - when: {house_id: {prefix: ru-}}\n    set: {language: ru, origin: foreign}\n"
    )
    out = tmp_path / "plan.jsonl"
    done = _efir(
        "convert", str(playlist), "--day-start", "06:00", "--channel", "qaz", "-o", str(out),
        "--classify", str(classify),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in out.read_text().splitlines())
    assert first["start"] == "2027-01-04T06:00:00+05:00"
    assert second["start"] == "2027-01-04T09:00:00+05:00"
    assert (first["language"], second["language"]) == ("kk", "ru")
    audit = _efir(
        "audit", str(playlist), "--day-start", "06:00", "--channel", "qaz",
        "--classify", str(classify), "--format", "json",
    )  # fmt: skip
    doc = json.loads(audit.stdout)
    (window,) = [
        w
        for w in doc["windows"]
        if w["rule"] == "lang_6h" and w["window_start"].startswith("2027-01-04T06")
    ]
    assert window["share"] == 0.5  # 3 h of Kazakh in 6 h: under 2027's 60 %
    assert window["verdict"] == "violation"
    bad = _efir("audit", str(playlist), "--day-start", "25:00")
    assert bad.returncode == 2
    assert "--day-start" in bad.stderr
