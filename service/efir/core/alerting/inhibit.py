"""Inhibitions: a firing source alert mutes target alerts that share labels.

Efir's two rules (DESIGN, issue 4):

* a stale or offline feed mutes that channel's quota and content alerts: with
  no as-run data the figures are not news, and the feed alert says so;
* a recorded violation mutes the live risk alert of the same window, and its
  all-clear (the window did not "recover": it closed as a violation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from efir.core.alerting.alert import State

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


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Firing ``sources`` alerts mute ``targets`` alerts whose ``equal`` labels are equal.

    ``mute_resolved``: the target's all-clear is muted too (otherwise a target
    that was notified as firing still gets its all-clear).
    """

    sources: frozenset[str]
    targets: frozenset[str]
    equal: tuple[str, ...]
    mute_resolved: bool = False


DEFAULT_INHIBITIONS = (
    InhibitRule(
        frozenset({FEED_STALE, FEED_OFFLINE}),
        frozenset({QUOTA_RISK, QUOTA_VIOLATION, COUNT_RISK, FEED_GAP, UNKNOWN_CONTENT}),
        ("channel",),
    ),
    InhibitRule(
        frozenset({QUOTA_VIOLATION}),
        frozenset({QUOTA_RISK, COUNT_RISK, FORBIDDEN_ITEM}),
        ("channel", "rule", "window"),
        mute_resolved=True,
    ),
)


class Inhibitor:
    """Answers "is this alert inhibited?" for one snapshot of alerts."""

    def __init__(self, alerts: Iterable[Alert], rules: Iterable[InhibitRule]) -> None:
        """Index the firing sources of ``rules`` among ``alerts``."""
        self.rules = tuple(rules)
        self._sources: list[set[tuple[str, ...]]] = []
        firing = [a for a in alerts if a.state is State.FIRING]
        for rule in self.rules:
            self._sources.append(
                {_key(a, rule.equal) for a in firing if a.alertname in rule.sources}
            )

    def inhibited(self, alert: Alert, *, resolved: bool = False) -> bool:
        """Whether ``alert`` is muted (for its all-clear when ``resolved``)."""
        for rule, sources in zip(self.rules, self._sources, strict=True):
            if alert.alertname not in rule.targets or (resolved and not rule.mute_resolved):
                continue
            if _key(alert, rule.equal) in sources:
                return True
        return False


def _key(alert: Alert, names: tuple[str, ...]) -> tuple[str, ...]:
    labels = alert.labels
    return tuple(labels.get(n, "") for n in names)
