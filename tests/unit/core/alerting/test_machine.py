"""Stateful property tests of the alert state machine and the notification planner.

The machine drives one channel with a quota alert (severity changing), a feed
alert, silences and acknowledgements through random time steps, and checks
after every step, against its own model:

* no notification about a condition that never held for ``for`` (no flapping);
* at most one ``new`` notification per receiver per qualifying run;
* nothing is told while a matching silence is in force;
* quota alerts are not told while the channel's feed alert fires;
* once everything clears and silences end, every alert resolves and every
  receiver that was told "firing" gets exactly one all-clear, even after a
  silence longer than the day resolved alerts are normally kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from efir.core.alerting.alert import Alert, Condition, Severity, State
from efir.core.alerting.dispatch import (
    Change,
    Grouping,
    GroupState,
    Notification,
    Policy,
    Sent,
    owed,
    plan,
)
from efir.core.alerting.inhibit import DEFAULT_INHIBITIONS, FEED_STALE, QUOTA_RISK
from efir.core.alerting.lifecycle import Timing, apply, step
from efir.core.alerting.routing import Route
from efir.core.alerting.silence import Matcher, MatchOp, Silence

S = 1_000_000
TIMING = Timing(
    for_us={Severity.WARNING: 60 * S, Severity.ERROR: 30 * S, Severity.CRITICAL: 0},
    keep_firing_us=120 * S,
)
GROUPING = Grouping(group_wait_us=10 * S, group_interval_us=60 * S, repeat_interval_us=900 * S)
POLICY = Policy(
    routes=(Route("ops"), Route("studio", severities=frozenset({"critical"}))),
    grouping=GROUPING,
    inhibitions=DEFAULT_INHIBITIONS,
)
CH = "kz1"


@dataclass
class Run:
    """The model's view of one continuous stretch of a condition holding."""

    start: int
    qualified: bool = False


def quota(*, active: bool, severity: Severity) -> Condition:
    return Condition(
        alertname=QUOTA_RISK,
        channel=CH,
        rule="lang_6h",
        window="w1",
        active=active,
        severity=severity,
        summary="q",
        description="d",
    )


def stale(*, active: bool) -> Condition:
    return Condition(
        alertname=FEED_STALE,
        channel=CH,
        rule="feed",
        window="",
        active=active,
        severity=Severity.ERROR,
        summary="s",
        description="d",
    )


class AlertMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1_800_000_000 * S
        self.alerts: dict[str, Alert] = {}
        self.sent: dict[tuple[str, str], Sent] = {}
        self.groups: dict[tuple[str, str], GroupState] = {}
        self.silences: list[Silence] = []
        self.quota_on = False
        self.severity = Severity.WARNING
        self.stale_on = False
        self.runs: dict[str, list[Run]] = {
            quota(active=True, severity=Severity.WARNING).fingerprint: [],
            stale(active=True).fingerprint: [],
        }
        self.log: list[tuple[int, Notification]] = []
        self.news: dict[tuple[str, str], int] = {}

    # ------------------------------------------------------------ driving
    def _evaluate(self) -> None:
        conds = [quota(active=self.quota_on, severity=self.severity), stale(active=self.stale_on)]
        for cond, on in zip(conds, (self.quota_on, self.stale_on), strict=True):
            runs = self.runs[cond.fingerprint]
            if on:
                if not runs or runs[-1].start < 0:
                    runs.append(Run(self.now))
                run = runs[-1]
                severity = cond.severity
                if self.now - run.start >= TIMING.for_us[severity]:
                    run.qualified = True
            elif runs and runs[-1].start >= 0:
                runs.append(Run(-1))  # a break: the next holding starts a new run
        apply(self.alerts, step(self.alerts, CH, conds, self.now, TIMING, owed=owed(self.sent)))
        p = plan(
            self.alerts,
            silences=self.silences,
            sent=self.sent,
            groups=self.groups,
            policy=POLICY,
            now=self.now,
        )
        for key, value in p.sent.items():
            if value is None:
                self.sent.pop(key, None)
            else:
                self.sent[key] = value
        for key, g in p.groups.items():
            if g is None:
                self.groups.pop(key, None)
            else:
                self.groups[key] = g
        for n in p.notifications:
            self._check(n)
            self.log.append((self.now, n))

    def _check(self, n: Notification) -> None:
        stale_firing = any(
            a.alertname == FEED_STALE and a.state is State.FIRING for a in self.alerts.values()
        )
        for item in n.alerts:
            a = item.alert
            assert not any(s.mutes(a.labels, self.now) for s in self.silences), "silence broken"
            if a.alertname == QUOTA_RISK and item.change is not Change.RESOLVED:
                assert not stale_firing, "quota alert told while the feed is stale"
            if item.change is Change.NEW:
                key = (n.receiver, a.fingerprint)
                self.news[key] = self.news.get(key, 0) + 1
                qualified = sum(r.qualified for r in self.runs[a.fingerprint])
                assert self.news[key] <= qualified, "notified a condition that never held for `for`"

    # -------------------------------------------------------------- rules
    @rule(on=st.booleans(), severity=st.sampled_from(list(Severity)))
    def set_quota(self, on: bool, severity: Severity) -> None:
        self.quota_on, self.severity = on, severity
        self._evaluate()

    @rule(on=st.booleans())
    def set_stale(self, on: bool) -> None:
        self.stale_on = on
        self._evaluate()

    @rule(dt=st.integers(min_value=0, max_value=200))
    def advance(self, dt: int) -> None:
        self.now += dt * S
        self._evaluate()

    @rule(hours=st.integers(min_value=1, max_value=30))
    def advance_hours(self, hours: int) -> None:
        self.now += hours * 3600 * S
        self._evaluate()

    @rule(
        name=st.sampled_from(["alertname", "severity", "channel"]),
        value=st.sampled_from([QUOTA_RISK, FEED_STALE, "warning", "critical", CH, "other"]),
        op=st.sampled_from(list(MatchOp)),
        # Mostly short silences; some outlast the day resolved alerts are normally kept.
        minutes=st.one_of(st.integers(min_value=1, max_value=30), st.just(3 * 24 * 60)),
    )
    def add_silence(self, name: str, value: str, op: MatchOp, minutes: int) -> None:
        sid = f"s{len(self.silences)}"
        self.silences.append(
            Silence(
                sid,
                (Matcher(name, value, op),),
                self.now,
                self.now + minutes * 60 * S,
                "t",
                "",
                self.now,
            )
        )
        self._evaluate()

    @precondition(lambda self: any(a.state is State.FIRING for a in self.alerts.values()))
    @rule()
    def acknowledge(self) -> None:
        for fp, a in list(self.alerts.items()):
            if a.state is State.FIRING:
                self.alerts[fp] = a.acknowledge("officer", "on it", self.now)
        self._evaluate()

    @rule()
    def quiesce(self) -> None:
        """Everything clears and silences end: every told alert gets its all-clear."""
        self.quota_on = self.stale_on = False
        self.silences = [
            Silence(
                s.id,
                s.matchers,
                s.starts_at,
                min(s.ends_at, self.now),
                s.created_by,
                s.comment,
                s.created_at,
            )
            for s in self.silences
        ]
        for _ in range(4):
            self.now += TIMING.keep_firing_us + GROUPING.group_interval_us
            self._evaluate()
        assert not any(a.state is not State.RESOLVED for a in self.alerts.values())
        last: dict[tuple[str, str], Change] = {}
        for _, n in self.log:
            for item in n.alerts:
                last[n.receiver, item.alert.fingerprint] = item.change
        for key, change in last.items():
            assert change is Change.RESOLVED, f"{key} was told {change} and never the all-clear"

    @invariant()
    def resolved_once_per_episode(self) -> None:
        seen: set[tuple[str, str, int]] = set()
        for _, n in self.log:
            for item in n.alerts:
                if item.change is Change.RESOLVED:
                    key = (n.receiver, item.alert.fingerprint, item.alert.episode)
                    assert key not in seen, "all-clear sent twice"
                    seen.add(key)

    @invariant()
    def studio_hears_only_critical(self) -> None:
        for _, n in self.log:
            if n.receiver == "studio":
                # News only about critical alerts; an alert it was told about keeps
                # coming (reminders, all-clear) after it de-escalates, by design.
                assert all(
                    i.alert.severity is Severity.CRITICAL
                    or i.change not in {Change.NEW, Change.ESCALATED}
                    for i in n.alerts
                )


TestAlertMachine = AlertMachine.TestCase
