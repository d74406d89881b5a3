"""From live figures to alert conditions, with the words a compliance officer reads.

Severities follow the status (issue 4): ``at_risk`` (and a low ad budget) is a
``warning``; ``critical`` and ``exhausted`` an ``error``; ``unavoidable`` and
``violation`` are ``critical``. Every text names the window in the channel's
local time, the figures, and what to do by when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from efir.core.alerting.alert import Condition, Severity
from efir.core.alerting.inhibit import (
    COUNT_RISK,
    FEED_GAP,
    FEED_OFFLINE,
    FEED_STALE,
    FORBIDDEN_ITEM,
    OPEN_ITEM_OVERDUE,
    PLAN_RISK,
    QUOTA_RISK,
    QUOTA_VIOLATION,
    UNKNOWN_CONTENT,
)
from efir.core.rules import RuleType
from efir.core.status import Status
from efir.core.timebase import US_PER_S, format_local
from efir.core.wording import advice, duration, instant, percent, window_label, window_words

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.book import Item
    from efir.core.forecast import Forecast
    from efir.core.result import WindowResult
    from efir.core.rules import Rule

SEVERITY_OF_STATUS = {
    Status.AT_RISK: Severity.WARNING,
    Status.CRITICAL: Severity.ERROR,
    Status.EXHAUSTED: Severity.ERROR,
    Status.UNAVOIDABLE: Severity.CRITICAL,
    Status.VIOLATION: Severity.CRITICAL,
}

_DAY_US = 24 * 3600 * US_PER_S


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Feed and content alert thresholds (seconds)."""

    gap_s: float = 300.0
    unknown_s: float = 600.0


@dataclass(frozen=True, slots=True)
class ChannelRef:
    """The channel an alert is about: id, display name and timezone."""

    id: str
    name: str
    tz: ZoneInfo


def _values(w: WindowResult, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "status": w.status.value,
        "window_start": format_local(w.window_start, tz),
        "window_end": format_local(w.window_end, tz),
        "share": w.share,
        "threshold": w.threshold,
        "numerator_s": w.numerator_s,
        "base_s": w.base_s,
        "needed_s": w.needed_s,
        "slack_s": w.slack_s,
        "deadline": None if w.deadline is None else format_local(w.deadline, tz),
        "budget_s": w.budget_s,
        "unknown_s": w.unknown_s,
        "gap_s": w.gap_s,
        "count": w.count,
    }


def plan_condition(ch: ChannelRef, rule: Rule, w: WindowResult, f: Forecast, now: int) -> Condition:
    """The plan's verdict on an open share window while the current pace does not page.

    Active when the rest of the window, aired as planned, misses the
    threshold although the window's own status is not at risk yet: the one
    moment a swap in the plan is still cheap. The description names the fix.
    """
    span = window_words(w, ch.tz)
    paging = w.settled_status if w.provisional and w.settled_status else w.status
    active = f.status is Status.VIOLATION and SEVERITY_OF_STATUS.get(paging) is None
    values = {
        **_values(w, ch.tz),
        "forecast_share": f.share,
        "fix": [
            {"event_id": s.event_id, "title": s.title, "start": format_local(s.start, ch.tz)}
            for s in f.fix
        ],
    }
    if active:
        swaps = ", ".join(
            f"{s.title or s.event_id} at {instant(s.start, ch.tz, now)}" for s in f.fix[:6]
        )
        more = f" and {len(f.fix) - 6} more" if len(f.fix) > 6 else ""
        if f.fixable:
            action = (
                f"Replace {swaps}{more} with qualifying content of the same length "
                f"({len(f.fix)} item{'s' if len(f.fix) != 1 else ''}, the fewest that suffice)."
            )
        else:
            action = f"Even replacing {swaps}{more} would not be enough: add qualifying content."
        summary = (
            f"{ch.name}: {rule.title}, {span}: the plan ends at {percent(f.share)}, "
            f"under {percent(w.threshold)}"
        )
        description = (
            f"On track so far, but if the rest airs as planned {rule.title} for {span} fails. "
            f"{action}"
        )
    else:
        summary = f"{ch.name}: {rule.title}, {span}: the plan keeps the window"
        description = f"As planned, {rule.title} for {span} ends at {percent(f.share)}."
    return Condition(
        alertname=PLAN_RISK,
        channel=ch.id,
        rule=rule.id,
        window=window_label(w, ch.tz),
        active=active,
        severity=Severity.WARNING,
        summary=summary,
        description=description,
        window_end=w.window_end,
        values=values,
    )


def rule_conditions(
    ch: ChannelRef, rule: Rule, w: WindowResult, now: int, limits: Thresholds
) -> list[Condition]:
    """Conditions for one rule's *open* window at ``now``: its risk, unknown content."""
    alertname = {
        RuleType.MIN_SHARE: QUOTA_RISK,
        RuleType.MAX_SHARE: QUOTA_RISK,
        RuleType.MIN_COUNT: COUNT_RISK,
        RuleType.FORBIDDEN: FORBIDDEN_ITEM,
    }[rule.type]
    label = window_label(w, ch.tz)
    span = window_words(w, ch.tz)
    values = _values(w, ch.tz)
    # A window lost only through open items' airtime pages as its settled
    # status says: an item whose end is late (a catch-up, a stuck break) has
    # its own alert, and the window pages once closed items lock it in.
    paging = w.settled_status if w.provisional and w.settled_status else w.status
    severity = SEVERITY_OF_STATUS.get(paging)
    out: list[Condition] = []
    if severity is not None:
        summary, description = _risk_text(ch, rule, w, now, span)
        out.append(
            Condition(
                alertname=alertname,
                channel=ch.id,
                rule=rule.id,
                window=label,
                active=True,
                severity=severity,
                summary=summary,
                description=description,
                window_end=w.window_end,
                values=values,
            )
        )
    else:
        out.append(
            Condition(
                alertname=alertname,
                channel=ch.id,
                rule=rule.id,
                window=label,
                active=False,
                severity=Severity.WARNING,
                summary=f"{ch.name}: {rule.title}, {span}: back on track "
                f"({_fine_figures(rule, w)})",
                description=f"{rule.title} for {span} is {w.status.value.replace('_', ' ')} again. "
                "No action needed.",
                window_end=w.window_end,
                values=values,
            )
        )
    if rule.is_share and w.unknown_s is not None:
        active = w.unknown_s >= limits.unknown_s
        out.append(
            Condition(
                alertname=UNKNOWN_CONTENT,
                channel=ch.id,
                rule=rule.id,
                window=label,
                active=active,
                severity=Severity.WARNING,
                summary=(
                    f"{ch.name}: {duration(w.unknown_s)} of unclassified content in {span} "
                    f"({rule.id})"
                )
                if active
                else f"{ch.name}: unclassified content in {span} resolved ({rule.id})",
                description=(
                    f"{duration(w.unknown_s)} aired in {span} without the language or origin "
                    f"that {rule.title.lower()} needs; it counts against the share. Fix the "
                    "metadata in the playout system (or send a correction) so the figures are "
                    "exact."
                )
                if active
                else "The unclassified airtime is back below the alert threshold.",
                window_end=w.window_end,
                values=values,
            )
        )
    return out


def closed_conditions(ch: ChannelRef, rule: Rule, w: WindowResult) -> list[Condition]:
    """Conditions for a *closed* window (just closed, or revised by a late event)."""
    label = window_label(w, ch.tz)
    span = window_words(w, ch.tz)
    values = _values(w, ch.tz)
    figures = _closed_figures(rule, w)
    # A verdict that rests on an open item is recorded, not paged, until it settles.
    violated = w.verdict is Status.VIOLATION and not w.provisional
    out: list[Condition] = [
        # The live alert of the window ends with the window; this is its all-clear text.
        Condition(
            alertname=_live_alertname(rule),
            channel=ch.id,
            rule=rule.id,
            window=label,
            active=False,
            severity=Severity.WARNING,
            summary=f"{ch.name}: {rule.title}, {span}: closed, {w.status.value} ({figures})",
            description=f"The window {span} closed: {figures}."
            + ("" if violated else " It complies; no action needed."),
            window_end=w.window_end,
            values=values,
        )
    ]
    out.append(
        Condition(
            alertname=QUOTA_VIOLATION,
            channel=ch.id,
            rule=rule.id,
            window=label,
            active=violated,
            severity=Severity.CRITICAL,
            summary=f"{ch.name}: VIOLATION of {rule.title.lower()}, {span} ({figures})"
            if violated
            else f"{ch.name}: {rule.title}, {span} revised to {w.status.value} ({figures})",
            description=(
                f"The window {span} closed as a violation: {figures}. Legal basis: "
                f"{rule.legal_ref}. Sanction: {rule.sanction or 'see the rule pack'}. "
                "Record the cause and the corrective action for the regulator; the "
                "window's figures are in Efir's windows API and the audit."
            )
            if violated
            else f"A late correction changed the window {span}: {figures}. "
            "The earlier violation no longer stands.",
            window_end=None,
            sticky=True,
            values=values,
        )
    )
    return out


def feed_conditions(
    ch: ChannelRef, state: str, last_heard: int | None, now: int, stale_after_s: float
) -> list[Condition]:
    """Feed alerts: silent (stale) or offline adapter. Both mute the channel's quota alerts."""
    heard = "never" if last_heard is None else format_local(last_heard, ch.tz)
    silent_for = "" if last_heard is None else f" for {duration((now - last_heard) / US_PER_S)}"
    values = {"state": state, "last_heard": None if last_heard is None else heard}
    held = (
        " Quota alerts for this channel are held back until the feed is back: "
        "without as-run data their figures are not news."
    )
    return [
        Condition(
            alertname=FEED_STALE,
            channel=ch.id,
            rule="feed",
            window="",
            active=state == "stale",
            severity=Severity.ERROR,
            summary=f"{ch.name}: no as-run data{silent_for} (last heard {heard})"
            if state == "stale"
            else f"{ch.name}: as-run feed is back",
            description=(
                f"Efir has received no event and no heartbeat from {ch.name} for more than "
                f"{duration(stale_after_s)}. Check the playout adapter and its MQTT "
                "connection; airtime not reported is counted as a gap." + held
            )
            if state == "stale"
            else "Events or heartbeats arrive again.",
            values=values,
        ),
        Condition(
            alertname=FEED_OFFLINE,
            channel=ch.id,
            rule="feed",
            window="",
            active=state == "offline",
            severity=Severity.ERROR,
            summary=f"{ch.name}: playout adapter offline (last heard {heard})"
            if state == "offline"
            else f"{ch.name}: playout adapter online",
            description=(
                f"The adapter of {ch.name} reported offline (its Last Will or a retained "
                "status). Restart it or check the playout host." + held
            )
            if state == "offline"
            else "The adapter reported online.",
            values=values,
        ),
    ]


def gap_condition(
    ch: ChannelRef, w: WindowResult, limits: Thresholds, gap_s: float | None = None
) -> Condition:
    """A feed gap inside the given window (the channel's finest open window).

    ``gap_s``: the gap to judge, when not ``w.gap_s`` (only on-air time counts for a
    channel with on-air hours).
    """
    gap = w.gap_s if gap_s is None else gap_s
    active = gap >= limits.gap_s
    span = window_words(w, ch.tz)
    return Condition(
        alertname=FEED_GAP,
        channel=ch.id,
        rule="feed",
        window=window_label(w, ch.tz),
        active=active,
        severity=Severity.WARNING,
        summary=f"{ch.name}: {duration(gap)} with no reported airtime in {span}"
        if active
        else f"{ch.name}: gaps in {span} back below {duration(limits.gap_s)}",
        description=(
            f"{duration(gap)} of {span} has no as-run item. Airtime that is not "
            "reported cannot count towards any quota: check that the adapter sends every "
            "item (secondary events, live programmes) and send the missing ones."
        )
        if active
        else "No action needed.",
        window_end=w.window_end,
        values={"gap_s": gap},
    )


def open_item_condition(ch: ChannelRef, overdue: list[tuple[Item, int]], now: int) -> Condition:
    """Items whose ``start`` came but whose ``end`` is late: ``(item, bound)`` pairs.

    An open item counts up to its planned end plus a grace (or a cap when it
    has no planned duration); past that ``bound`` it counts no more and its
    windows' lost statuses do not page, so a stuck break or a lost ``end`` says
    so here instead.
    """
    active = bool(overdue)
    names = []
    for item, bound in overdue[:5]:
        what = item.event.title or item.event_id
        kind = item.event.kind.value if item.event.kind is not None else "item"
        began = format_local(item.start, ch.tz)[11:19]
        late = duration((now - bound) / US_PER_S)
        names.append(f"{what} ({kind}, started {began}, end {late} overdue)")
    more = f" and {len(overdue) - 5} more" if len(overdue) > 5 else ""
    return Condition(
        alertname=OPEN_ITEM_OVERDUE,
        channel=ch.id,
        rule="feed",
        window="",
        active=active,
        severity=Severity.WARNING,
        summary=f"{ch.name}: no end received for {', '.join(names)}{more}"
        if active
        else f"{ch.name}: every open item has its end",
        description=(
            "Efir received the start of these items but not their end, long after their "
            "planned end (or, with no planned duration, the configured cap). Their airtime "
            f"is counted only up to that bound: from {format_local(overdue[0][1], ch.tz)[11:19]}"
            " on it is a gap, and quota statuses resting on them do not page as lost. "
            "If the item is really still on air (a stuck break), take it off; otherwise check "
            "that the playout adapter sends end events, and send the missing one."
        )
        if active
        else "No action needed.",
        values={"overdue": len(overdue)},
    )


def receiver_condition(receiver: str, reason: str | None) -> Condition:
    """A receiver disabled after ``410 Gone`` (routed to the other receivers)."""
    return Condition(
        alertname="EfirReceiverGone",
        channel="efir",
        rule="delivery",
        window=receiver,
        active=reason is not None,
        severity=Severity.ERROR,
        summary=f"Efir: alert receiver {receiver!r} disabled"
        if reason
        else f"receiver {receiver!r} enabled",
        description=(
            f"The receiver {receiver!r} answered {reason}; Efir stopped sending to it. "
            "Fix its configuration, then enable it again: POST /api/v1/receivers/"
            f"{receiver}/enable."
        )
        if reason
        else "Deliveries resumed.",
    )


def _live_alertname(rule: Rule) -> str:
    if rule.type is RuleType.MIN_COUNT:
        return COUNT_RISK
    if rule.type is RuleType.FORBIDDEN:
        return FORBIDDEN_ITEM
    return QUOTA_RISK


def _risk_text(ch: ChannelRef, rule: Rule, w: WindowResult, now: int, span: str) -> tuple[str, str]:
    words = w.status.value.replace("_", " ")
    left = duration((w.window_end - max(now, w.window_start)) / US_PER_S)
    if rule.type is RuleType.FORBIDDEN:
        items = ", ".join(
            f"{o.title or o.event_id} at {format_local(o.start, ch.tz)[11:19]}"
            for o in w.occurrences
        )
        return (
            f"{ch.name}: {rule.title} aired ({items})",
            (
                f"{rule.title}: {items} aired in {span}. Legal basis: {rule.legal_ref}. Take it "
                "off air if it is still running and record the cause."
            ),
        )
    if rule.type is RuleType.MIN_COUNT:
        need = w.threshold or 0.0
        return (
            f"{ch.name}: {rule.title}, {span}: {words} ({w.count} of {need:.0f})",
            (
                f"{w.count} of the {need:.0f} required by {rule.legal_ref} aired so far in {span}, "
                f"{left} left. Schedule the missing item(s) before the window ends."
            ),
        )
    figures = f"{percent(w.share)} against {percent(w.threshold)}"
    todo = advice(w, ch.tz, now)
    todo = todo[:1].upper() + todo[1:] if todo else f"{rule.title} is {words}"
    if rule.type is RuleType.MAX_SHARE:
        budget = max(w.budget_s or 0.0, 0.0)
        summary = f"{ch.name}: {rule.title}, {span}: {words} ({duration(budget)} left)"
        detail = (
            f"{todo}. So far {figures} (cap); budget {duration(budget)} if the window airs "
            f"to its end, {left} of the window remain. Legal basis: {rule.legal_ref}."
        )
        return summary, detail
    needed = duration(w.needed_s or 0.0)
    deadline = "" if w.deadline is None else f", by {instant(w.deadline, ch.tz, now)}"
    summary = f"{ch.name}: {rule.title}, {span}: {words} (need {needed} more{deadline})"
    detail = (
        f"{todo}. So far {figures}; {left} of the window remain. Legal basis: {rule.legal_ref}."
    )
    return summary, detail


def _fine_figures(rule: Rule, w: WindowResult) -> str:
    if rule.type is RuleType.MIN_COUNT:
        return f"{w.count} aired"
    if rule.type is RuleType.FORBIDDEN:
        return "nothing aired"
    return f"{percent(w.share)} against {percent(w.threshold)}"


def _closed_figures(rule: Rule, w: WindowResult) -> str:
    if rule.type is RuleType.MIN_COUNT:
        return f"{w.count} aired of {w.threshold or 0:.0f} required"
    if rule.type is RuleType.FORBIDDEN:
        return f"{w.count or 0} forbidden item(s) aired"
    word = "cap" if rule.type is RuleType.MAX_SHARE else "required"
    return f"{percent(w.share)}, {percent(w.threshold)} {word}"
