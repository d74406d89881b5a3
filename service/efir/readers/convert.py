"""Any input file as ``efir.asrun/1`` payloads, what ``efir convert`` writes and adapters publish.

A foreign record keeps its source fields under ``raw``; an event read from
Efir's own formats is written back as its canonical JSON (start in ``tz``).
Errors and skipped records pass through in file order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from efir.readers.base import Checked, LineError, Skipped, canonical, checked, event_json
from efir.readers.registry import RECORD_READERS, reader_for

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from efir.readers.base import ReadOptions


def payloads(
    path: Path, input_format: str | None, options: ReadOptions, tz: ZoneInfo
) -> Iterator[dict[str, Any] | LineError | Skipped]:
    """The payloads of ``path`` (format ``input_format``, or detected), errors, skipped records."""
    reader = reader_for(path, input_format)
    inner = RECORD_READERS.get(reader.name)
    if inner is not None:
        for got in checked(str(path), inner.records(path, options), options):
            yield canonical(got.record) if isinstance(got, Checked) else got
        return
    for read in reader.read(path, options):
        yield read if isinstance(read, (LineError, Skipped)) else event_json(read, tz)
