"""The what-if: any period judged under the thresholds in force on another date, or overridden."""

from __future__ import annotations

from datetime import date

from efir.core.rules import threshold_on, what_if
from efir.rulepacks import load_pack

KZ = load_pack("kz")


def test_as_of_2027_every_language_and_domestic_threshold_is_60_percent() -> None:
    now = {r.id: threshold_on(r, date(2026, 12, 2)) for r in KZ.rules}
    then = {r.id: r for r in what_if(KZ.rules, as_of=date(2027, 1, 1))}
    for rule_id in ("lang_6h", "lang_week", "domestic_tv_week", "domestic_radio_week"):
        assert now[rule_id] == 0.55
        assert [t.value for t in then[rule_id].thresholds] == [0.60]
        assert then[rule_id].thresholds[0].effective_from is None  # for every window
    assert [t.value for t in then["ads_day"].thresholds] == [0.20]
    assert [t.value for t in then["retransmission_week"].thresholds] == [0.10]


def test_as_of_a_date_before_a_rule_was_law_leaves_it_out() -> None:
    before = {r.id for r in what_if(KZ.rules, as_of=date(2000, 1, 1))}
    dated = {r.id for r in KZ.rules if r.thresholds and r.thresholds[0].effective_from}
    assert before == {r.id for r in KZ.rules} - dated
    assert dated


def test_an_override_wins_over_as_of_and_item_rules_are_unchanged() -> None:
    rules = {r.id: r for r in what_if(KZ.rules, as_of=date(2027, 1, 1), overrides={"lang_6h": 0.7})}
    assert [t.value for t in rules["lang_6h"].thresholds] == [0.7]
    assert [t.value for t in rules["lang_week"].thresholds] == [0.6]
    originals = {r.id: r for r in KZ.rules}
    assert rules["ads_banned_category"] == originals["ads_banned_category"]


def test_the_pack_says_it_is_a_what_if() -> None:
    pack = KZ.under(as_of=date(2027, 1, 1))
    assert pack.what_if == {"as_of": "2027-01-01", "overrides": {}}
    assert KZ.under() is KZ
