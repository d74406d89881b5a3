"""deploy/prometheus: the scrape configuration and Efir's health rules, checked by promtool.

promtool comes with Debian's ``prometheus`` package, which the README's test
command installs; a missing promtool fails here rather than skipping.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"


def promtool(*args: str) -> str:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: apt-get install prometheus (./scripts/test does)")
    done = subprocess.run(
        [tool, *args], cwd=DEPLOY, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_scrape_config_is_valid() -> None:
    out = promtool("check", "config", "prometheus.yml")
    assert "1 rule files found" in out


def test_rules_are_valid_and_every_rule_is_unit_tested() -> None:
    out = promtool("check", "rules", "efir-rules.yml")
    assert "SUCCESS" in out
    rules = (DEPLOY / "efir-rules.yml").read_text()
    tests = (DEPLOY / "efir-rules.test.yml").read_text()
    names = [line.split(":", 1)[1].strip() for line in rules.splitlines() if "- alert:" in line]
    assert len(names) >= 10
    untested = [n for n in names if f"alertname: {n}" not in tests]
    assert not untested, f"no promtool test for {untested}"


def test_rule_unit_tests_pass() -> None:
    out = promtool("test", "rules", "efir-rules.test.yml")
    assert "SUCCESS" in out


def test_a_broken_expectation_fails(tmp_path: Path) -> None:
    """The unit tests can fail: a wrong expectation is reported."""
    broken = (DEPLOY / "efir-rules.test.yml").read_text().replace("Efir a:8080 is down", "wrong")
    (tmp_path / "efir-rules.yml").write_text((DEPLOY / "efir-rules.yml").read_text())
    (tmp_path / "t.yml").write_text(broken)
    tool = shutil.which("promtool")
    assert tool is not None
    done = subprocess.run(
        [tool, "test", "rules", "t.yml"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode != 0
    assert "EfirDown" in done.stdout + done.stderr
