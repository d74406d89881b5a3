"""Who is told what, and when: grouping, reminders, silences, inhibitions.

Notifications are grouped per receiver and channel, as Alertmanager groups by
label: the first notification of a quiet group waits ``group_wait`` so that
alerts raised together arrive together; later changes to a group are sent at
most every ``group_interval``. A firing alert that nobody acknowledged is sent
again every ``repeat_interval``. An escalation (a higher severity than the
receiver was last told) counts as news; a de-escalation does not.

The planner is pure: it returns the notifications to send and the new
bookkeeping (:class:`Sent` per receiver and alert, :class:`GroupState` per
receiver and channel), which the daemon stores in the same transaction as the
outbox rows, so a crash can neither lose a notification nor send it twice
under different ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from efir.core.alerting.alert import Alert, Severity, State
from efir.core.alerting.inhibit import Inhibitor
from efir.core.alerting.routing import receivers_for

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from efir.core.alerting.inhibit import InhibitRule
    from efir.core.alerting.routing import Route
    from efir.core.alerting.silence import Silence


@dataclass(frozen=True, slots=True)
class Grouping:
    """Group timing in µs."""

    group_wait_us: int = 10_000_000
    group_interval_us: int = 60_000_000
    repeat_interval_us: int = 3600_000_000


@dataclass(frozen=True, slots=True)
class Sent:
    """What one receiver was last told about one alert."""

    episode: int
    severity: Severity
    at: int
    resolved: bool = False


@dataclass(frozen=True, slots=True)
class GroupState:
    """A receiver's group for one channel: when it was last sent, and since when changes wait."""

    last_sent: int | None = None
    waiting_since: int | None = None


class Change(StrEnum):
    """Why an alert is in a notification."""

    NEW = "new"
    ESCALATED = "escalated"
    REMINDER = "reminder"
    RESOLVED = "resolved"
    UNCHANGED = "unchanged"  # still firing; listed for context


@dataclass(frozen=True, slots=True)
class Notified:
    """One alert in a notification, as it was at planning time."""

    alert: Alert
    change: Change


@dataclass(frozen=True, slots=True)
class Notification:
    """A message to one receiver about one channel's group of alerts."""

    receiver: str
    group: str
    created_at: int
    alerts: tuple[Notified, ...]

    @property
    def status(self) -> str:
        """``firing`` if any alert in it fires, else ``resolved``."""
        return "firing" if any(n.change is not Change.RESOLVED for n in self.alerts) else "resolved"


@dataclass(frozen=True, slots=True)
class Policy:
    """Everything the planner needs besides state."""

    routes: tuple[Route, ...]
    grouping: Grouping = field(default_factory=Grouping)
    inhibitions: tuple[InhibitRule, ...] = ()


@dataclass
class Plan:
    """The planner's output: notifications and the bookkeeping to store with them."""

    notifications: list[Notification] = field(default_factory=list)
    sent: dict[tuple[str, str], Sent | None] = field(default_factory=dict)
    groups: dict[tuple[str, str], GroupState | None] = field(default_factory=dict)
    #: The earliest instant (µs) at which planning again may send something; ``None``: nothing due.
    next_due: int | None = None


def owed(sent: Mapping[tuple[str, str], Sent]) -> frozenset[str]:
    """Fingerprints of alerts some receiver was told about and not yet given the all-clear."""
    return frozenset(fp for (_, fp), s in sent.items() if not s.resolved)


def plan(
    alerts: Mapping[str, Alert],
    *,
    silences: Iterable[Silence],
    sent: Mapping[tuple[str, str], Sent],
    groups: Mapping[tuple[str, str], GroupState],
    policy: Policy,
    now: int,
    disabled: frozenset[str] = frozenset(),
) -> Plan:
    """Decide what to send at ``now``."""
    planner = _Planner(alerts, silences, sent, groups, policy, now)
    # A receiver told about an episode keeps hearing about it until its all-clear,
    # even when the alert no longer matches its route (a de-escalated alert).
    told: dict[str, list[str]] = {}
    for (receiver, fp), s in sent.items():
        if fp in alerts and not s.resolved:
            told.setdefault(fp, []).append(receiver)
    members: dict[tuple[str, str], list[Alert]] = {}
    for alert in alerts.values():
        if alert.state is State.PENDING:
            continue
        receivers = receivers_for(alert, policy.routes, disabled)
        receivers += [r for r in told.get(alert.fingerprint, ()) if r not in receivers]
        for receiver in receivers:
            members.setdefault((receiver, alert.channel), []).append(alert)
    for key, group_alerts in sorted(members.items()):
        planner.group(key, group_alerts)
    # Bookkeeping of alerts that are gone (forgotten or archived).
    for receiver, fp in sent:
        if fp not in alerts:
            planner.out.sent[receiver, fp] = None
    return planner.out


class _Planner:
    """One planning pass: shared inputs, the output being built."""

    def __init__(  # noqa: PLR0917 - private; the inputs of plan()
        self,
        alerts: Mapping[str, Alert],
        silences: Iterable[Silence],
        sent: Mapping[tuple[str, str], Sent],
        groups: Mapping[tuple[str, str], GroupState],
        policy: Policy,
        now: int,
    ) -> None:
        self.sent = sent
        self.groups = groups
        self.timing = policy.grouping
        self.now = now
        self.inhibitor = Inhibitor(alerts.values(), policy.inhibitions)
        self.silences = [s for s in silences if s.active(now)]
        self.out = Plan()

    def _told(self, receiver: str, alert: Alert) -> Sent | None:
        """What ``receiver`` believes is firing about ``alert`` (``None``: nothing).

        Any episode counts: a receiver told about an episode whose all-clear is
        still owed sees a new episode as the same situation going on.
        """
        told = self.sent.get((receiver, alert.fingerprint))
        return told if told is not None and not told.resolved else None

    def _silenced(self, alert: Alert) -> bool:
        return any(s.mutes(alert.labels, self.now) for s in self.silences)

    def _classify(self, receiver: str, alert: Alert) -> Change | None:
        """What ``receiver`` should hear about ``alert`` now (``None``: nothing)."""
        told = self._told(receiver, alert)
        if alert.state is State.RESOLVED:
            if told is None:
                return None
            if self._silenced(alert):
                return None  # the all-clear waits for the silence to end
            if self.inhibitor.inhibited(alert, resolved=True):
                # Superseded (a recorded violation): remember it was dealt with, tell nobody.
                self.out.sent[receiver, alert.fingerprint] = replace(told, resolved=True)
                return None
            return Change.RESOLVED
        if self._silenced(alert) or self.inhibitor.inhibited(alert):
            return None
        if told is None:
            return Change.NEW
        if alert.severity.rank > told.severity.rank:
            return Change.ESCALATED
        repeat_at = told.at + self.timing.repeat_interval_us
        if alert.acked_by is None and self.now >= repeat_at:
            return Change.REMINDER
        if alert.acked_by is None:
            self._due(repeat_at)
        return Change.UNCHANGED

    def group(self, key: tuple[str, str], group_alerts: list[Alert]) -> None:
        """Plan one receiver's group of one channel."""
        receiver = key[0]
        news: list[Notified] = []
        context: list[Notified] = []
        for alert in sorted(group_alerts, key=lambda a: (a.alertname, a.rule, a.window)):
            change = self._classify(receiver, alert)
            if change is Change.UNCHANGED:
                context.append(Notified(alert, change))
            elif change is not None:
                news.append(Notified(alert, change))
        state = self.groups.get(key, GroupState())
        if not news:
            if state.waiting_since is not None:
                self.out.groups[key] = GroupState(state.last_sent, None)
            return
        g = self.timing
        waiting_since = state.waiting_since if state.waiting_since is not None else self.now
        # A group with nothing told and firing starts afresh: it waits group_wait.
        fresh = state.last_sent is None or (
            not context and all(n.change is Change.NEW for n in news)
        )
        if fresh:
            due = waiting_since + g.group_wait_us
        else:
            due = max(waiting_since, (state.last_sent or 0) + g.group_interval_us)
        if self.now < due:
            if state.waiting_since is None:
                self.out.groups[key] = GroupState(state.last_sent, waiting_since)
            self._due(due)
            return
        self._send(key, (*news, *context))

    def _send(self, key: tuple[str, str], notified: tuple[Notified, ...]) -> None:
        receiver, now = key[0], self.now
        self.out.notifications.append(Notification(receiver, key[1], now, notified))
        for n in notified:
            a = n.alert
            told = self._told(receiver, a)
            if n.change is Change.RESOLVED and told is not None:
                self.out.sent[receiver, a.fingerprint] = replace(told, at=now, resolved=True)
                continue
            highest = a.severity
            if told is not None and told.severity.rank > highest.rank:
                highest = told.severity
            self.out.sent[receiver, a.fingerprint] = Sent(a.episode, highest, now)
            if a.acked_by is None:
                self._due(now + self.timing.repeat_interval_us)
        self.out.groups[key] = GroupState(now, None)

    def _due(self, at: int) -> None:
        if self.out.next_due is None or at < self.out.next_due:
            self.out.next_due = at
