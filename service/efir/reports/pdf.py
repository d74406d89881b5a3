"""A report as PDF, with ReportLab.

ReportLab is pure Python with no system libraries (WeasyPrint needs Pango
and Cairo on the host, Typst a second toolchain), builds tables that run over
pages, and embeds the TrueType font it is given: DejaVu Sans, shipped in
``fonts/`` (its licence beside it), which has every Kazakh and Russian
letter; the standard PDF fonts have no Cyrillic. The text is real text, so
a reader can search and copy the verdicts.

Pages: the cover (channel, period, verdict, the risk indicator and the
checklist), then each rule's windows, then the evidence of the windows in
violation.
"""

from __future__ import annotations

import io
from importlib import resources
from typing import TYPE_CHECKING, Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    LongTable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    TableStyle,
)

from efir.audit.report import what_if_text
from efir.i18n import Translator

if TYPE_CHECKING:
    from reportlab.platypus import Flowable

    from efir.reports.content import Report, Requirement

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
_ANSWER_COLOUR = {
    "complies": colors.HexColor("#1b7a3a"),
    "does not comply": colors.HexColor("#b3261e"),
    "not applicable": colors.HexColor("#666666"),
}
_DEGREE_COLOUR = {
    "high": colors.HexColor("#b3261e"),
    "medium": colors.HexColor("#b36b00"),
    "low": colors.HexColor("#1b7a3a"),
}


def _fonts() -> None:
    """Register the shipped fonts once."""
    if FONT in pdfmetrics.getRegisteredFontNames():
        return
    folder = resources.files("efir.reports") / "fonts"
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        with resources.as_file(folder / file) as path:
            pdfmetrics.registerFont(TTFont(name, str(path)))


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=8.5, leading=10.5)
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=7, leading=8.5),
        "title": ParagraphStyle("title", parent=base, fontName=BOLD, fontSize=16, leading=20),
        "h2": ParagraphStyle("h2", parent=base, fontName=BOLD, fontSize=11.5, leading=15),
        "cell": ParagraphStyle("cell", parent=base, fontSize=7, leading=8.5),
        "head": ParagraphStyle("head", parent=base, fontName=BOLD, fontSize=7, leading=8.5),
    }


def _esc(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _table(
    header: list[str], rows: list[list[Any]], widths: list[float], styles: dict[str, ParagraphStyle]
) -> LongTable:
    data = [[Paragraph(_esc(h), styles["head"]) for h in header]]
    data += [
        [c if isinstance(c, Paragraph) else Paragraph(_esc(c), styles["cell"]) for c in row]
        for row in rows
    ]
    table = LongTable(data, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#999999")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _seconds(value: Any) -> str:
    if value is None or value == "":
        return ""
    whole = round(float(value))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _why(r: Requirement, tr: Translator) -> str:
    """The checklist's "Windows" cell in the report's language."""
    if r.answer == "does not comply":
        return tr("{n} of {total} windows in violation", n=r.violations, total=r.windows)
    if r.answer == "complies":
        return tr("{n} windows judged, none in violation", n=r.windows)
    if r.windows:
        return tr("no window of the period could be judged whole")
    return tr("not evaluated for this channel")


def _method(report: Report, tr: Translator) -> str:
    risk = report.risk
    if risk.gross_breached:
        return tr("gross breach of {rules}: 100", rules=", ".join(risk.gross_breached))
    (mb, mj), (nb, nj) = risk.major, risk.minor
    return tr(
        "0.7 × 100 × {mb}/{mj} major + 0.3 × 100 × {nb}/{nj} minor = {indicator}",  # noqa: RUF001 - the multiplication sign is meant
        mb=mb,
        mj=mj,
        nb=nb,
        nj=nj,
        indicator=tr.number(risk.indicator),
    )


def to_pdf(report: Report, lang: str | Translator = "en") -> bytes:
    """The report as a PDF document (A4 landscape) in a language (``en``, ``kk``, ``ru``)."""
    _fonts()
    tr = lang if isinstance(lang, Translator) else Translator(lang)
    lang = tr.lang
    styles = _styles()
    width = landscape(A4)[0] - 24 * mm
    story: list[Flowable] = []
    ch = report.channel
    pack = f"{report.rule_pack['name']} {report.rule_pack['version']}"
    story += [
        Paragraph(_esc(tr("Compliance report: {channel}", channel=ch["id"])), styles["title"]),
        Spacer(1, 3 * mm),
        Paragraph(
            _esc(
                tr(
                    "{media}, {timezone}; period {start} to {end}; rule pack {pack}; "
                    "generated {generated} by Efir {version}",
                    media=ch["media"],
                    timezone=ch["timezone"],
                    start=tr.when_text(report.period["from"]),
                    end=tr.when_text(report.period["to"]),
                    pack=pack,
                    generated=tr.when_text(report.generated_at),
                    version=report.input.get("efir_version", ""),
                )
            ),
            styles["body"],
        ),
    ]
    what_if = report.rule_pack.get("what_if")
    if what_if:
        text = (
            tr(
                "What-if: every threshold as in force on {date} "
                "(not the thresholds of the audited period)",
                date=what_if["as_of"],
            )
            if lang != "en" and what_if.get("as_of") and not what_if.get("overrides")
            else f"What-if: {what_if_text(what_if)}"
        )
        story.append(Paragraph(_esc(text), styles["body"]))
    risk = report.risk
    colour = _DEGREE_COLOUR[risk.degree].hexval()[2:]
    indicator = _esc(tr.number(risk.indicator))
    risk_line = _esc(
        tr(
            "Risk indicator {indicator} ({degree}): {method}.",
            indicator="\x00",
            degree=tr(risk.degree),
            method=_method(report, tr),
        )
    ).replace("\x00", f'<font color="#{colour}">{indicator}</font>')
    story += [
        Spacer(1, 3 * mm),
        Paragraph(
            _esc(tr("Verdict of the period: {verdict}", verdict=tr(report.verdict))),
            styles["h2"],
        ),
        Paragraph(
            risk_line
            + " "
            + _esc(
                tr(
                    "A self-assessment by the method of the risk criteria (one gross breach "
                    "100; otherwise major breaches weighted 0.7 and minor 0.3, each as "
                    "breached over judged requirements times 100; 61 to 100 high, 31 to 60 "
                    "medium); the degrees of the requirements are Efir's, kept in the rule "
                    "pack."
                )
            ),
            styles["body"],
        ),
        Spacer(1, 3 * mm),
        Paragraph(_esc(tr("Checklist: what the as-run shows")), styles["h2"]),
    ]
    rows = []
    for r in report.checklist:
        answer = _ANSWER_COLOUR[r.answer].hexval()[2:]
        rows.append(
            [
                tr(r.title),
                r.legal_ref,
                Paragraph(
                    f'<font color="#{answer}"><b>{_esc(tr(r.answer))}</b></font>', styles["cell"]
                ),
                _why(r, tr),
                tr(r.risk) if r.risk else "",
            ]
        )
    story.append(
        _checklist_table(
            rows, [0.28 * width, 0.3 * width, 0.12 * width, 0.22 * width, 0.08 * width], styles, tr
        )
    )
    story += _windows(report, styles, width, tr)
    story += _evidence(report, styles, width, tr)
    story += _reconciliation(report, styles, width, tr)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=12 * mm,
        title=f"Efir compliance report {ch['id']} {report.period['from']}",
        author="Efir",
    )
    doc.build(story)
    return out.getvalue()


def _checklist_table(
    rows: list[list[Any]], widths: list[float], styles: dict[str, ParagraphStyle], tr: Translator
) -> LongTable:
    header = ["Requirement", "Legal reference", "Answer", "Windows", "Degree"]
    return _table([tr(h) for h in header], rows, widths, styles)


def _windows(
    report: Report, styles: dict[str, ParagraphStyle], width: float, tr: Translator
) -> list[Flowable]:
    story: list[Flowable] = []
    titles = {r.rule: r.title for r in report.checklist}
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for w in report.windows:
        by_rule.setdefault(w["rule"], []).append(w)
    header = [
        "Window",
        "Qualifying",
        "Base",
        "Share",
        "Threshold",
        "Count",
        "Unknown",
        "Gap",
        "Verdict",
        "Items",
    ]
    widths = [0.2, 0.08, 0.08, 0.08, 0.07, 0.05, 0.08, 0.07, 0.09, 0.2]
    for rule, windows in by_rule.items():
        story += [
            PageBreak(),
            Paragraph(f"{_esc(rule)}: {_esc(titles.get(rule, ''))}", styles["h2"]),
        ]
        rows = [
            [
                f"{w['window_start']} .. {w['window_end']}"
                + (f" ({tr('transitional')})" if w.get("transitional") else ""),
                _seconds(w.get("numerator_s")),
                _seconds(w.get("base_s")),
                tr.percent(w.get("share"), 2) if w.get("share") is not None else "",
                "" if w.get("threshold") is None else f"{w['threshold']:g}",
                "" if w.get("count") is None else w["count"],
                _seconds(w.get("unknown_s")),
                _seconds(w.get("gap_s")),
                tr(str(w.get("verdict") or "").replace("_", " ")) if w.get("verdict") else "",
                " ".join(o["event_id"] for o in w.get("occurrences", [])[:10]),
            ]
            for w in windows
        ]
        story.append(_table([tr(h) for h in header], rows, [f * width for f in widths], styles))
    return story


def _evidence(
    report: Report, styles: dict[str, ParagraphStyle], width: float, tr: Translator
) -> list[Flowable]:
    title = tr("Evidence: the items of each window in violation")
    story: list[Flowable] = [PageBreak(), Paragraph(_esc(title), styles["h2"])]
    if not report.evidence:
        none = tr("No window of the period is in violation.")
        story.append(Paragraph(_esc(none), styles["body"]))
        return story
    header = ["Rule", "Window", "Item", "Aired (in window)", "s", "Kind", "Language", "Origin",
              "Title", "Source"]  # fmt: skip
    widths = [0.09, 0.13, 0.1, 0.15, 0.05, 0.07, 0.07, 0.06, 0.13, 0.15]
    rows = [
        [
            e["rule"],
            e["window_start"],
            e["event_id"],
            f"{e['start']} .. {e['end'][11:]}",
            f"{e['seconds_in_window']:g}",
            e["kind"] or "",
            (e["language"] or tr("unknown"))
            + (f" (kk {e['kk_fraction']:g})" if e.get("kk_fraction") else ""),
            e["origin"] or "",
            e["title"] or "",
            e["source"] or "",
        ]
        for e in report.evidence
    ]
    story.append(_table([tr(h) for h in header], rows, [f * width for f in widths], styles))
    return story


def _reconciliation(
    report: Report, styles: dict[str, ParagraphStyle], width: float, tr: Translator
) -> list[Flowable]:
    if not report.plan_counts:
        return []
    counts = ", ".join(f"{n} {tr(o.replace('_', ' '))}" for o, n in report.plan_counts.items())
    story: list[Flowable] = [
        PageBreak(),
        Paragraph(_esc(tr("Plan against as-run")), styles["h2"]),
        Paragraph(_esc(counts), styles["body"]),
        Spacer(1, 2 * mm),
    ]
    header = ["Outcome", "Planned", "Planned item", "Aired", "Aired item", "Shift s", "Length s"]
    widths = [0.11, 0.2, 0.17, 0.2, 0.17, 0.07, 0.08]
    rows = [
        [
            tr(r["outcome"].replace("_", " ")),
            f"{r['planned_start']} .. {r['planned_end'][11:]}" if r["planned_start"] else "",
            r["planned_title"] or r["planned_house_id"] or "",
            f"{r['aired_start']} .. {r['aired_end'][11:]}" if r["aired_start"] else "",
            r["aired_title"] or r["aired_event_id"] or "",
            "" if r["shift_s"] is None else f"{r['shift_s']:+g}",
            "" if r["length_change_s"] is None else f"{r['length_change_s']:+g}",
        ]
        for r in report.reconciliation
    ]
    story.append(_table([tr(h) for h in header], rows, [f * width for f in widths], styles))
    return story
