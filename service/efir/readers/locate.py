"""Where events were read: the file and line (or element) of each version of some event ids.

A report's evidence names the source of every item it lists. Reading does
not keep a position per event (a channel-year is a million of them); a
report asks afterwards, for the few ids it shows, and the files are read
once more without validation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from efir.readers.base import Record
from efir.readers.registry import RECORD_READERS, reader_for

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from pathlib import Path

    from efir.readers.base import ReadOptions


class _Id(msgspec.Struct):
    event_id: str


_DECODE_ID = msgspec.json.Decoder(_Id).decode


def locate(
    paths: Sequence[Path],
    input_format: str | None,
    options: ReadOptions,
    wanted: Collection[str],
) -> dict[str, list[str]]:
    """Each wanted event id's sources, ``file:line`` (``file:element`` in XML), in file order."""
    found: dict[str, list[str]] = {}
    if not wanted:
        return found
    for path in paths:
        reader = reader_for(path, input_format)
        if reader.name == "jsonl":
            with path.open("rb") as handle:
                for number, line in enumerate(handle, start=1):
                    try:
                        event_id = _DECODE_ID(line).event_id
                    except (msgspec.DecodeError, RecursionError):
                        continue
                    if event_id in wanted:
                        found.setdefault(event_id, []).append(f"{path}:{number}")
            continue
        for record in RECORD_READERS[reader.name].records(path, options):
            if not isinstance(record, Record):
                continue
            key = str(record.fields.get("event_id"))
            if key in wanted:
                where = record.element if record.element is not None else record.line
                found.setdefault(key, []).append(f"{path}:{where}")
    return found
