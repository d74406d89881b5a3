"""The columnar path of ``efir audit`` equals the pure core, or declines the file."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, event, given, settings

from efir.audit.column_ledger import ColumnLedger
from efir.audit.run import AuditInputError, AuditResult, run_audit
from efir.core.channel import ChannelProfile
from efir.core.event import AsRunEvent
from efir.rulepacks import load_pack
from tests.unit.audit.test_split import _line
from tests.unit.core.test_accounting_properties import RULES, event_streams

if TYPE_CHECKING:
    from pathlib import Path

KZ = load_pack("kz")
NOW = 1 << 62


def _fields(event: AsRunEvent) -> dict[str, Any]:
    """The event as a JSON object without nulls (the columnar path's shape)."""
    return {k: v for k, v in json.loads(_line(event)).items() if v is not None}


def _audit(path: Path, zone: str, *, columnar: bool) -> AuditResult | str:
    channel = ChannelProfile(
        "c",
        timezone=zone,
        flags=frozenset({"domestic", "obligatory"}),
        enable=frozenset(r.id for r in RULES),
    )
    try:
        return run_audit(
            [path],
            channel=channel,
            channel_given=False,
            pack=replace(KZ, rules=RULES),
            start=None,
            end=None,
            input_format="jsonl",
            now_us=NOW,
            split=columnar,
        )
    except AuditInputError as refused:
        return str(refused)


def _aired(result: AuditResult) -> list[tuple[object, ...]]:
    lo, hi = result.period.start, result.period.end
    profiles = result.engine.book.profiles.profiles  # numbered in each path's own order
    return [
        (item.event_id, s, e, item.planned_end, profiles[item.pid], item.event)
        for item, s, e in result.engine.ledger.aired(lo, hi, hi)
    ]


def _on_air(result: AuditResult, reference: AuditResult) -> list[object]:
    """The profile on air at every item's edges (``Ledger.profile_on_air``)."""
    profiles = result.engine.book.profiles.profiles
    lo, hi = reference.period.start, reference.period.end
    instants = sorted(
        {t for _, s, e in reference.engine.ledger.aired(lo, hi, hi) for t in (s - 1, s, e - 1, e)}
    )
    out: list[object] = []
    for t in instants:
        pid = result.engine.ledger.profile_on_air(t)
        item = result.engine.ledger.on_air(t)
        assert pid == (None if item is None else item.pid)
        out.append(None if pid is None else profiles[pid])
    return out


def _compare(path: Path, zone: str) -> bool:
    """Assert both paths agree; return whether the columnar one read the file."""
    pure = _audit(path, zone, columnar=False)
    bulk = _audit(path, zone, columnar=True)
    if isinstance(pure, str):
        assert bulk == pure
        return False
    assert isinstance(bulk, AuditResult), bulk
    assert not isinstance(pure.engine.ledger, ColumnLedger)
    assert bulk.windows == pure.windows
    assert bulk.period == pure.period
    assert _aired(bulk) == _aired(pure)
    assert bulk.engine.span() == pure.engine.span()
    assert _on_air(bulk, pure) == _on_air(pure, pure)
    for name in ("lines_ok", "applied", "unchanged", "rejected", "reasons", "errors"):
        assert getattr(bulk.stats, name) == getattr(pure.stats, name), name
    return isinstance(bulk.engine.ledger, ColumnLedger)


@given(stream=event_streams())
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_the_columnar_path_gives_the_pure_core_s_windows(
    stream: tuple[str, list[AsRunEvent], int], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Corrections, cancels, re-deliveries, overlaps, boundary-crossing and secondary items."""
    zone, events, _ = stream
    path = tmp_path_factory.mktemp("columnar") / "in.jsonl"
    path.write_text("".join(json.dumps(_fields(e)) + "\n" for e in events))
    event("columnar" if _compare(path, zone) else "declined")


def _clean() -> list[dict[str, Any]]:
    """A start/end pair, a correction, a cancel, a re-delivery, a bilingual programme."""
    t = "2025-03-10T0{}:00:00Z"
    rows = [
        {
            "event_id": "a",
            "phase": "start",
            "start": t.format(6),
            "kind": "program",
            "language": "kk",
            "title": "Жаңалықтар: кешкі, шығарылым",
            "house_id": "N1",
        },
        {"event_id": "a", "phase": "end", "start": t.format(6), "duration": 5400},
        {
            "event_id": "b",
            "phase": "complete",
            "start": t.format(7),
            "duration": 1800.5,
            "kind": "advertising",
            "language": "ru",
            "tags": ["venue_advertising"],
        },
        {
            "event_id": "b",
            "phase": "correction",
            "start": t.format(7),
            "duration": 900,
            "kind": "advertising",
            "language": "kk",
        },
        {
            "event_id": "c",
            "phase": "complete",
            "start": t.format(8),
            "duration": 600,
            "kind": "program",
            "language": "ru",
            "kk_fraction": 0.25,
            "seq": 7,
        },
        {
            "event_id": "c",
            "phase": "complete",
            "start": t.format(8),
            "duration": 600,
            "kind": "program",
            "language": "ru",
            "kk_fraction": 0.25,
            "seq": 7,
        },
        {
            "event_id": "d",
            "phase": "complete",
            "start": t.format(9),
            "duration": 60,
            "kind": "ident",
            "language": "zxx",
        },
        {"event_id": "d", "phase": "cancel"},
        {
            "event_id": "e",
            "phase": "start",
            "start": t.format(9),
            "kind": "program",
            "language": "kk",
            "duration": 3600,
        },
    ]
    return [{"schema": "efir.asrun/1", "channel": "c", **row} for row in rows]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "in.jsonl"
    path.write_bytes(text.encode())
    return path


def test_a_clean_file_with_every_lifecycle_is_read_in_bulk(tmp_path: Path) -> None:
    lines = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in _clean())
    assert _compare(_write(tmp_path, lines), "Asia/Almaty")
    # json.dumps' default escapes and separators are read in bulk too.
    lines = "".join(json.dumps(row) + "\n" for row in _clean())
    assert _compare(_write(tmp_path, lines), "Asia/Almaty")


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda rows: rows[0].update(origin=None), "an explicit null"),
        (lambda rows: rows[0].update(extra={"x": [1]}), "a field outside the schema"),
        (lambda rows: rows[0].update(language="xx"), "a language the parser refuses"),
        (lambda rows: rows[0].update(duration="90"), "a number sent as text"),
        (lambda rows: rows[0].update(title=7), "a title sent as a number"),
        (lambda rows: rows[0].update(event_id="a\\b"), "an escaped event id"),
        (lambda rows: rows[0].update(start="2025-03-10T06:00:00.1234567Z"), "nanoseconds"),
        (lambda rows: rows[0].update(channel="other"), "two channels"),
        (lambda rows: rows[0].update(start="1989-12-31T23:00:00Z"), "a start before 1990"),
        (lambda rows: rows[1].update(duration=86401), "a duration over a day"),
        (lambda rows: rows[2].pop("kind"), "a complete without a kind"),
    ],
)
def test_a_file_outside_the_bulk_shape_is_read_by_the_pure_core(
    tmp_path: Path, change: Any, why: str
) -> None:
    rows = _clean()
    change(rows)
    lines = "".join(json.dumps(row) + "\n" for row in rows)
    assert not _compare(_write(tmp_path, lines), "Asia/Almaty"), why


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1,}\n',
        '{"a": NaN}\n',
        "# a comment\n",
        "\n",
        "not json\n",
        "[1, 2]\n",
        '{"schema": "efir.asrun/1"}{"schema": "efir.asrun/1"}\n',
    ],
)
def test_lines_the_parser_refuses_leave_the_file_to_it(tmp_path: Path, text: str) -> None:
    good = "".join(json.dumps(row) + "\n" for row in _clean())
    assert not _compare(_write(tmp_path, good + text), "Asia/Almaty")
    assert not _compare(_write(tmp_path, "\ufeff" + good), "Asia/Almaty")


def test_a_last_line_without_its_newline_is_read(tmp_path: Path) -> None:
    good = "".join(json.dumps(row) + "\n" for row in _clean())
    assert _compare(_write(tmp_path, good.rstrip("\n")), "Asia/Almaty")


def test_a_re_delivery_spelled_differently_is_the_same_version(tmp_path: Path) -> None:
    """Versions compare by what they decode to, as the book compares them."""
    rows = _clean()
    text = "".join(json.dumps(row) + "\n" for row in rows)
    again = json.dumps(rows[4]).replace('"kk_fraction": 0.25', '"kk_fraction": 0.250')
    again = again.replace('"language": "ru"', '"language": "\\u0072u"')
    assert again != json.dumps(rows[4])
    path = _write(tmp_path, text + again + "\n")
    assert _compare(path, "Asia/Almaty")
    bulk = _audit(path, "Asia/Almaty", columnar=True)
    assert isinstance(bulk, AuditResult)
    assert bulk.stats.unchanged == 2  # the file's own re-delivery of "c", and this one
