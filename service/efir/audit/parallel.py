"""Parallel validation for large audits: worker processes parse, order is kept.

Validation is stateless per line, so chunks of lines are parsed in worker
processes while the main process records the previous chunks' events.
Workers return plain value tuples (strings, numbers): pickling enum members
would call the enum constructor for every field on the way back. The main
process rebuilds each event with dictionary look-ups. Results come back in file
order, with the same line numbers and error texts as the sequential reader.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from efir.audit.readers import CHUNK_BYTES, LineError, parse_lines
from efir.schema.asrun import EventValues, from_values, parse_values

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from efir.core.event import AsRunEvent

#: Files smaller than this are read in-process: a pool costs more than it saves.
MIN_PARALLEL_BYTES = 16 << 20


def _parse_chunk(
    source: str, first: int, lines: list[bytes], now_us: int
) -> list[EventValues | LineError]:
    return list(parse_lines(source, first, lines, now_us, parse_values))


def read_parallel(
    path: Path,
    *,
    now_us: int,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> Iterator[AsRunEvent | LineError]:
    """Yield events and line errors of a JSON-lines file in order, parsed by ``jobs`` workers."""
    source = str(path)
    # forkserver: workers fork from a clean server process, never from this one
    # (which may run a progress-bar thread); efir is preloaded there once.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["efir.audit.parallel"])
    pending: deque[tuple[Future[list[EventValues | LineError]], int]] = deque()
    consumed = 0
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool, path.open("rb") as f:
        number = 1
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * jobs:
                lines = f.readlines(CHUNK_BYTES)
                if not lines:
                    exhausted = True
                    break
                size = sum(map(len, lines))
                pending.append((pool.submit(_parse_chunk, source, number, lines, now_us), size))
                number += len(lines)
            if not pending:
                return
            future, size = pending.popleft()
            for got in future.result():
                yield got if type(got) is LineError else from_values(got)  # type: ignore[arg-type]
            consumed += size
            if progress is not None:
                progress(consumed)
