"""Efir refuses a zone database that puts Almaty anywhere but UTC+5."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from efir import cli
from efir.core.tzcheck import TzDataError, check_tzdata
from tests.helpers import at


def test_current_zone_database_passes() -> None:
    """Today (tzdata >= 2024a) Almaty is UTC+5: no error."""
    check_tzdata(at(2026, 11, 21, 12, 0))


def test_an_instant_with_the_old_offset_is_refused() -> None:
    """Before 2024-03-01 Almaty was UTC+6, which is exactly what an old database says today."""
    with pytest.raises(TzDataError, match=r"UTC\+06:00.*tzdata 2024a"):
        check_tzdata(at(2024, 2, 1, 12, 0))


def test_cli_exits_2_on_an_old_zone_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every command stops before doing anything when the check fails."""
    monkeypatch.setattr(cli, "_now_us", lambda: at(2024, 2, 1, 12, 0))
    result = CliRunner().invoke(cli.app, ["rules"])
    assert result.exit_code == 2
    assert "tzdata" in result.output
