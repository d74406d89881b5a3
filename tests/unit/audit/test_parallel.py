"""The parallel reader yields exactly what the sequential reader yields, in order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from efir.audit import readers
from efir.audit.parallel import read_parallel
from efir.core.timebase import to_us
from efir.sim.feed import FeedSpec, generate

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

NOW = to_us(datetime(2026, 3, 10, tzinfo=UTC))


def test_parallel_equals_sequential_with_errors_and_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Events, line errors and line numbers agree across several small chunks and two workers."""
    start = datetime(2026, 3, 2, tzinfo=UTC) - timedelta(hours=5)
    lines = [
        json.dumps(p)
        for p in generate(FeedSpec("qaz", phases="start_end"), start, start + timedelta(days=1))
    ]
    lines.insert(7, "{broken")
    lines.insert(500, "")
    lines.insert(
        900,
        json.dumps({"schema": "efir.asrun/1", "channel": "qaz", "event_id": "x", "duration": -1}),
    )
    path = tmp_path / "feed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr(readers, "CHUNK_BYTES", 20_000)  # many chunks
    sequential = list(readers.JsonLinesReader().read(path, now_us=NOW))
    monkeypatch.setattr("efir.audit.parallel.CHUNK_BYTES", 20_000)
    parallel = list(read_parallel(path, now_us=NOW, jobs=2))
    assert parallel == sequential
    errors = [g for g in parallel if isinstance(g, readers.LineError)]
    assert [e.line for e in errors] == [8, 901]
    assert len(parallel) > 1000
