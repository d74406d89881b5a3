"""A built report as a file: its formats, their media types, the bytes of each."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from efir.reports.content import Report


class ReportFormat(StrEnum):
    """The formats a report is written in."""

    PDF = "pdf"
    XLSX = "xlsx"
    CSV = "csv"


MEDIA_TYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.CSV: "text/csv; charset=utf-8",
}


def render(made: Report, fmt: str, lang: str = "en") -> bytes:
    """``made`` as ``pdf`` (in ``lang``), ``xlsx`` or ``csv`` bytes."""
    # ReportLab and openpyxl are imported when a report is written, not with the CLI.
    if fmt == ReportFormat.PDF:
        from efir.reports.pdf import to_pdf  # noqa: PLC0415

        return to_pdf(made, lang)
    from efir.reports.tabular import to_csv, to_xlsx  # noqa: PLC0415

    return to_xlsx(made) if fmt == ReportFormat.XLSX else to_csv(made).encode("utf-8")
