"""Canonical ``efir.asrun/1`` JSON lines: the fast path, and the split audit's parts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from efir.readers.base import OFFLINE_NOW_US, LineError
from efir.readers.classify import enrich_payload
from efir.readers.playlist import PROGRAM_LIST
from efir.schema.asrun import MAX_PAYLOAD_BYTES, EventError, parse_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from efir.core.catalogue import Catalogue
    from efir.core.event import AsRunEvent
    from efir.readers.base import ReadOptions


def parse_lines(
    source: str, first: int, lines: list[bytes], now_us: int
) -> Iterator[AsRunEvent | LineError]:
    """Validate JSON lines numbered from ``first``; yield parsed events and line errors in order."""
    for number, raw in enumerate(lines, start=first):
        # Fast path: a line starting with "{" goes to the JSON parser as is
        # (it ignores the trailing newline); others are stripped and checked.
        line = raw if raw[:1] == b"{" else raw.strip()
        if not line or line[:1] == b"#":
            continue
        if len(line) > MAX_PAYLOAD_BYTES:
            reason = f"line is {len(line)} bytes, over the {MAX_PAYLOAD_BYTES}-byte limit"
            yield LineError(source, number, (reason,), "oversized")
            continue
        try:
            yield parse_event(line, now_us=now_us)
        except EventError as exc:
            yield LineError(source, number, tuple(exc.reasons), exc.code)


#: Bytes read per chunk (about 20,000 typical lines).
CHUNK_BYTES = 4 << 20


class JsonLinesReader:
    """Canonical ``efir.asrun/1`` JSON, one object per line.

    Blank lines and lines starting with ``#`` are skipped.
    """

    name = "jsonl"

    def sniff(self, head: bytes) -> bool:
        """A first line (after ``#`` comments) that opens a JSON object and goes on.

        A pretty-printed JSON document has ``{`` alone on its first line, a
        playlist has a ``"program": [`` list, a MediaLive export names
        ``as_run_type``, and other
        formats' ``#`` directives are followed by lines that are not JSON:
        none of them is taken for JSON lines.
        """
        for line in head.splitlines():
            stripped = line.strip()
            if not stripped or stripped.startswith(b"#"):
                continue
            return (
                stripped.startswith(b"{")
                and len(stripped) > 1
                and b"as_run_type" not in stripped
                and PROGRAM_LIST.search(stripped) is None
            )
        return False

    def read(
        self,
        path: Path,
        options: ReadOptions,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[AsRunEvent | LineError]:
        """Yield events and line errors in file order (the catalogue, if given, filling in)."""
        return read_lines(
            path, Part(0, None, 1), now_us=OFFLINE_NOW_US, progress=progress,
            catalogue=options.catalogue,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Part:
    """Bytes ``[start, stop)`` of a JSON-lines file (``stop`` ``None``: to the end).

    ``start`` and ``stop`` fall just after a newline (or at 0); ``first_line``
    is the number of the line at ``start``.
    """

    start: int
    stop: int | None
    first_line: int


def read_lines(
    path: Path,
    part: Part,
    *,
    now_us: int,
    progress: Callable[[int], None] | None = None,
    catalogue: Catalogue | None = None,
) -> Iterator[AsRunEvent | LineError]:
    """Yield the events and line errors of ``part`` of a JSON-lines file, in order.

    ``progress`` receives the bytes of the part consumed so far; ``catalogue``
    fills in what each line lacks (by house number or ISRC) before it is checked.
    """
    source = str(path)
    consumed = 0
    number = part.first_line
    left = -1 if part.stop is None else part.stop - part.start
    with path.open("rb") as handle:
        handle.seek(part.start)
        # readlines stops only once its lines *exceed* the hint, so with a hint
        # of what is left it reads one line past the part's end: cut it off.
        while left and (
            lines := handle.readlines(CHUNK_BYTES if left < 0 else min(left, CHUNK_BYTES))
        ):
            size = sum(map(len, lines))
            while left > 0 and size > left:
                size -= len(lines.pop())
            if catalogue is not None:
                lines = [enrich_payload(line, catalogue=catalogue).payload for line in lines]
            yield from parse_lines(source, number, lines, now_us)
            number += len(lines)
            consumed += size
            if left > 0:
                left -= size
            if progress is not None:
                progress(consumed)
