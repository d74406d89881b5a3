"""Audit reports: ``efir.audit/1`` JSON, CSV, and a table for people."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text

from efir import __version__
from efir.core.phrases import ENGLISH
from efir.core.rules import RuleType
from efir.core.status import Status
from efir.core.timebase import format_local
from efir.core.window_object import WINDOW_FIELDS, window_dict
from efir.core.wording import percent, status_words

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from rich.console import Console

    from efir.audit.run import AuditResult
    from efir.core.phrases import Phrases
    from efir.core.result import WindowResult
    from efir.core.rules import Rule

SCHEMA = "efir.audit/1"


def to_json(result: AuditResult, *, violations_only: bool = False) -> dict[str, Any]:
    """Build the ``efir.audit/1`` document (``violations_only``: list only violating windows).

    The verdict, the rules' counts and the input figures always cover every window.
    """
    tz = result.engine.tz
    active = result.engine.rules
    types = {rule_id: rt.rule.type for rule_id, rt in active.items()}
    verdicts: dict[str, Counter[str]] = {rule_id: Counter() for rule_id in active}
    for w in result.windows:
        verdicts[w.rule][str(w.verdict)] += 1
    stats = result.stats
    return {
        "schema": SCHEMA,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "efir_version": __version__,
        "channel": {
            "id": result.channel.id,
            "media": str(result.channel.media),
            "timezone": result.channel.timezone,
            "flags": sorted(result.channel.flags),
        },
        "rule_pack": {
            "name": result.pack.name,
            "version": result.pack.version,
            **({"what_if": result.pack.what_if} if result.pack.what_if else {}),
        },
        "period": {
            "from": format_local(result.period.start, tz),
            "to": format_local(result.period.end, tz),
        },
        "verdict": "violation" if result.violations else "complies",
        "input": {
            "files": stats.files,
            "events_valid": stats.lines_ok,
            "events_applied": stats.applied,
            "events_unchanged": stats.unchanged,
            "events_other_channels": dict(stats.other_channels),
            "lines_rejected": stats.rejected,
            "rejected_by_reason": dict(stats.reasons),
            "errors": [
                {"file": e.source, "line": e.line, "code": e.code, "reasons": list(e.reasons)}
                | ({"element": e.element} if e.element is not None else {})
                for e in stats.errors
            ],
        }
        | ({"records_skipped": dict(stats.skipped)} if stats.skipped else {})
        | ({"classification": result.classification} if result.classification else {}),
        "rules": [
            {
                "id": rt.rule.id,
                "type": str(rt.rule.type),
                "title": rt.rule.title,
                "legal_ref": rt.rule.legal_ref,
                "sanction": rt.rule.sanction,
                "severity": str(rt.rule.severity),
                "verified": rt.rule.verified,
                "grid": rt.rule.scheme.describe(),
                "windows": sum(verdicts[rule_id].values()),
                "verdicts": dict(verdicts[rule_id]),
            }
            for rule_id, rt in active.items()
        ],
        "windows": [
            window_dict(w, tz, types[w.rule])
            for w in result.windows
            if not violations_only or w.verdict is Status.VIOLATION
        ],
    }


def csv_cell(value: Any) -> Any:
    """A CSV cell: empty for null, ``true``/``false`` as in the JSON report."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def to_csv(result: AuditResult, *, violations_only: bool = False) -> str:
    """Render windows as CSV (one row per rule and window; occurrences as ids)."""
    tz = result.engine.tz
    types = {rule_id: rt.rule.type for rule_id, rt in result.engine.rules.items()}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*WINDOW_FIELDS, "occurrences"])
    for w in result.windows:
        if violations_only and w.verdict is not Status.VIOLATION:
            continue
        row = window_dict(w, tz, types[w.rule])
        ids = " ".join(o["event_id"] for o in row.get("occurrences", []))
        writer.writerow([csv_cell(row.get(f)) for f in WINDOW_FIELDS] + [ids])
    return buffer.getvalue()


def _hms(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


_STYLE = {
    "violation": "bold red",
    "partial": "yellow",
    "not_applicable": "dim",
    "complies": "green",
}


def _label(w: WindowResult, tz: ZoneInfo, say: Phrases) -> str:
    start, end = format_local(w.window_start, tz), format_local(w.window_end, tz)
    tail = end[11:16] if end[:10] == start[:10] else f"{end[:10]} {end[11:16]}"
    label = f"{start[:10]} {start[11:16]} .. {tail}"
    return label + (" (" + say("transitional") + ")" if w.transitional else "")


#: The figure columns of each kind of rule (message ids).
COLUMNS = {
    "count": ("count", "required"),
    "items": ("count", "items"),
    "items_unknown": ("count", "items", "unknown"),
    "share": ("share", "threshold", "numerator", "base", "unknown"),
}


def _columns(rule: Rule, say: Phrases) -> list[str]:
    if rule.type is RuleType.MIN_COUNT:
        names = COLUMNS["count"]
    elif rule.type is RuleType.FORBIDDEN:
        # A rule that reports unknown items apart (ads of unknown language) shows them.
        names = COLUMNS["items_unknown" if rule.unknown is not None else "items"]
    else:
        names = COLUMNS["share"]
    return [say(n) for n in names]


def _cells(rule: Rule, w: WindowResult, say: Phrases) -> list[str]:
    if rule.type is RuleType.MIN_COUNT:
        return [str(w.count), f"{w.threshold:g}" if w.threshold is not None else ""]
    if rule.type is RuleType.FORBIDDEN:
        cells = [str(w.count), ", ".join(o.event_id for o in w.occurrences[:5])]
        return [*cells, _hms(w.unknown_s)] if rule.unknown is not None else cells
    return [
        percent(w.share, 2, "", say),
        percent(w.threshold, 2, "", say),
        _hms(w.numerator_s),
        _hms(w.base_s),
        _hms(w.unknown_s),
    ]


def rule_table(
    rule: Rule,
    windows: list[WindowResult],
    tz: ZoneInfo,
    *,
    violations_only: bool,
    say: Phrases = ENGLISH,
) -> Table:
    """One rule's table: a line per window (item rules: only windows with occurrences)."""
    table = Table(
        title=f"{rule.id}: {say(rule.title)}", title_justify="left", caption_justify="left"
    )
    table.add_column(say("window (local)"))
    for name in _columns(rule, say):
        table.add_column(name, justify="right")
    table.add_column(say("gap"), justify="right")
    table.add_column(say("verdict"))
    for w in windows:
        verdict = str(w.verdict)
        quiet = rule.type is RuleType.FORBIDDEN or violations_only
        doubtful = rule.type is RuleType.FORBIDDEN and not violations_only and w.unknown_s
        if quiet and verdict != "violation" and not doubtful:
            continue
        style = _STYLE.get(verdict, "")
        words = status_words(w.verdict, say) if w.verdict is not None else verdict
        table.add_row(
            _label(w, tz, say), *_cells(rule, w, say), _hms(w.gap_s), Text(words, style=style)
        )
    counts = Counter(w.verdict for w in windows)
    totals = ", ".join(
        f"{n} {status_words(v, say) if v is not None else 'None'}"
        for v, n in sorted(counts.items(), key=lambda vn: str(vn[0]))
    )
    mark = "  [" + say("unverified") + "]" if not rule.verified else ""
    total = say("total {n} windows: {counts}", n=len(windows), counts=totals)
    table.caption = f"{rule.legal_ref}{mark}\n{total}"
    return table


def what_if_text(what: dict[str, Any], say: Phrases = ENGLISH) -> str:
    """The what-if of a pack in words (``--as-of``, ``--threshold``)."""
    parts = []
    if what.get("as_of"):
        parts.append(say("every threshold as in force on {date}", date=what["as_of"]))
    parts.extend(f"{rule} = {value:g}" for rule, value in sorted(what.get("overrides", {}).items()))
    return "; ".join(parts) + " " + say("(not the thresholds of the audited period)")


def print_table(
    result: AuditResult,
    console: Console,
    *,
    violations_only: bool = False,
    say: Phrases = ENGLISH,
) -> None:
    """Print one table per rule: a line per window, violations highlighted, totals.

    ``say``: the language of the words (the ids, figures and legal references stay).
    """
    tz = result.engine.tz
    by_rule: dict[str, list[WindowResult]] = {rule_id: [] for rule_id in result.engine.rules}
    for w in result.windows:
        by_rule[w.rule].append(w)
    period = f"{format_local(result.period.start, tz)} .. {format_local(result.period.end, tz)}"
    console.print(
        "[bold]"
        + say("Efir audit")
        + "[/bold]  "
        + say(
            "channel {channel} ({media}, {timezone})  pack {pack} {version}",
            channel=f"[bold]{result.channel.id}[/bold]",
            media=result.channel.media,
            timezone=result.channel.timezone,
            pack=result.pack.name,
            version=result.pack.version,
        )
        + "\n"
        + say("period {period}", period=period)
    )
    if result.pack.what_if:
        console.print(
            "[bold yellow]"
            + say("what-if")
            + "[/bold yellow]: "
            + what_if_text(result.pack.what_if, say)
        )
    for rule_id, windows in by_rule.items():
        rule = result.engine.rules[rule_id].rule
        console.print(rule_table(rule, windows, tz, violations_only=violations_only, say=say))
    stats = result.stats
    line = say(
        "events: {applied} applied, {unchanged} duplicates/unchanged, {rejected} rejected lines",
        applied=stats.applied,
        unchanged=stats.unchanged,
        rejected=stats.rejected,
    )
    if stats.other_channels:
        line += ", " + say("{n} of other channels", n=sum(stats.other_channels.values()))
    console.print(line)
    if stats.skipped:
        console.print(
            say("records not airtime, skipped: {n}", n=sum(stats.skipped.values()))
            + " ("
            + "; ".join(f"{n} {why}" for why, n in stats.skipped.most_common(5))
            + ")"
        )
    if result.classification:
        c = result.classification
        counts = ", ".join(
            say("rule {i}: {n}", i=i, n=r["records"]) for i, r in enumerate(c["rules"], 1)
        )
        console.print(
            say(
                "classified: {counts}; default: {n} records",
                counts=counts or say("no rules"),
                n=c["default"]["records"],
            )
        )
    if result.violations:
        console.print(
            "[bold red]"
            + say("VIOLATION")
            + "[/bold red]: "
            + say("{n} window(s) in violation", n=result.violations)
        )
    else:
        console.print(
            "[bold green]" + say("COMPLIES") + "[/bold green]: " + say("no window in violation")
        )
