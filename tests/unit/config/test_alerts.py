"""The ``alerts:`` configuration: configurable inhibitions and their effect on planning."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from efir.config.alerts import AlertsConfig
from efir.core.alerting.alert import Alert, Condition, Severity
from efir.core.alerting.dispatch import Change, plan
from efir.core.alerting.inhibit import DEFAULT_INHIBITIONS, FEED_STALE, QUOTA_RISK
from efir.core.alerting.lifecycle import Timing, apply, step
from efir.core.alerting.silence import Matcher, MatchOp

S = 1_000_000
T0 = 1_800_000_000 * S


def cond(name: str, rule: str, severity: Severity, window: str = "w") -> Condition:
    return Condition(
        alertname=name,
        channel="kz1",
        rule=rule,
        window=window,
        active=True,
        severity=severity,
        summary=f"{name} {rule}",
        description="d",
    )


def told(config: AlertsConfig, *conds: Condition) -> set[tuple[str, str]]:
    """(alertname, rule) of every alert the planner tells at once (no waits)."""
    timing = Timing(for_us=dict.fromkeys(Severity, 0), keep_firing_us=0)
    alerts: dict[str, Alert] = {}
    apply(alerts, step(alerts, "kz1", conds, T0, timing))
    p = plan(alerts, silences=(), sent={}, groups={}, policy=config.policy(), now=T0 + 60 * S)
    return {
        (n.alert.alertname, n.alert.rule)
        for note in p.notifications
        for n in note.alerts
        if n.change is Change.NEW
    }


def config(**alerts: object) -> AlertsConfig:
    base = {"receivers": [{"name": "ops", "type": "mqtt"}], "group_wait_s": 0}
    return AlertsConfig.model_validate(base | alerts)


def test_unset_inhibit_rules_are_the_two_defaults_and_an_empty_list_is_none() -> None:
    assert config().policy().inhibitions == DEFAULT_INHIBITIONS
    assert config(inhibit_rules=[]).policy().inhibitions == ()
    stale = cond(FEED_STALE, "feed", Severity.ERROR, window="")
    risk = cond(QUOTA_RISK, "lang_6h", Severity.WARNING)
    assert told(config(), stale, risk) == {(FEED_STALE, "feed")}
    assert told(config(inhibit_rules=[]), stale, risk) == {
        (FEED_STALE, "feed"),
        (QUOTA_RISK, "lang_6h"),
    }


def test_matchers_are_read_as_alertmanager_strings_or_objects() -> None:
    rules = (
        config(
            inhibit_rules=[
                {
                    "source_matchers": ['alertname="EfirQuotaRisk"', "severity = critical"],
                    "target_matchers": [{"name": "rule", "value": "ads_.*", "op": "=~"}],
                    "equal": ["channel"],
                }
            ]
        )
        .policy()
        .inhibitions
    )
    (rule,) = rules
    assert rule.source == (
        Matcher("alertname", QUOTA_RISK),
        Matcher("severity", "critical"),
    )
    assert rule.target == (Matcher("rule", "ads_.*", MatchOp.RE),)
    assert rule.equal == ("channel",)
    assert not rule.mute_resolved


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"source_matchers": ['alertname=~"("'], "target_matchers": ["rule=x"]}, "bad regular"),
        ({"source_matchers": ["alertname"], "target_matchers": ["rule=x"]}, "name op"),
        ({"source_matchers": [], "target_matchers": ["rule=x"]}, "at least 1"),
        (
            {"source_matchers": ["rule=x"], "target_matchers": ["rule=y"], "equal": ["team"]},
            "'alertname', 'channel'",
        ),
    ],
)
def test_bad_inhibit_rules_are_refused_with_the_reason(rule: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        config(inhibit_rules=[rule])


def test_a_configured_rule_mutes_its_targets_only_where_equal_labels_match() -> None:
    # A critical share alert mutes the warnings of the same rule (any window).
    cfg = config(
        inhibit_rules=[
            {
                "source_matchers": ["severity=critical"],
                "target_matchers": ["severity=warning"],
                "equal": ["channel", "rule"],
            }
        ]
    )
    crit = cond(QUOTA_RISK, "lang_6h", Severity.CRITICAL, window="w1")
    warn_same_rule = cond(QUOTA_RISK, "lang_6h", Severity.WARNING, window="w2")
    warn_other_rule = cond(QUOTA_RISK, "lang_week", Severity.WARNING, window="w1")
    assert told(cfg, crit, warn_same_rule, warn_other_rule) == {
        (QUOTA_RISK, "lang_6h"),
        (QUOTA_RISK, "lang_week"),
    }
    # Without the critical source, both warnings are told.
    assert told(cfg, warn_same_rule, warn_other_rule) == {
        (QUOTA_RISK, "lang_6h"),
        (QUOTA_RISK, "lang_week"),
    }


def test_an_alert_matching_source_and_target_does_not_inhibit_itself() -> None:
    cfg = config(
        inhibit_rules=[
            {
                "source_matchers": ['alertname="EfirQuotaRisk"'],
                "target_matchers": ['alertname="EfirQuotaRisk"'],
                "equal": ["channel"],
            }
        ]
    )
    # Alone, it is told; beside another of its kind on the channel, both mute each other.
    assert told(cfg, cond(QUOTA_RISK, "a", Severity.WARNING)) == {(QUOTA_RISK, "a")}
    assert (
        told(cfg, cond(QUOTA_RISK, "a", Severity.WARNING), cond(QUOTA_RISK, "b", Severity.WARNING))
        == set()
    )
