"""Every reader by name, and the detection of a file's format from its content."""

from __future__ import annotations

from typing import TYPE_CHECKING

from efir.core.errors import InputError
from efir.readers.base import ReaderOf
from efir.readers.bxf import BxfReader
from efir.readers.delimited import DelimitedReader
from efir.readers.ffplayout import FfplayoutReader
from efir.readers.itx import ItxReader
from efir.readers.jsonl import JsonLinesReader
from efir.readers.marina import MarinaReader
from efir.readers.medialive import MedialiveReader
from efir.readers.nielsen import NielsenReader
from efir.readers.playbox import PlayboxReader

if TYPE_CHECKING:
    from pathlib import Path

    from efir.readers.base import Reader, RecordReader

#: Readers of foreign formats, whose records ``efir convert`` writes with ``raw``.
RECORD_READERS: dict[str, RecordReader] = {
    r.name: r
    for r in (
        BxfReader(),
        NielsenReader(),
        ItxReader(),
        MarinaReader(),
        MedialiveReader(),
        PlayboxReader(),
        FfplayoutReader(),
        DelimitedReader(),
    )
}
READERS: dict[str, Reader] = {
    "jsonl": JsonLinesReader(),
    **{name: ReaderOf(r) for name, r in RECORD_READERS.items()},
}
#: Bytes of a file detection looks at.
HEAD_BYTES = 4096


class FormatError(InputError):
    """The input format is unknown, not yet supported, or cannot be detected."""


def detect_format(path: Path) -> str:
    """The format of ``path`` from its first bytes (a BOM and blanks skipped).

    Raises:
        FormatError: no reader recognises it, or several do (the message
            lists the candidates).
    """
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES).removeprefix(b"\xef\xbb\xbf").lstrip()
    found = [name for name, reader in READERS.items() if reader.sniff(head)]
    if len(found) == 1:
        return found[0]
    if found:
        msg = f"{path}: the format could be any of {', '.join(found)}; pass --input-format"
    else:
        msg = (
            f"{path}: cannot detect the input format; pass --input-format "
            f"({', '.join(READERS)}; csv needs --mapping)"
        )
    raise FormatError(msg)


def reader_for(path: Path, input_format: str | None) -> Reader:
    """The reader for ``path`` (the format given, else the one detected)."""
    name = input_format or detect_format(path)
    reader = READERS.get(name)
    if reader is None:
        msg = (
            f"unknown input format {name!r}; known: {', '.join(READERS)} (any other "
            "delimited or fixed-width log: --input-format csv --mapping FILE, docs/formats.md)"
        )
        raise FormatError(msg)
    return reader
