"""``efir report``: PDF, XLSX and CSV hold the audit's figures; the PDF renders; the evidence."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook

from efir.sim.feed import FeedSpec, generate

ALMATY = ZoneInfo("Asia/Almaty")
FIGURES = ("numerator_s", "base_s", "unknown_s", "gap_s", "share", "threshold", "verdict", "count")


def _efir(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "efir", *args], capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated days of a TV channel (the risky scenario: some windows fail)."""
    path = tmp_path_factory.mktemp("report") / "days.jsonl"
    start = datetime(2026, 3, 2, tzinfo=ALMATY)
    spec = FeedSpec("qaz-tv", phases="start_end", scenario="risky")
    with path.open("w", encoding="utf-8") as out:
        for payload in generate(spec, start, start + timedelta(days=2)):
            out.write(json.dumps(payload, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def audited(day: Path) -> dict[str, object]:
    done = _efir("audit", str(day), "--format", "json", "--to", "2026-03-03")
    assert done.returncode == 1, done.stderr  # the risky days have violations
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _key(row: dict[str, object]) -> tuple[str, str]:
    return str(row["rule"]), str(row["window_start"])


def _same(got: object, want: object) -> bool:
    if want is None:
        return got in (None, "")
    if isinstance(want, bool):
        return str(got).lower() == str(want).lower()
    if isinstance(want, int | float):
        return float(got) == pytest.approx(want)  # type: ignore[arg-type]
    return str(got) == str(want)


def _assert_windows_equal(rows: list[dict[str, object]], audited: dict[str, object]) -> None:
    want = {_key(w): w for w in audited["windows"]}  # type: ignore[attr-defined]
    got = {_key(r): r for r in rows}
    assert got.keys() == want.keys()
    for key, w in want.items():
        for name in FIGURES:
            assert _same(got[key].get(name), w.get(name)), (
                key,
                name,
                got[key].get(name),
                w.get(name),
            )


def _csv_blocks(text: str) -> dict[str, list[dict[str, str]]]:
    blocks: dict[str, list[dict[str, str]]] = {}
    for block in text.strip().split("\n\n"):
        rows = list(csv.reader(io.StringIO(block)))
        assert rows[0][0] == "section"
        header = rows[1]
        blocks[rows[0][1]] = [dict(zip(header, r, strict=True)) for r in rows[2:]]
    return blocks


def test_csv_holds_the_audit_figures_checklist_and_evidence(
    day: Path, audited: dict[str, object], tmp_path: Path
) -> None:
    out = tmp_path / "report.csv"
    done = _efir("report", str(day), "-o", str(out), "--to", "2026-03-03")
    assert done.returncode == 1, done.stderr
    blocks = _csv_blocks(out.read_text(encoding="utf-8"))
    _assert_windows_equal(blocks["windows"], audited)  # type: ignore[arg-type]
    checklist = {r["rule"]: r for r in blocks["checklist"]}
    six = [w for w in audited["windows"] if w["rule"] == "lang_6h"]  # type: ignore[attr-defined]
    failing = [w for w in six if w["verdict"] == "violation"]
    assert failing  # the risky scenario drifts under the threshold
    assert checklist["lang_6h"]["answer"] == "does not comply"
    assert checklist["lang_6h"]["violations"] == str(len(failing))
    assert checklist["domestic_radio_week"]["answer"] == "not applicable"  # a TV channel
    summary = {r["field"]: r["value"] for r in blocks["summary"]}
    assert (summary["risk_indicator"], summary["risk_degree"]) == ("100.0", "high")
    # Evidence: every aired item of each failing window, with the line it was read from.
    evidence = [e for e in blocks["evidence"] if e["rule"] == "lang_6h"]
    first = failing[0]
    in_first = [e for e in evidence if e["window_start"] == first["window_start"]]
    assert sum(float(e["seconds_in_window"]) for e in in_first) == pytest.approx(first["airtime_s"])
    lines = day.read_text(encoding="utf-8").splitlines()
    for e in in_first[:20]:
        sources = e["source"].split()
        assert len(sources) == 2  # its start and its end message
        for source in sources:
            file, _, number = source.rpartition(":")
            assert file == str(day)
            assert json.loads(lines[int(number) - 1])["event_id"] == e["event_id"]


def test_xlsx_holds_the_same_figures(day: Path, audited: dict[str, object], tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    done = _efir("report", str(day), "-o", str(out), "--to", "2026-03-03")
    assert done.returncode == 1, done.stderr
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["summary", "checklist", "windows", "evidence"]
    sheet = book["windows"]
    rows = list(sheet.iter_rows(values_only=True))
    header = [str(h) for h in rows[0]]
    _assert_windows_equal([dict(zip(header, r, strict=True)) for r in rows[1:]], audited)


def test_the_pdf_renders_and_its_text_holds_the_verdicts(day: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.pdf"
    done = _efir("report", str(day), "-o", str(out), "--to", "2026-03-03", "--as-of", "2027-01-01")
    assert done.returncode == 1, done.stderr
    pdf = pdfium.PdfDocument(out)
    assert len(pdf) > 3
    image = pdf[0].render(scale=1).to_pil().convert("L")
    histogram = image.histogram()  # pixels per grey level, 0 black to 255 white
    dark = sum(histogram[:128])
    assert dark > 0.005 * image.width * image.height  # not a blank page
    text = "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "Compliance report: qaz-tv" in text
    assert "does not comply" in text
    assert "Risk indicator 100 (high)" in text
    assert "every threshold as in force on 2027-01-01" in text
    assert "Kazakh-language share of each six-hour interval" in text


def test_a_report_without_a_format_or_suffix_is_refused(day: Path, tmp_path: Path) -> None:
    done = _efir("report", str(day), "-o", str(tmp_path / "report.doc"))
    assert done.returncode == 2
    assert "--format" in done.stderr
    done = _efir("report", str(day), "-o", str(tmp_path / "report.pdf"), "--lang", "de")
    assert done.returncode == 2
    assert "--lang" in done.stderr


def test_the_omroep_brabant_plan_reconciles_with_its_as_run(tmp_path: Path) -> None:
    data = Path(__file__).parents[2] / "data" / "omroep-brabant"
    out = tmp_path / "ob.csv"
    done = _efir(
        "report", str(data / "AR20240617.tvbrab"), "--plan", str(data / "BR20240617.tvbrab"),
        "--source-timezone", "Europe/Amsterdam", "--timezone", "Europe/Amsterdam",
        "--channel", "ob", "-o", str(out),
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    blocks = _csv_blocks(out.read_text(encoding="utf-8"))
    summary = {r["field"]: r["value"] for r in blocks["summary"]}
    counts = {k.removeprefix("plan_"): int(v) for k, v in summary.items() if k.startswith("plan_")}
    # The plan's 91 programme lines: each matched, replaced or missed.
    planned = counts["as_planned"] + counts["aired_differently"] + counts["replaced"]
    assert planned + counts["missed"] == 91
    assert counts == {
        "as_planned": 37,
        "aired_differently": 52,
        "replaced": 2,
        "missed": 0,
        "insertion": 395,  # the plan lists programmes only: every promo, ident and break
    }
    rows = blocks["reconciliation"]
    by_start = {r["planned_start"]: r for r in rows if r["planned_start"]}
    # Checked by hand against the two files:
    night = by_start["2024-06-17T02:00:00+02:00"]  # 02:00-07:00 night loop, aired as items
    assert (night["planned_title"], night["outcome"]) == ("NACHTPROGRAMMERING", "replaced")
    news = by_start["2024-06-17T07:00:00+02:00"]  # planned 360 s, aired 07:00:00 for 256 s
    assert (news["outcome"], news["shift_s"], news["length_change_s"]) == (
        "aired_differently", "0.0", "-104.0",
    )  # fmt: skip
    bureau = by_start["2024-06-17T17:00:00+02:00"]  # planned 900 s, aired 17:00:07-17:12:08
    assert (bureau["outcome"], bureau["shift_s"], bureau["length_change_s"]) == (
        "as_planned", "7.0", "-178.0",
    )  # fmt: skip
