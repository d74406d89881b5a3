"""Inhibitions: a firing source alert mutes target alerts that share labels.

As in Alertmanager's ``inhibit_rules``: a rule names its sources and targets
by label matchers and the labels that must be equal. Efir's defaults (issue 4)
are two rules, replaceable in configuration (``alerts.inhibit_rules``):

* a stale or offline feed mutes that channel's quota and content alerts: with
  no as-run data the figures are not news, and the feed alert says so;
* a recorded violation mutes the live risk alert of the same window, and its
  all-clear (the window did not "recover": it closed as a violation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from efir.core.alerting.alert import State
from efir.core.alerting.silence import Matcher, MatchOp

if TYPE_CHECKING:
    from collections.abc import Iterable

    from efir.core.alerting.alert import Alert

FEED_STALE = "EfirFeedStale"
FEED_OFFLINE = "EfirFeedOffline"
FEED_GAP = "EfirFeedGap"
UNKNOWN_CONTENT = "EfirUnknownContent"
QUOTA_RISK = "EfirQuotaRisk"
QUOTA_VIOLATION = "EfirQuotaViolation"
COUNT_RISK = "EfirCountRisk"
FORBIDDEN_ITEM = "EfirForbiddenItem"
RECEIVER_GONE = "EfirReceiverGone"
OPEN_ITEM_OVERDUE = "EfirOpenItemOverdue"
PLAN_RISK = "EfirPlanRisk"


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Firing ``source`` alerts mute ``target`` alerts whose ``equal`` labels are the same.

    ``mute_resolved``: the target's all-clear is muted too (otherwise a target
    that was notified as firing still gets its all-clear).
    """

    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]
    mute_resolved: bool = False

    def is_source(self, alert: Alert) -> bool:
        """Whether ``alert`` matches every source matcher."""
        labels = alert.labels
        return all(m.matches(labels) for m in self.source)

    def is_target(self, alert: Alert) -> bool:
        """Whether ``alert`` matches every target matcher."""
        labels = alert.labels
        return all(m.matches(labels) for m in self.target)


def alertnames(*names: str) -> tuple[Matcher, ...]:
    """A matcher for any of ``names`` (exact names: regex metacharacters are escaped)."""
    return (Matcher("alertname", "|".join(re.escape(n) for n in names), MatchOp.RE),)


DEFAULT_INHIBITIONS = (
    InhibitRule(
        alertnames(FEED_STALE, FEED_OFFLINE),
        alertnames(QUOTA_RISK, QUOTA_VIOLATION, COUNT_RISK, FEED_GAP, UNKNOWN_CONTENT, PLAN_RISK),
        ("channel",),
    ),
    InhibitRule(
        alertnames(QUOTA_VIOLATION),
        alertnames(QUOTA_RISK, COUNT_RISK, FORBIDDEN_ITEM, PLAN_RISK),
        ("channel", "rule", "window"),
        mute_resolved=True,
    ),
)


class Inhibitor:
    """Answers "is this alert inhibited?" for one snapshot of alerts.

    An alert never inhibits itself (a rule whose source and target both match
    one alert), as in Alertmanager.
    """

    def __init__(self, alerts: Iterable[Alert], rules: Iterable[InhibitRule]) -> None:
        """Index the firing sources of ``rules`` among ``alerts`` by their ``equal`` labels."""
        self.rules = tuple(rules)
        self._sources: list[dict[tuple[str, ...], set[str]]] = []
        firing = [a for a in alerts if a.state is State.FIRING]
        for rule in self.rules:
            index: dict[tuple[str, ...], set[str]] = {}
            for a in firing:
                if rule.is_source(a):
                    index.setdefault(_key(a, rule.equal), set()).add(a.fingerprint)
            self._sources.append(index)

    def inhibited(self, alert: Alert, *, resolved: bool = False) -> bool:
        """Whether ``alert`` is muted (for its all-clear when ``resolved``)."""
        for rule, index in zip(self.rules, self._sources, strict=True):
            if (resolved and not rule.mute_resolved) or not rule.is_target(alert):
                continue
            sources = index.get(_key(alert, rule.equal))
            if sources and (len(sources) > 1 or alert.fingerprint not in sources):
                return True
        return False


def _key(alert: Alert, names: tuple[str, ...]) -> tuple[str, ...]:
    labels = alert.labels
    return tuple(labels.get(n, "") for n in names)
