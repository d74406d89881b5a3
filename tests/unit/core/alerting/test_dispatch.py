"""Named scenarios of the notification planner: grouping, escalation, reminders, acks."""

from __future__ import annotations

from efir.core.alerting.alert import Alert, Condition, Severity
from efir.core.alerting.dispatch import Change, Grouping, GroupState, Policy, Sent, owed, plan
from efir.core.alerting.inhibit import DEFAULT_INHIBITIONS, QUOTA_RISK, QUOTA_VIOLATION
from efir.core.alerting.lifecycle import Timing, apply, step
from efir.core.alerting.routing import Route
from efir.core.alerting.silence import Matcher, Silence

S = 1_000_000
T0 = 1_800_000_000 * S
TIMING = Timing(for_us=dict.fromkeys(Severity, 0), keep_firing_us=0)
POLICY = Policy(
    routes=(Route("ops"),),
    grouping=Grouping(group_wait_us=10 * S, group_interval_us=60 * S, repeat_interval_us=600 * S),
    inhibitions=DEFAULT_INHIBITIONS,
)


def cond(
    rule: str,
    severity: Severity = Severity.WARNING,
    *,
    name: str = QUOTA_RISK,
    active: bool = True,
    window: str = "w",
) -> Condition:
    return Condition(
        alertname=name,
        channel="kz1",
        rule=rule,
        window=window,
        active=active,
        severity=severity,
        summary=f"{rule} {severity}",
        description="do it",
    )


class Book:
    def __init__(self) -> None:
        self.alerts: dict[str, Alert] = {}
        self.sent: dict[tuple[str, str], Sent] = {}
        self.groups: dict[tuple[str, str], GroupState] = {}
        self.silences: list[Silence] = []

    def at(self, now: int, *conds: Condition) -> list[list[tuple[str, Change]]]:
        apply(self.alerts, step(self.alerts, "kz1", conds, now, TIMING, owed=owed(self.sent)))
        p = plan(
            self.alerts,
            silences=self.silences,
            sent=self.sent,
            groups=self.groups,
            policy=POLICY,
            now=now,
        )
        for k, v in p.sent.items():
            if v is None:
                self.sent.pop(k, None)
            else:
                self.sent[k] = v
        for k, g in p.groups.items():
            if g is not None:
                self.groups[k] = g
        return [[(n.alert.rule, n.change) for n in note.alerts] for note in p.notifications]


def test_alerts_raised_together_arrive_in_one_notification_after_group_wait() -> None:
    b = Book()
    assert b.at(T0, cond("a")) == []
    assert b.at(T0 + 5 * S, cond("a"), cond("b")) == []
    assert b.at(T0 + 10 * S, cond("a"), cond("b")) == [[("a", Change.NEW), ("b", Change.NEW)]]
    assert b.at(T0 + 11 * S, cond("a"), cond("b")) == []


def test_escalation_is_news_after_group_interval_and_de_escalation_is_not() -> None:
    b = Book()
    b.at(T0, cond("a"))
    assert b.at(T0 + 10 * S, cond("a"))
    assert b.at(T0 + 20 * S, cond("a", Severity.CRITICAL)) == []  # within group_interval
    assert b.at(T0 + 70 * S, cond("a", Severity.CRITICAL)) == [[("a", Change.ESCALATED)]]
    assert b.at(T0 + 200 * S, cond("a", Severity.WARNING)) == []


def test_reminders_repeat_until_acknowledged() -> None:
    b = Book()
    b.at(T0, cond("a"))
    b.at(T0 + 10 * S, cond("a"))
    assert b.at(T0 + 609 * S, cond("a")) == []
    assert b.at(T0 + 610 * S, cond("a")) == [[("a", Change.REMINDER)]]
    fp = next(iter(b.alerts))
    b.alerts[fp] = b.alerts[fp].acknowledge("aigerim", "airing a Kazakh film at 16:00", T0)
    assert b.at(T0 + 5000 * S, cond("a")) == []
    assert b.at(T0 + 5100 * S) == [[("a", Change.RESOLVED)]]


def test_a_violation_supersedes_the_risk_alert_of_its_window() -> None:
    b = Book()
    b.at(T0, cond("lang_6h", Severity.ERROR))
    assert b.at(T0 + 10 * S, cond("lang_6h", Severity.ERROR)) == [[("lang_6h", Change.NEW)]]
    closed = (
        cond("lang_6h", active=False),
        cond("lang_6h", Severity.CRITICAL, name=QUOTA_VIOLATION),
    )
    assert b.at(T0 + 100 * S, *closed) == []  # a fresh group: group_wait
    # The violation is told; the risk alert's all-clear is not (it did not recover).
    assert b.at(T0 + 110 * S, *closed) == [[("lang_6h", Change.NEW)]]
    assert all(s.resolved for (r, fp), s in b.sent.items() if b.alerts[fp].alertname == QUOTA_RISK)


def test_an_all_clear_held_by_a_week_long_silence_is_sent_when_it_ends() -> None:
    b = Book()
    b.at(T0, cond("a"))
    assert b.at(T0 + 10 * S, cond("a")) == [[("a", Change.NEW)]]
    week = 7 * 24 * 3600 * S
    b.silences.append(
        Silence("s1", (Matcher("rule", "a"),), T0 + 20 * S, T0 + week, "t", "", T0 + 20 * S)
    )
    assert b.at(T0 + 30 * S, cond("a", active=False)) == []  # resolved, all-clear held
    for day in range(1, 7):  # kept past the day resolved alerts normally live
        assert b.at(T0 + day * 24 * 3600 * S) == []
        assert b.alerts, f"forgotten on day {day} with its all-clear owed"
    assert b.at(T0 + week + S) == [[("a", Change.RESOLVED)]]
    b.at(T0 + week + 25 * 3600 * S)
    assert not b.alerts  # told: forgotten after the usual day


def test_an_owed_all_clear_is_given_up_after_keep_owed() -> None:
    b = Book()
    b.at(T0, cond("a"))
    b.at(T0 + 10 * S, cond("a"))
    b.silences.append(Silence("s1", (Matcher("rule", "a"),), T0, T0 + 10**9 * S, "t", "", T0))
    b.at(T0 + 30 * S, cond("a", active=False))
    b.at(T0 + 30 * S + TIMING.keep_owed_us - S)
    assert b.alerts
    b.at(T0 + 30 * S + TIMING.keep_owed_us)
    assert not b.alerts
