"""Rule packs: shipped packs load and match DESIGN section 4; operators can extend them."""

from __future__ import annotations

import os
from datetime import date
from typing import TYPE_CHECKING

import pytest

from efir.core.rules import RuleType
from efir.rulepacks import PackError, available_packs, load_pack

if TYPE_CHECKING:
    from pathlib import Path


def test_shipped_packs() -> None:
    """kz and kz-2018 ship; every rule names its legal source and title."""
    assert available_packs() == ["kz", "kz-2018"]
    for name in available_packs():
        pack = load_pack(name)
        for rule in pack.rules:
            assert rule.title
            assert rule.legal_ref
            assert rule.enabled == rule.verified or not rule.enabled


def test_kz_thresholds_match_the_design_table() -> None:
    """Effective-dated thresholds of the counting rules (DESIGN section 4)."""
    pack = load_pack("kz")

    def steps(rule_id: str) -> list[tuple[float, date | None]]:
        return [(t.value, t.effective_from) for t in pack.rule(rule_id).thresholds]

    lang = [(0.50, None), (0.55, date(2025, 1, 1)), (0.60, date(2027, 1, 1))]
    assert steps("lang_6h") == lang
    assert steps("lang_week") == lang
    assert steps("domestic_tv_week") == lang
    assert steps("domestic_radio_week") == [
        (0.45, date(2018, 1, 1)),
        (0.50, date(2020, 1, 1)),
        (0.55, date(2025, 1, 1)),
        (0.60, date(2027, 1, 1)),
    ]
    assert steps("retransmission_week") == [(0.20, None), (0.10, date(2024, 8, 20))]
    assert steps("ads_day") == [(0.20, None)]
    assert pack.rule("ads_evening_hour").scheme.describe() == "hour 18:00-23:00"
    assert pack.rule("sign_news_day").type is RuleType.MIN_COUNT
    unverified = {r.id for r in pack.rules if not r.verified}
    assert {"age18_daytime", "teleshopping_share_day", "social_ads_obligatory"} <= unverified
    assert not any(r.enabled for r in pack.rules if not r.verified)


def test_operator_pack_extends_and_overrides(tmp_path: Path) -> None:
    """A pack can extend kz, change one setting of a rule, enable another, add its own."""
    path = tmp_path / "site.yaml"
    path.write_text(
        """
pack: site
version: "1"
title: Our station
extends: kz
rules:
  - {id: lang_6h, transitional: end}
  - {id: ads_evening_block, enabled: true}
  - id: kids_morning
    type: min_count
    title: A children's programme every morning
    legal_ref: internal policy
    grid: day
    daypart: {from: "07:00", to: "10:00"}
    select: {tags_any: [children]}
    thresholds: [{value: 1}]
""",
        encoding="utf-8",
    )
    pack = load_pack(str(path))
    assert pack.rule("lang_6h").transitional == "end"
    assert pack.rule("lang_6h").thresholds == load_pack("kz").rule("lang_6h").thresholds
    assert pack.rule("ads_evening_block").enabled
    assert pack.rule("kids_morning").scheme.describe() == "day 07:00-10:00"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "pack: x\nversion: '1'\ntitle: t\nrules:\n  - {id: a, type: min_share, title: t, legal_ref: r, grid: day}",
            "needs at least one threshold",
        ),
        (
            "pack: x\nversion: '1'\ntitle: t\nrules:\n  - {id: a, type: min_share, title: t, legal_ref: r, grid: month, thresholds: [{value: 1}]}",
            "grid",
        ),
        (
            "pack: x\nversion: '1'\ntitle: t\nrules:\n  - {id: a, type: min_share, title: t, legal_ref: r, grid: day, colour: red, thresholds: [{value: 1}]}",
            "colour",
        ),
        (
            "pack: x\nversion: '1'\ntitle: t\nrules:\n  - {id: a, type: min_share, title: t, legal_ref: r, grid: week, daypart: {from: '18:00', to: '23:00'}, thresholds: [{value: 1}]}",
            "week",
        ),
        ("pack: [", "not valid YAML"),
    ],
)
def test_invalid_packs_name_the_problem(tmp_path: Path, body: str, message: str) -> None:
    """Errors name the file, the rule and the field."""
    path = tmp_path / "bad.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PackError, match=message):
        load_pack(str(path))


def test_unknown_pack() -> None:
    """An unknown name lists the shipped packs."""
    with pytest.raises(PackError, match="kz-2018"):
        load_pack("fr")


def test_a_pack_is_read_once_until_one_of_its_files_changes(tmp_path: Path) -> None:
    """300 channels naming one pack read it once; editing it or its base reads it again."""
    base = tmp_path / "base.yaml"
    site = tmp_path / "site.yaml"

    def write(path: Path, text: str, tick: int) -> None:
        path.write_text(text, encoding="utf-8")
        os.utime(path, ns=(tick, tick))  # a distinct stamp even within one clock tick

    write(base, 'pack: base\nversion: "1"\ntitle: Base\nextends: kz\nrules: []\n', 1)
    write(site, f'pack: site\nversion: "1"\ntitle: Site\nextends: {base}\nrules: []\n', 1)
    first = load_pack(str(site))
    assert load_pack(str(site)) is first
    assert load_pack("kz") is load_pack("kz")
    write(
        base,
        'pack: base\nversion: "2"\ntitle: Base\nextends: kz\nrules:\n  - {id: lang_6h, transitional: end}\n',
        2,
    )
    second = load_pack(str(site))
    assert second is not first
    assert second.rule("lang_6h").transitional == "end"
    write(site, f'pack: site\nversion: "3"\ntitle: Site\nextends: {base}\nrules: []\n', 3)
    assert load_pack(str(site)).version == "3"
