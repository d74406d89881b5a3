"""An audit read by two processes equals the same audit read by one, item for item."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from efir.audit import run, split
from efir.audit.run import AuditInputError, AuditResult, run_audit
from efir.cli import app
from efir.core.channel import ChannelProfile
from efir.core.engine import ChannelEngine
from efir.core.event import INHERITABLE, AsRunEvent, Kind, Phase
from efir.readers.jsonl import Part, read_lines
from efir.rulepacks import load_pack
from tests.unit.core.test_accounting_properties import RULES, event_streams

if TYPE_CHECKING:
    from pathlib import Path

KZ = load_pack("kz")
NOW = 1 << 62  # no event is in the future
BAD_LINES = ['{"schema": "efir.asrun/1", "channel": "c"', "[1, 2]", '{"schema": "x"}']


def _line(event: AsRunEvent) -> str:
    """The event as a JSON line (inheritable fields only when given)."""
    out: dict[str, Any] = {
        "schema": "efir.asrun/1",
        "channel": event.channel,
        "event_id": event.event_id,
        "phase": str(event.phase),
    }
    if event.start is not None:
        instant = datetime.fromtimestamp(event.start // 10**6, UTC)
        out["start"] = instant.strftime("%Y-%m-%dT%H:%M:%S") + f".{event.start % 10**6:06d}Z"
    if event.duration is not None:
        out["duration"] = event.duration / 10**6
    if event.seq is not None:
        out["seq"] = event.seq
    for name in INHERITABLE:
        if name in event.given:
            value = getattr(event, name)
            out[name] = sorted(value) if name == "tags" else value
    return json.dumps(out)


def _write(tmp: Path, lines: list[str], files: int) -> list[Path]:
    """Spread ``lines`` over ``files`` files, in order."""
    paths = []
    per = -(-len(lines) // files)
    for i in range(files):
        path = tmp / f"part{i}.jsonl"
        path.write_text("".join(f"{line}\n" for line in lines[i * per : (i + 1) * per]))
        paths.append(path)
    return paths


def _audit(paths: list[Path], zone: str, *, two: bool, given_channel: bool) -> AuditResult:
    channel = ChannelProfile(
        "c",
        timezone=zone,
        flags=frozenset({"domestic", "obligatory"}),
        enable=frozenset(r.id for r in RULES),
    )
    return run_audit(
        paths,
        channel=channel,
        channel_given=given_channel,
        pack=replace(KZ, rules=RULES),
        start=None,
        end=None,
        input_format="jsonl",
        now_us=NOW,
        split=two,
    )


def _items(result: AuditResult) -> set[tuple[object, ...]]:
    """Items without their arrival numbers (two processes number them differently)."""
    return {
        (i.event_id, i.start, i.end, i.planned_end, i.primary, i.event)
        for i in result.engine.book.items()
    }


def _same(one: AuditResult, two: AuditResult) -> None:
    assert _items(two) == _items(one)
    assert two.windows == one.windows
    assert two.period == one.period
    for name in (
        "lines_ok",
        "applied",
        "unchanged",
        "rejected",
        "other_channels",
        "reasons",
        "errors",
    ):
        assert getattr(two.stats, name) == getattr(one.stats, name), name


@given(stream=event_streams(), data=st.data())
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_two_processes_equal_one(
    stream: tuple[str, list[AsRunEvent], int],
    data: st.DataObject,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Duplicates, corrections and cancels on both sides of the cut, bad lines, other channels."""
    zone, events, _ = stream
    lines = [_line(e) for e in events]
    for bad in data.draw(st.lists(st.sampled_from(BAD_LINES), max_size=3)):
        lines.insert(data.draw(st.integers(0, len(lines))), bad)
    given_channel = data.draw(st.booleans())
    if data.draw(st.booleans()):
        # Another channel: counted and skipped with --channel, refused without.
        other = _line(events[0]._replace(channel="other"))
        lines.insert(data.draw(st.integers(0, len(lines))), other)
    paths = _write(tmp_path_factory.mktemp("split"), lines, data.draw(st.integers(1, 3)))
    monkeypatch.setattr(run, "MIN_SPLIT_BYTES", 0)
    monkeypatch.setattr(
        run, "COLUMNAR", False
    )  # the split path itself (tests/unit/audit/test_columnar.py)
    monkeypatch.setattr(split, "MAIN_SHARE", data.draw(st.floats(0.0, 1.0)))
    one = _outcome(paths, zone, two=False, given_channel=given_channel)
    two = _outcome(paths, zone, two=True, given_channel=given_channel)
    if isinstance(one, str):  # refused (several channels, nothing usable): for the same reason
        assert two == one
    else:
        assert isinstance(two, AuditResult), two
        _same(one, two)


def _outcome(paths: list[Path], zone: str, *, two: bool, given_channel: bool) -> AuditResult | str:
    try:
        return _audit(paths, zone, two=two, given_channel=given_channel)
    except AuditInputError as refused:
        return str(refused)


def test_the_cut_falls_on_a_line_end_and_parts_cover_the_input(tmp_path: Path) -> None:
    paths = _write(tmp_path, [f'{{"n": {i}, "pad": "{"x" * (i % 7)}"}}' for i in range(100)], 3)
    total = sum(p.stat().st_size for p in paths)
    for share in (0.0, 0.1, 0.5, 0.77, 1.0):
        cut = split.plan(paths, share)
        covered = 0
        for path, part in cut.main + cut.worker:
            stop = path.stat().st_size if part.stop is None else part.stop
            assert part.start == 0 or path.read_bytes()[part.start - 1 : part.start] == b"\n"
            covered += stop - part.start
        assert covered == total
        assert cut.offset >= int(total * share)


def _programmes(tmp_path: Path) -> Path:
    events = [
        AsRunEvent("c", f"e{i}", Phase.COMPLETE, 10**15 + i * 10**8, 10**8, Kind.PROGRAM)
        for i in range(50)
    ]
    (path,) = _write(tmp_path, [_line(e) for e in events], 1)
    return path


def _break_the_worker(monkeypatch: pytest.MonkeyPatch, failure: BaseException) -> None:
    """Split every input and make the worker fail once it has read its part."""

    def broken(*_: object, **__: object) -> None:
        raise failure

    monkeypatch.setattr(run, "MIN_SPLIT_BYTES", 0)
    monkeypatch.setattr(run, "COLUMNAR", False)
    monkeypatch.setattr(ChannelEngine, "encoded_items", broken)


def test_a_worker_that_fails_stops_the_audit_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _programmes(tmp_path)
    _break_the_worker(monkeypatch, OSError("disk on fire"))
    with pytest.raises(split.SplitError, match="disk on fire"):
        _audit([path], "Asia/Almaty", two=True, given_channel=False)


def test_lines_of_the_second_part_keep_their_numbers(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text("".join(f"line {i}\n" for i in range(1, 11)))
    cut = split.plan([path], 0.5)
    ((_, worker_part),) = cut.worker
    first = split._lines_before(path, worker_part.start) + 1
    errors = list(read_lines(path, Part(worker_part.start, None, first), now_us=NOW))
    assert [e.line for e in errors] == list(range(first, 11))  # type: ignore[union-attr]
    assert str(errors[0]).startswith(f"{path}:{first}: ")


def test_the_cli_reports_a_failed_worker_and_the_way_around_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _programmes(tmp_path)
    _break_the_worker(monkeypatch, MemoryError())
    failed = CliRunner().invoke(app, ["audit", str(path)])
    assert failed.exit_code == 2
    assert "MemoryError" in failed.output
    assert "--single-process" in failed.output
    alone = CliRunner().invoke(app, ["audit", str(path), "--single-process"])
    assert alone.exit_code in (0, 1), alone.output
