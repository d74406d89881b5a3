"""A large JSON-lines audit read by two processes, each taking one part of the input.

The input (all files, in order) is cut at a line boundary; a forked worker
decodes and records the second part into its own event books while this
process does the first part, and each resolves its items. The lifecycle ranks
versions of an id by arrival, so the worker numbers its versions from the
cut's byte offset, above any number the first part can reach: every
comparison then comes out as in a single process. Ids with versions in both
parts (an item whose start and end straddle the cut, a late correction) are
settled here:

1. the worker resolves and encodes its items (the checkpoint layout: plain
   values, profiles by index) and sends them with the ids it recorded;
2. this process, having resolved its own items, answers with the ids both
   parts hold;
3. the worker sends the versions it holds of those (with their arrival
   numbers), its line errors and counts;
4. this process records those versions, resolves the shared ids again and
   adopts the worker's other items.

The result is the one a single process reaches, item for item (a property
test compares them); the gain is the decoding, recording and resolving of the
worker's part, which run at the same time as this process's.
"""

from __future__ import annotations

import multiprocessing
import pickle
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from efir.audit.recording import InputStats, Recorder
from efir.core.errors import ServiceError
from efir.readers.base import OFFLINE_NOW_US
from efir.readers.jsonl import Part, read_lines

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection
    from pathlib import Path

    from efir.core.engine import ChannelEngine
    from efir.core.event import AsRunEvent

#: The worker is forked (it starts at once, with every module loaded): where
#: the platform cannot fork, audits are read by one process.
CAN_SPLIT = "fork" in multiprocessing.get_all_start_methods()
#: Inputs smaller than this are read by one process: a worker costs more than it saves.
MIN_SPLIT_BYTES = 16 << 20
#: Share of the input's bytes this process reads: the worker also encodes
#: its items for the transfer, which this process decodes (measured best on
#: a channel-year, bench/README.md).
MAIN_SHARE = 0.55
#: Seconds to wait for the worker's answers once this process is done reading.
WORKER_TIMEOUT_S = 600.0

Shared = dict[str, set[str]]
#: A book's items as :func:`~efir.core.checkpoint.encode_items` returns them.
Encoded = tuple[list[list[Any]], list[list[Any]]]
Parts = list[tuple["Path", Part]]


class SplitError(ServiceError):
    """The worker process failed or went away."""


@dataclass
class Cut:
    """Where the input is cut: this process's parts, the worker's, and the global byte offset."""

    main: Parts
    worker: Parts
    offset: int


def plan(paths: list[Path], share: float | None = None) -> Cut:
    """Cut ``paths`` (read in order) at the first line boundary after ``share`` of their bytes.

    ``share`` defaults to :data:`MAIN_SHARE`.
    """
    if share is None:
        share = MAIN_SHARE
    sizes = [p.stat().st_size for p in paths]
    target = int(sum(sizes) * share)
    before = 0
    for i, (path, size) in enumerate(zip(paths, sizes, strict=True)):
        if before + size <= target:
            before += size
            continue
        with path.open("rb") as handle:
            handle.seek(target - before)
            handle.readline()  # to the end of the line the target falls in
            at = handle.tell()
        main = [(p, Part(0, None, 1)) for p in paths[:i]]
        if at > 0:
            main.append((path, Part(0, at, 1)))
        # The worker counts the lines before its first byte itself (first_line 0).
        worker = [(path, Part(at, None, 0))] if at < size else []
        worker += [(p, Part(0, None, 1)) for p in paths[i + 1 :]]
        return Cut(main, worker, before + at)
    return Cut([(p, Part(0, None, 1)) for p in paths], [], before)


def read_split(
    cut: Cut,
    recorder: Recorder,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Read ``cut`` into ``recorder`` with a worker process; leave every book resolved.

    ``progress`` receives an estimate of the input's bytes consumed (this
    process's part, scaled).

    Raises:
        SplitError: the worker failed; its traceback is in the message.
    """
    context = multiprocessing.get_context("fork")
    ours, child_end = context.Pipe()
    worker = context.Process(
        target=_work,
        args=(child_end, cut, recorder.new_engine, recorder.only),
        name="efir-audit-worker",
        daemon=True,
    )
    worker.start()
    child_end.close()
    try:
        _read_own(cut, recorder, progress)
        # Resolved before the ids are compared: an id the worker holds too is
        # resolved again below, with its versions from both parts.
        engines = recorder.engines
        for engine in engines.values():
            engine.resolve()
        items: dict[str, tuple[list[str], Encoded]] = _receive(ours, worker)
        shared = {
            cid: set(ids).intersection(engines[cid].recorded_ids())
            for cid, (ids, _) in items.items()
            if cid in engines
        }
        ours.send(shared)
        versions: dict[str, list[tuple[int, AsRunEvent]]]
        versions, their_stats = _receive(ours, worker)
    except BaseException:
        worker.kill()
        raise
    finally:
        ours.close()
    stats = recorder.stats
    for cid, (_, encoded) in items.items():
        recorded, duplicates = recorder.engine(cid).merge(
            versions.get(cid, []), shared.get(cid, set()), encoded
        )
        stats.applied += recorded
        stats.unchanged += duplicates
    stats.add(their_stats)
    # Joined only now: the worker's exit (freeing its heap) overlapped the merge.
    worker.join(5)
    if worker.is_alive():
        worker.kill()


def _read_own(cut: Cut, recorder: Recorder, progress: Callable[[int], None] | None) -> None:
    total = sum(_size(p, part) for p, part in cut.main + cut.worker)
    mine = max(sum(_size(p, part) for p, part in cut.main), 1)
    before = 0
    for path, part in cut.main:

        def tick(consumed: int, before: int = before) -> None:
            if progress is not None:
                progress((before + consumed) * total // mine)

        recorder.record(read_lines(path, part, now_us=OFFLINE_NOW_US, progress=tick))
        before += _size(path, part)


def _size(path: Path, part: Part) -> int:
    return (path.stat().st_size if part.stop is None else part.stop) - part.start


def _receive(conn: Connection, worker: multiprocessing.process.BaseProcess) -> Any:
    """The worker's next message (see :func:`_send`); raise what it reports as failed."""
    if not conn.poll(WORKER_TIMEOUT_S):
        msg = f"the audit's worker process sent nothing for {WORKER_TIMEOUT_S:.0f} s"
        raise SplitError(msg)
    try:
        message = conn.recv_bytes()
    except EOFError:
        msg = f"the audit's worker process ended (exit code {worker.exitcode})"
        raise SplitError(msg) from None
    kind, body = message[:1], memoryview(message)[1:]
    if kind == _FAILED:
        msg = f"the audit's worker process failed:\n{bytes(body).decode()}"
        raise SplitError(msg)
    return msgspec.msgpack.decode(body) if kind == _PACKED else pickle.loads(body)  # noqa: S301 - our own child process


#: Message kinds: plain data packed by msgspec (fast for the items: lists of
#: plain values), Python objects pickled (events, counts), a failure's traceback.
_PACKED, _PICKLED, _FAILED = b"M", b"P", b"F"


def _send(conn: Connection, kind: bytes, payload: Any) -> None:
    if kind == _PACKED:
        body = msgspec.msgpack.encode(payload)
    elif kind == _PICKLED:
        body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    else:
        body = str(payload).encode()
    conn.send_bytes(kind + body)


def _work(
    conn: Connection,
    cut: Cut,
    new_engine: Callable[[str], ChannelEngine],
    only: str | None,
) -> None:
    """The worker: read the second part, exchange ids, send the items and counts."""
    try:
        recorder = Recorder(InputStats(), new_engine, only)
        arrival: int | None = cut.offset
        for path, part in cut.worker:
            first = part.first_line or _lines_before(path, part.start) + 1
            stream = read_lines(path, Part(part.start, part.stop, first), now_us=OFFLINE_NOW_US)
            arrival = recorder.record(stream, arrival)
        stats, engines = recorder.stats, recorder.engines
        # Resolved and encoded before anything goes out: sending blocks until
        # the parent, still reading its own part, takes it.
        theirs = {
            cid: (list(engine.recorded_ids()), engine.encoded_items())
            for cid, engine in engines.items()
        }
        _send(conn, _PACKED, theirs)
        del theirs
        shared: Shared = conn.recv()
        out: dict[str, list[tuple[int, AsRunEvent]]] = {}
        for cid, ids in shared.items():
            versions = engines[cid].arrivals(ids)
            # Those versions are counted where they are recorded now.
            stats.applied -= len(versions)
            out[cid] = versions
        _send(conn, _PICKLED, (out, stats))
    except BaseException:  # noqa: BLE001 - everything is reported to the parent, which raises
        _send(conn, _FAILED, traceback.format_exc())
    finally:
        conn.close()


def _lines_before(path: Path, offset: int) -> int:
    """Count the lines in the first ``offset`` bytes of ``path``."""
    count = 0
    left = offset
    with path.open("rb") as handle:
        while left > 0:
            block = handle.read(min(left, 1 << 24))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
    return count
