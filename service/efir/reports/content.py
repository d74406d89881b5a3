"""What a compliance report says, whatever it is rendered as (PDF, XLSX, CSV).

* The **checklist**: each requirement of the rule pack, in the form of the
  state checklist, answered ``complies``, ``does not comply`` or ``not
  applicable`` for the period, with its legal reference. A requirement
  does not comply when any of its windows is a violation; it complies when
  none is and at least one window was judged whole; it is not applicable
  when the rule is off for the channel or no window of the period could be
  judged (only windows cut by the period's edges).
* The **windows**: every window of every active rule with its figures, as
  ``efir audit --format json`` gives them (the same dictionaries).
* The **evidence**: every aired item of each window in violation (for an item
  rule, the items that broke it), with its classification and where it was
  read (file and line).
* The **risk degree** (:mod:`efir.reports.risk`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from efir import __version__
from efir.core.engine import is_active
from efir.core.event import Layer
from efir.core.reconcile import Outcome, Slot, reconcile
from efir.core.rules import RuleType
from efir.core.status import Status
from efir.core.timebase import US_PER_S, format_local
from efir.core.window_object import window_dict
from efir.reports.risk import Risk, assess

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from efir.audit.run import AuditResult
    from efir.core.event import AsRunEvent
    from efir.core.rules import Rule

COMPLIES = "complies"
DOES_NOT_COMPLY = "does not comply"
NOT_APPLICABLE = "not applicable"

#: The evidence's columns, in order (CSV and XLSX headers).
EVIDENCE_FIELDS = (
    "rule",
    "window_start",
    "window_end",
    "event_id",
    "start",
    "end",
    "seconds_in_window",
    "kind",
    "language",
    "kk_fraction",
    "origin",
    "retransmission",
    "tags",
    "title",
    "house_id",
    "source",
)


#: The reconciliation's columns, in order.
RECONCILIATION_FIELDS = (
    "outcome",
    "planned_start",
    "planned_end",
    "planned_title",
    "planned_house_id",
    "aired_start",
    "aired_end",
    "aired_title",
    "aired_event_id",
    "shift_s",
    "length_change_s",
)


@dataclass(frozen=True, slots=True)
class Requirement:
    """One line of the checklist."""

    rule: str
    title: str
    legal_ref: str
    sanction: str
    answer: str
    windows: int
    violations: int
    risk: str | None
    why: str


@dataclass
class Report:
    """Everything a report shows; renderers only lay it out."""

    channel: dict[str, Any]
    period: dict[str, str]
    rule_pack: dict[str, Any]
    generated_at: str
    verdict: str
    checklist: list[Requirement]
    windows: list[dict[str, Any]]
    evidence: list[dict[str, Any]]
    risk: Risk
    input: dict[str, Any] = field(default_factory=dict)
    #: Plan against as-run (``--plan``): one row per planned and per inserted item.
    reconciliation: list[dict[str, Any]] = field(default_factory=list)
    #: Rows per outcome (every outcome named, zero included), when a plan was given.
    plan_counts: dict[str, int] = field(default_factory=dict)


def build(result: AuditResult) -> Report:
    """The report of an audit (the evidence's sources are added by :func:`with_sources`)."""
    engine = result.engine
    tz = engine.tz
    active = engine.rules
    types = {rule_id: rt.rule.type for rule_id, rt in active.items()}
    by_rule: dict[str, list[Any]] = {rule_id: [] for rule_id in active}
    for w in result.windows:
        by_rule[w.rule].append(w)
    checklist = [
        _requirement(rule, by_rule.get(rule.id), is_active(rule, result.channel))
        for rule in result.pack.rules
    ]
    evidence: list[dict[str, Any]] = []
    for w in result.windows:
        if w.verdict is not Status.VIOLATION:
            continue
        broke = {o.event_id for o in w.occurrences} if types[w.rule] is RuleType.FORBIDDEN else None
        for item, s, e in engine.aired(w.window_start, w.window_end, result.period.end):
            if broke is not None and item.event_id not in broke:
                continue
            event = item.event
            evidence.append(
                {
                    "rule": w.rule,
                    "window_start": format_local(w.window_start, tz),
                    "window_end": format_local(w.window_end, tz),
                    "event_id": item.event_id,
                    "start": format_local(s, tz),
                    "end": format_local(e, tz),
                    "seconds_in_window": (e - s) / US_PER_S,
                    "kind": str(event.kind) if event.kind is not None else None,
                    "language": event.language,
                    "kk_fraction": event.kk_fraction,
                    "origin": str(event.origin) if event.origin is not None else None,
                    "retransmission": event.retransmission,
                    "tags": " ".join(sorted(event.tags)),
                    "title": event.title,
                    "house_id": event.house_id,
                    "source": "",
                }
            )
    stats = result.stats
    return Report(
        channel={
            "id": result.channel.id,
            "media": str(result.channel.media),
            "timezone": result.channel.timezone,
            "flags": sorted(result.channel.flags),
        },
        period={
            "from": format_local(result.period.start, tz),
            "to": format_local(result.period.end, tz),
        },
        rule_pack={
            "name": result.pack.name,
            "version": result.pack.version,
            **({"what_if": result.pack.what_if} if result.pack.what_if else {}),
        },
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        verdict="violation" if result.violations else "complies",
        checklist=checklist,
        windows=[window_dict(w, tz, types[w.rule]) for w in result.windows],
        evidence=evidence,
        risk=assess(checklist),
        input={
            "files": stats.files,
            "events_valid": stats.lines_ok,
            "lines_rejected": stats.rejected,
            "efir_version": __version__,
        },
    )


def with_sources(report: Report, sources: Mapping[str, list[str]]) -> Report:
    """``report`` with each evidence item's source: where its versions were read."""
    for row in report.evidence:
        row["source"] = " ".join(sources.get(row["event_id"], []))
    return report


def with_plan(report: Report, result: AuditResult, plan: Iterable[AsRunEvent]) -> Report:
    """``report`` with the plan reconciled against what aired in the period.

    Planned items are the plan's primary items starting in the period;
    aired items the audit's primary items starting in it (corrections
    applied).
    """
    lo, hi = result.period.start, result.period.end
    tz = result.engine.tz
    planned = [
        Slot(e.event_id, e.start, e.start + e.duration, e.house_id, e.title)
        for e in plan
        if e.start is not None
        and e.duration
        and lo <= e.start < hi
        and e.layer is not Layer.SECONDARY
    ]
    aired = [
        Slot(item.event_id, item.start, e, item.event.house_id, item.event.title)
        for item, _, e in result.engine.aired(lo, hi, hi)
        if lo <= item.start < hi
    ]
    rows = []
    counts = dict.fromkeys((str(o) for o in Outcome), 0)
    for m in reconcile(planned, aired):
        counts[str(m.outcome)] += 1
        p, a = m.planned, m.aired
        shift, change = m.shift_us, m.length_change_us
        rows.append(
            {
                "outcome": str(m.outcome),
                "planned_start": format_local(p.start, tz) if p else None,
                "planned_end": format_local(p.end, tz) if p else None,
                "planned_title": p.title if p else None,
                "planned_house_id": p.house_id if p else None,
                "aired_start": format_local(a.start, tz) if a else None,
                "aired_end": format_local(a.end, tz) if a else None,
                "aired_title": a.title if a else None,
                "aired_event_id": a.event_id if a else None,
                "shift_s": shift / US_PER_S if shift is not None else None,
                "length_change_s": change / US_PER_S if change is not None else None,
            }
        )
    report.reconciliation = rows
    report.plan_counts = counts
    return report


def _requirement(rule: Rule, windows: list[Any] | None, active: bool) -> Requirement:
    """The checklist's answer for ``rule`` from its windows."""
    risk = str(rule.risk) if rule.risk is not None else None

    def answer(answer: str, count: int, violations: int, why: str) -> Requirement:
        return Requirement(
            rule.id, rule.title, rule.legal_ref, rule.sanction, answer, count, violations, risk, why
        )

    if not active or windows is None:
        return answer(NOT_APPLICABLE, 0, 0, "not evaluated for this channel (off or not for it)")
    violations = sum(1 for w in windows if w.verdict is Status.VIOLATION)
    whole = sum(1 for w in windows if w.verdict in {Status.COMPLIES, Status.VIOLATION})
    if violations:
        why = f"{violations} of {_windows(len(windows))} in violation"
        return answer(DOES_NOT_COMPLY, len(windows), violations, why)
    if whole:
        return answer(COMPLIES, len(windows), 0, f"{_windows(whole)} judged, none in violation")
    return answer(NOT_APPLICABLE, len(windows), 0, "no window of the period could be judged whole")


def _windows(n: int) -> str:
    return f"{n} window" if n == 1 else f"{n} windows"
