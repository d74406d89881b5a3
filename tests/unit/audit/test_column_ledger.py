"""The columnar path's ledger: timeline reads from arrays, no changes taken."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

import pytest

from efir.audit.column_ledger import ColumnLedger
from efir.audit.run import AuditResult
from efir.core.timebase import to_us
from tests.unit.audit.test_columnar import _audit, _clean, _write

if TYPE_CHECKING:
    from pathlib import Path


def _bulk(tmp_path: Path) -> AuditResult:
    path = _write(tmp_path, "".join(json.dumps(row) + "\n" for row in _clean()))
    result = _audit(path, "Asia/Almaty", columnar=True)
    assert isinstance(result, AuditResult)
    assert isinstance(result.engine.ledger, ColumnLedger)
    return result


def _at(text: str) -> int:
    return to_us(datetime.fromisoformat(text))


def test_it_takes_no_changes(tmp_path: Path) -> None:
    ledger = _bulk(tmp_path).engine.ledger
    with pytest.raises(RuntimeError, match="takes no changes"):
        ledger.apply(None)


def test_what_is_on_air_comes_from_the_arrays(tmp_path: Path) -> None:
    ledger = _bulk(tmp_path).engine.ledger
    before = _at("2025-03-10T05:59:59+00:00")
    assert ledger.on_air(before) is None
    assert ledger.profile_on_air(before) is None
    news = ledger.on_air(_at("2025-03-10T06:30:00+00:00"))
    assert news is not None
    assert news.event_id == "a"
    assert news.event.title == "Жаңалықтар: кешкі, шығарылым"
    assert ledger.profile_on_air(_at("2025-03-10T06:30:00+00:00")) == news.pid
    # "b" aired 07:00-07:15 after its correction: a gap follows until 08:00.
    assert ledger.on_air(_at("2025-03-10T07:20:00+00:00")) is None
    assert ledger.profile_on_air(_at("2025-03-10T07:20:00+00:00")) is None
