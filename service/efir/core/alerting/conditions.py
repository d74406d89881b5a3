"""From live figures to alert conditions, with the words a compliance officer reads.

Severities follow the status (issue 4): ``at_risk`` (and a low ad budget) is a
``warning``; ``critical`` and ``exhausted`` an ``error``; ``unavoidable`` and
``violation`` are ``critical``. Every text names the window in the channel's
local time, the figures, and what to do by when.

Each builder writes its texts in the language of ``say`` (English by
default); :func:`in_languages` builds the same conditions once more per
language the receivers read, and keeps those texts on the English ones
(``Condition.texts``), so each receiver gets its own language.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
from efir.core.phrases import ENGLISH
from efir.core.rules import RuleType
from efir.core.status import Status
from efir.core.timebase import US_PER_S, format_local
from efir.core.wording import (
    advice,
    duration,
    instant,
    percent,
    status_words,
    window_label,
    window_words,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from zoneinfo import ZoneInfo

    from efir.core.book import Item
    from efir.core.forecast import Forecast
    from efir.core.phrases import Phrases
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


def in_languages(
    build: Callable[[Phrases], Condition | list[Condition]], others: Mapping[str, Phrases]
) -> list[Condition]:
    """The conditions ``build`` makes in English, with their texts in each of ``others``.

    ``build`` (a builder of this module with all but its ``say`` given) must
    make the same conditions, in the same order, whatever the language.
    """

    def made_in(say: Phrases) -> list[Condition]:
        got = build(say)
        return got if isinstance(got, list) else [got]

    made = made_in(ENGLISH)
    if not others:
        return made
    texts: list[dict[str, tuple[str, str]]] = [{} for _ in made]
    for lang, say in others.items():
        for i, c in enumerate(made_in(say)):
            texts[i][lang] = (c.summary, c.description)
    return [replace(c, texts=t) for c, t in zip(made, texts, strict=True)]


def plan_condition(  # noqa: PLR0917 - the window, its forecast, when and the language
    ch: ChannelRef,
    rule: Rule,
    w: WindowResult,
    f: Forecast,
    now: int,
    say: Phrases = ENGLISH,
) -> Condition:
    """The plan's verdict on an open share window while the current pace does not page.

    Active when the rest of the window, aired as planned, misses the
    threshold although the window's own status is not at risk yet: the one
    moment a swap in the plan is still cheap. The description names the fix.
    """
    span = window_words(w, ch.tz, say)
    title = say(rule.title)
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
            say(
                "{item} at {time}",
                item=s.title or s.event_id,
                time=instant(s.start, ch.tz, now, say),
            )
            for s in f.fix[:6]
        )
        if len(f.fix) > 6:
            swaps = say("{items} and {n} more", items=swaps, n=len(f.fix) - 6)
        if f.fixable:
            action = say(
                "Replace {items} with qualifying content of the same length "
                "({n} item(s), the fewest that suffice).",
                items=swaps,
                n=len(f.fix),
            )
        else:
            action = say(
                "Even replacing {items} would not be enough: add qualifying content.", items=swaps
            )
        summary = say(
            "{channel}: {rule}, {window}: the plan ends at {share}, under {threshold}",
            channel=ch.name,
            rule=title,
            window=span,
            share=percent(f.share, say=say),
            threshold=percent(w.threshold, say=say),
        )
        description = say(
            "On track so far, but if the rest airs as planned {rule} for {window} fails. {action}",
            rule=title,
            window=span,
            action=action,
        )
    else:
        summary = say(
            "{channel}: {rule}, {window}: the plan keeps the window",
            channel=ch.name,
            rule=title,
            window=span,
        )
        description = say(
            "As planned, {rule} for {window} ends at {share}.",
            rule=title,
            window=span,
            share=percent(f.share, say=say),
        )
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


def rule_conditions(  # noqa: PLR0917 - the window, when, the limits and the language
    ch: ChannelRef,
    rule: Rule,
    w: WindowResult,
    now: int,
    limits: Thresholds,
    say: Phrases = ENGLISH,
) -> list[Condition]:
    """Conditions for one rule's *open* window at ``now``: its risk, unknown content."""
    alertname = {
        RuleType.MIN_SHARE: QUOTA_RISK,
        RuleType.MAX_SHARE: QUOTA_RISK,
        RuleType.MIN_COUNT: COUNT_RISK,
        RuleType.FORBIDDEN: FORBIDDEN_ITEM,
    }[rule.type]
    label = window_label(w, ch.tz)
    span = window_words(w, ch.tz, say)
    title = say(rule.title)
    values = _values(w, ch.tz)
    # A window lost only through open items' airtime pages as its settled
    # status says: an item whose end is late (a catch-up, a stuck break) has
    # its own alert, and the window pages once closed items lock it in.
    paging = w.settled_status if w.provisional and w.settled_status else w.status
    severity = SEVERITY_OF_STATUS.get(paging)
    out: list[Condition] = []
    if severity is not None:
        summary, description = _risk_text(ch, rule, w, now, say)
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
                summary=say(
                    "{channel}: {rule}, {window}: back on track ({figures})",
                    channel=ch.name,
                    rule=title,
                    window=span,
                    figures=_fine_figures(rule, w, say),
                ),
                description=say(
                    "{rule} for {window} is {status} again. No action needed.",
                    rule=title,
                    window=span,
                    status=status_words(w.status, say),
                ),
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
                summary=say(
                    "{channel}: {length} of unclassified content in {window} ({rule})",
                    channel=ch.name,
                    length=duration(w.unknown_s, say),
                    window=span,
                    rule=rule.id,
                )
                if active
                else say(
                    "{channel}: unclassified content in {window} resolved ({rule})",
                    channel=ch.name,
                    window=span,
                    rule=rule.id,
                ),
                description=say(
                    "{length} aired in {window} without the language or origin that {rule} "
                    "needs; it counts against the share. Fix the metadata in the playout "
                    "system (or send a correction) so the figures are exact.",
                    length=duration(w.unknown_s, say),
                    window=span,
                    rule=_lower(title),
                )
                if active
                else say("The unclassified airtime is back below the alert threshold."),
                window_end=w.window_end,
                values=values,
            )
        )
    return out


def closed_conditions(
    ch: ChannelRef, rule: Rule, w: WindowResult, say: Phrases = ENGLISH
) -> list[Condition]:
    """Conditions for a *closed* window (just closed, or revised by a late event)."""
    label = window_label(w, ch.tz)
    span = window_words(w, ch.tz, say)
    title = say(rule.title)
    values = _values(w, ch.tz)
    figures = _closed_figures(rule, w, say)
    status = status_words(w.status, say)
    # A verdict that rests on an open item is recorded, not paged, until it settles.
    violated = w.verdict is Status.VIOLATION and not w.provisional
    closed = say("The window {window} closed: {figures}.", window=span, figures=figures)
    out: list[Condition] = [
        # The live alert of the window ends with the window; this is its all-clear text.
        Condition(
            alertname=_live_alertname(rule),
            channel=ch.id,
            rule=rule.id,
            window=label,
            active=False,
            severity=Severity.WARNING,
            summary=say(
                "{channel}: {rule}, {window}: closed, {status} ({figures})",
                channel=ch.name,
                rule=title,
                window=span,
                status=status,
                figures=figures,
            ),
            description=closed
            if violated
            else closed + " " + say("It complies; no action needed."),
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
            summary=say(
                "{channel}: VIOLATION of {rule}, {window} ({figures})",
                channel=ch.name,
                rule=_lower(title),
                window=span,
                figures=figures,
            )
            if violated
            else say(
                "{channel}: {rule}, {window} revised to {status} ({figures})",
                channel=ch.name,
                rule=title,
                window=span,
                status=status,
                figures=figures,
            ),
            description=say(
                "The window {window} closed as a violation: {figures}. Legal basis: "
                "{legal}. Sanction: {sanction}. Record the cause and the corrective action "
                "for the regulator; the window's figures are in Efir's windows API and the "
                "audit.",
                window=span,
                figures=figures,
                legal=rule.legal_ref,
                sanction=rule.sanction or say("see the rule pack"),
            )
            if violated
            else say(
                "A late correction changed the window {window}: {figures}. "
                "The earlier violation no longer stands.",
                window=span,
                figures=figures,
            ),
            window_end=None,
            sticky=True,
            values=values,
        )
    )
    return out


def feed_conditions(  # noqa: PLR0917 - the feed's state, when, the limit, the language
    ch: ChannelRef,
    state: str,
    last_heard: int | None,
    now: int,
    stale_after_s: float,
    say: Phrases = ENGLISH,
) -> list[Condition]:
    """Feed alerts: silent (stale) or offline adapter. Both mute the channel's quota alerts."""
    heard = say("never") if last_heard is None else format_local(last_heard, ch.tz)
    values = {"state": state, "last_heard": None if last_heard is None else heard}
    held = say(
        "Quota alerts for this channel are held back until the feed is back: "
        "without as-run data their figures are not news."
    )
    if last_heard is None:
        silent = say("{channel}: no as-run data (last heard {heard})", channel=ch.name, heard=heard)
    else:
        silent = say(
            "{channel}: no as-run data for {length} (last heard {heard})",
            channel=ch.name,
            length=duration((now - last_heard) / US_PER_S, say),
            heard=heard,
        )
    return [
        Condition(
            alertname=FEED_STALE,
            channel=ch.id,
            rule="feed",
            window="",
            active=state == "stale",
            severity=Severity.ERROR,
            summary=silent
            if state == "stale"
            else say("{channel}: as-run feed is back", channel=ch.name),
            description=say(
                "Efir has received no event and no heartbeat from {channel} for more than "
                "{length}. Check the playout adapter and its MQTT connection; airtime not "
                "reported is counted as a gap.",
                channel=ch.name,
                length=duration(stale_after_s, say),
            )
            + " "
            + held
            if state == "stale"
            else say("Events or heartbeats arrive again."),
            values=values,
        ),
        Condition(
            alertname=FEED_OFFLINE,
            channel=ch.id,
            rule="feed",
            window="",
            active=state == "offline",
            severity=Severity.ERROR,
            summary=say(
                "{channel}: playout adapter offline (last heard {heard})",
                channel=ch.name,
                heard=heard,
            )
            if state == "offline"
            else say("{channel}: playout adapter online", channel=ch.name),
            description=say(
                "The adapter of {channel} reported offline (its Last Will or a retained "
                "status). Restart it or check the playout host.",
                channel=ch.name,
            )
            + " "
            + held
            if state == "offline"
            else say("The adapter reported online."),
            values=values,
        ),
    ]


def gap_condition(
    ch: ChannelRef,
    w: WindowResult,
    limits: Thresholds,
    gap_s: float | None = None,
    say: Phrases = ENGLISH,
) -> Condition:
    """A feed gap inside the given window (the channel's finest open window).

    ``gap_s``: the gap to judge, when not ``w.gap_s`` (only on-air time counts for a
    channel with on-air hours).
    """
    gap = w.gap_s if gap_s is None else gap_s
    active = gap >= limits.gap_s
    span = window_words(w, ch.tz, say)
    return Condition(
        alertname=FEED_GAP,
        channel=ch.id,
        rule="feed",
        window=window_label(w, ch.tz),
        active=active,
        severity=Severity.WARNING,
        summary=say(
            "{channel}: {length} with no reported airtime in {window}",
            channel=ch.name,
            length=duration(gap, say),
            window=span,
        )
        if active
        else say(
            "{channel}: gaps in {window} back below {length}",
            channel=ch.name,
            window=span,
            length=duration(limits.gap_s, say),
        ),
        description=say(
            "{length} of {window} has no as-run item. Airtime that is not reported cannot "
            "count towards any quota: check that the adapter sends every item (secondary "
            "events, live programmes) and send the missing ones.",
            length=duration(gap, say),
            window=span,
        )
        if active
        else say("No action needed."),
        window_end=w.window_end,
        values={"gap_s": gap},
    )


def open_item_condition(
    ch: ChannelRef, overdue: list[tuple[Item, int]], now: int, say: Phrases = ENGLISH
) -> Condition:
    """Items whose ``start`` came but whose ``end`` is late: ``(item, bound)`` pairs.

    An open item counts up to its planned end plus a grace (or a cap when it
    has no planned duration); past that ``bound`` it counts no more and its
    windows' lost statuses do not page, so a stuck break or a lost ``end`` says
    so here instead.
    """
    active = bool(overdue)
    names = []
    for item, bound in overdue[:5]:
        kind = item.event.kind.value if item.event.kind is not None else "item"
        names.append(
            say(
                "{item} ({kind}, started {began}, end {late} overdue)",
                item=item.event.title or item.event_id,
                kind=say(kind.replace("_", " ")),
                began=format_local(item.start, ch.tz)[11:19],
                late=duration((now - bound) / US_PER_S, say),
            )
        )
    listed = ", ".join(names)
    if len(overdue) > 5:
        listed = say("{items} and {n} more", items=listed, n=len(overdue) - 5)
    return Condition(
        alertname=OPEN_ITEM_OVERDUE,
        channel=ch.id,
        rule="feed",
        window="",
        active=active,
        severity=Severity.WARNING,
        summary=say("{channel}: no end received for {items}", channel=ch.name, items=listed)
        if active
        else say("{channel}: every open item has its end", channel=ch.name),
        description=say(
            "Efir received the start of these items but not their end, long after their "
            "planned end (or, with no planned duration, the configured cap). Their airtime "
            "is counted only up to that bound: from {bound} on it is a gap, and quota "
            "statuses resting on them do not page as lost. If the item is really still on "
            "air (a stuck break), take it off; otherwise check that the playout adapter "
            "sends end events, and send the missing one.",
            bound=format_local(overdue[0][1], ch.tz)[11:19],
        )
        if active
        else say("No action needed."),
        values={"overdue": len(overdue)},
    )


def receiver_condition(receiver: str, reason: str | None, say: Phrases = ENGLISH) -> Condition:
    """A receiver disabled after ``410 Gone`` (routed to the other receivers)."""
    return Condition(
        alertname="EfirReceiverGone",
        channel="efir",
        rule="delivery",
        window=receiver,
        active=reason is not None,
        severity=Severity.ERROR,
        summary=say("Efir: alert receiver {receiver} disabled", receiver=repr(receiver))
        if reason
        else say("receiver {receiver} enabled", receiver=repr(receiver)),
        description=say(
            "The receiver {receiver} answered {reason}; Efir stopped sending to it. Fix its "
            "configuration, then enable it again: POST /api/v1/receivers/{name}/enable.",
            receiver=repr(receiver),
            reason=reason,
            name=receiver,
        )
        if reason
        else say("Deliveries resumed."),
    )


def _lower(title: str) -> str:
    """A rule's title inside a sentence (its first letter small)."""
    return title[:1].lower() + title[1:]


def _live_alertname(rule: Rule) -> str:
    if rule.type is RuleType.MIN_COUNT:
        return COUNT_RISK
    if rule.type is RuleType.FORBIDDEN:
        return FORBIDDEN_ITEM
    return QUOTA_RISK


def _risk_text(
    ch: ChannelRef, rule: Rule, w: WindowResult, now: int, say: Phrases
) -> tuple[str, str]:
    span = window_words(w, ch.tz, say)
    title = say(rule.title)
    words = status_words(w.status, say)
    left = duration((w.window_end - max(now, w.window_start)) / US_PER_S, say)
    if rule.type is RuleType.FORBIDDEN:
        items = ", ".join(
            say(
                "{item} at {time}",
                item=o.title or o.event_id,
                time=format_local(o.start, ch.tz)[11:19],
            )
            for o in w.occurrences
        )
        return (
            say("{channel}: {rule} aired ({items})", channel=ch.name, rule=title, items=items),
            say(
                "{rule}: {items} aired in {window}. Legal basis: {legal}. Take it off air if "
                "it is still running and record the cause.",
                rule=title,
                items=items,
                window=span,
                legal=rule.legal_ref,
            ),
        )
    if rule.type is RuleType.MIN_COUNT:
        need = f"{w.threshold or 0.0:.0f}"
        return (
            say(
                "{channel}: {rule}, {window}: {status} ({count} of {need})",
                channel=ch.name,
                rule=title,
                window=span,
                status=words,
                count=w.count,
                need=need,
            ),
            say(
                "{count} of the {need} required by {legal} aired so far in {window}, {left} "
                "left. Schedule the missing item(s) before the window ends.",
                count=w.count,
                need=need,
                legal=rule.legal_ref,
                window=span,
                left=left,
            ),
        )
    share, threshold = percent(w.share, say=say), percent(w.threshold, say=say)
    todo = advice(w, ch.tz, now, say)
    todo = (
        todo[:1].upper() + todo[1:] if todo else say("{rule} is {status}", rule=title, status=words)
    )
    if rule.type is RuleType.MAX_SHARE:
        budget = duration(max(w.budget_s or 0.0, 0.0), say)
        summary = say(
            "{channel}: {rule}, {window}: {status} ({budget} left)",
            channel=ch.name,
            rule=title,
            window=span,
            status=words,
            budget=budget,
        )
        detail = say(
            "{todo}. So far {share} against {threshold} (cap); budget {budget} if the window "
            "airs to its end, {left} of the window remain. Legal basis: {legal}.",
            todo=todo,
            share=share,
            threshold=threshold,
            budget=budget,
            left=left,
            legal=rule.legal_ref,
        )
        return summary, detail
    needed = duration(w.needed_s or 0.0, say)
    if w.deadline is None:
        summary = say(
            "{channel}: {rule}, {window}: {status} (need {needed} more)",
            channel=ch.name,
            rule=title,
            window=span,
            status=words,
            needed=needed,
        )
    else:
        summary = say(
            "{channel}: {rule}, {window}: {status} (need {needed} more, by {deadline})",
            channel=ch.name,
            rule=title,
            window=span,
            status=words,
            needed=needed,
            deadline=instant(w.deadline, ch.tz, now, say),
        )
    detail = say(
        "{todo}. So far {share} against {threshold}; {left} of the window remain. "
        "Legal basis: {legal}.",
        todo=todo,
        share=share,
        threshold=threshold,
        left=left,
        legal=rule.legal_ref,
    )
    return summary, detail


def _fine_figures(rule: Rule, w: WindowResult, say: Phrases) -> str:
    if rule.type is RuleType.MIN_COUNT:
        return say("{count} aired", count=w.count)
    if rule.type is RuleType.FORBIDDEN:
        return say("nothing aired")
    return say(
        "{share} against {threshold}",
        share=percent(w.share, say=say),
        threshold=percent(w.threshold, say=say),
    )


def _closed_figures(rule: Rule, w: WindowResult, say: Phrases) -> str:
    if rule.type is RuleType.MIN_COUNT:
        return say(
            "{count} aired of {need} required", count=w.count, need=f"{w.threshold or 0:.0f}"
        )
    if rule.type is RuleType.FORBIDDEN:
        return say("{count} forbidden item(s) aired", count=w.count or 0)
    share, threshold = percent(w.share, say=say), percent(w.threshold, say=say)
    if rule.type is RuleType.MAX_SHARE:
        return say("{share}, {threshold} cap", share=share, threshold=threshold)
    return say("{share}, {threshold} required", share=share, threshold=threshold)
