"""A report as tables: CSV (blocks in one file) and XLSX (one sheet per table, openpyxl).

Both hold the same tables: ``summary`` (the channel, the period, the
verdict, the risk indicator and, with a plan, the count of each outcome),
``checklist``, ``windows`` (the columns of ``efir audit --format csv``, with
the same figures), ``evidence`` and, with a plan, ``reconciliation``. In
CSV each table is a block: a row ``section,NAME``, its header, its rows and
an empty row.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from efir.audit.report import csv_cell, what_if_text
from efir.core.window_object import WINDOW_FIELDS
from efir.reports.content import EVIDENCE_FIELDS, RECONCILIATION_FIELDS

if TYPE_CHECKING:
    from efir.reports.content import Report

CHECKLIST_FIELDS = (
    "rule",
    "requirement",
    "legal_ref",
    "answer",
    "windows",
    "violations",
    "risk",
    "why",
    "sanction",
)
WINDOWS_FIELDS = (*WINDOW_FIELDS, "occurrences")


def tables(report: Report) -> dict[str, tuple[tuple[str, ...], list[list[Any]]]]:
    """The report's tables by name: header and rows (cells as plain values)."""
    risk = report.risk
    summary = [
        ["channel", report.channel["id"]],
        ["media", report.channel["media"]],
        ["timezone", report.channel["timezone"]],
        ["period_from", report.period["from"]],
        ["period_to", report.period["to"]],
        ["rule_pack", f"{report.rule_pack['name']} {report.rule_pack['version']}"],
        ["verdict", report.verdict],
        ["risk_indicator", risk.indicator],
        ["risk_degree", risk.degree],
        ["risk_method", risk.explain()],
        ["generated_at", report.generated_at],
        ["efir_version", report.input.get("efir_version", "")],
    ]
    what_if = report.rule_pack.get("what_if")
    if what_if:
        summary.insert(6, ["what_if", what_if_text(what_if)])
    checklist = [
        [
            r.rule,
            r.title,
            r.legal_ref,
            r.answer,
            r.windows,
            r.violations,
            r.risk or "",
            r.why,
            r.sanction,
        ]
        for r in report.checklist
    ]
    windows = [
        [csv_cell(w.get(f)) for f in WINDOW_FIELDS]
        + [" ".join(o["event_id"] for o in w.get("occurrences", []))]
        for w in report.windows
    ]
    evidence = [[csv_cell(e.get(f)) for f in EVIDENCE_FIELDS] for e in report.evidence]
    out = {
        "summary": (("field", "value"), summary),
        "checklist": (CHECKLIST_FIELDS, checklist),
        "windows": (WINDOWS_FIELDS, windows),
        "evidence": (EVIDENCE_FIELDS, evidence),
    }
    if report.plan_counts:
        summary.extend([f"plan_{outcome}", n] for outcome, n in report.plan_counts.items())
        rows = [[csv_cell(r.get(f)) for f in RECONCILIATION_FIELDS] for r in report.reconciliation]
        out["reconciliation"] = (RECONCILIATION_FIELDS, rows)
    return out


def to_csv(report: Report) -> str:
    """The report as CSV blocks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for name, (header, rows) in tables(report).items():
        writer.writerow(["section", name])
        writer.writerow(header)
        writer.writerows(rows)
        writer.writerow([])
    return buffer.getvalue()


def to_xlsx(report: Report) -> bytes:
    """The report as an XLSX workbook, one sheet per table (headers bold, frozen)."""
    book = Workbook()
    first = True
    bold = Font(bold=True)
    for name, (header, rows) in tables(report).items():
        sheet = book.active if first else book.create_sheet()
        assert sheet is not None  # noqa: S101 - a new workbook has its active sheet
        first = False
        sheet.title = name
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = bold
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        for i, column in enumerate(header, start=1):
            width = max([len(str(column)), *(len(str(r[i - 1])) for r in rows[:200])])
            sheet.column_dimensions[get_column_letter(i)].width = min(60, width + 2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
