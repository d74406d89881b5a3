"""Input readers for ``efir audit``: one interface, one class per format.

A reader turns a file into a stream of validated events and per-line errors;
it never stops at a bad line. Formats other than canonical JSON lines (BXF,
iTX, Nielsen NL, CSV presets) plug in here through the same interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from efir.core.errors import InputError
from efir.schema.asrun import MAX_PAYLOAD_BYTES, EventError, parse_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from efir.core.event import AsRunEvent


@dataclass(frozen=True, slots=True)
class LineError:
    """A line that could not be used: where, why (one sentence per problem) and a code."""

    source: str
    line: int
    reasons: tuple[str, ...]
    code: str

    def __str__(self) -> str:
        """Render as ``file:line: reason; reason``."""
        return f"{self.source}:{self.line}: {'; '.join(self.reasons)}"


class Reader(Protocol):
    """Reads one input format."""

    name: str

    def read(
        self, path: Path, *, now_us: int, progress: Callable[[int], None] | None = None
    ) -> Iterator[AsRunEvent | LineError]:
        """Yield events and line errors in file order; ``progress`` receives bytes consumed."""
        ...


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

    def read(
        self, path: Path, *, now_us: int, progress: Callable[[int], None] | None = None
    ) -> Iterator[AsRunEvent | LineError]:
        """Yield events and line errors in file order."""
        return read_lines(path, Part(0, None, 1), now_us=now_us, progress=progress)


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
    path: Path, part: Part, *, now_us: int, progress: Callable[[int], None] | None = None
) -> Iterator[AsRunEvent | LineError]:
    """Yield the events and line errors of ``part`` of a JSON-lines file, in order.

    ``progress`` receives the bytes of the part consumed so far.
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
            yield from parse_lines(source, number, lines, now_us)
            number += len(lines)
            consumed += size
            if left > 0:
                left -= size
            if progress is not None:
                progress(consumed)


READERS: dict[str, Reader] = {"jsonl": JsonLinesReader()}
#: Formats accepted by ``--input-format`` that a later release implements.
PLANNED_FORMATS = ("bxf", "itx", "nielsen-nl", "csv")


class FormatError(InputError):
    """The input format is unknown, not yet supported, or cannot be detected."""


def detect_format(path: Path) -> str:
    """Guess the format of ``path`` from its first non-blank bytes."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith((b"{", b"#")):
        return "jsonl"
    if head.startswith(b"<"):
        return "bxf"
    if head.startswith(b"%"):
        return "nielsen-nl"
    msg = f"{path}: cannot detect the input format; pass --input-format"
    raise FormatError(msg)


def reader_for(path: Path, input_format: str | None) -> Reader:
    """Return the reader for ``path`` (explicit format, else detected)."""
    name = input_format or detect_format(path)
    reader = READERS.get(name)
    if reader is None:
        if name in PLANNED_FORMATS:
            msg = (
                f"{path}: input format {name!r} is not supported yet; "
                "convert to efir.asrun/1 JSON lines (docs/audit.md)"
            )
        else:
            msg = f"unknown input format {name!r}; known: {', '.join(READERS)}"
        raise FormatError(msg)
    return reader
