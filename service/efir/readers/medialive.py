"""``medialive``: the AWS Elemental MediaLive as-run log, as CloudWatch Logs exports it.

A JSON array (or JSON lines) of log records ``{"@timestamp": ...,
"@message": {...}}``, the message an object or a JSON string:
``{"as_run_type": "input_switch_initiated", "action_name", "input_id",
"timestamp", "url_path"}``. The channel's output switches input at
``timestamp`` (UTC, written without a suffix, to the microsecond); an item
runs from its switch to the next one in time order. The last switch of the
file has no end in it: when its ``action_name`` carries an ISO-8601
duration (``..._PT30M``, as schedules built by tools write it) that is its
length, otherwise it is skipped and counted (read the next day's log with
it and it gets its end). Records of other ``as_run_type`` values (SCTE-35,
overlays, pauses) are not airtime.

``title`` is the action name, ``house_id`` the file name of the URL path
(without extension) or else the input id. The kind is not in the log:
``--classify`` (on ``raw.action_name`` or ``raw.url_path``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import msgspec

from efir.core.timebase import US_PER_S, to_us
from efir.readers.base import LineError, Record, Skipped, oversized
from efir.readers.playlist import rfc3339

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from efir.readers.base import ReadOptions

MAX_BYTES = 256 << 20
SWITCH = "input_switch_initiated"
_DURATION = re.compile(
    r"P(?:(?P<d>\d+)D)?T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?(?![A-Za-z0-9])"
)


def _instant(text: object) -> int:
    """A MediaLive ``timestamp`` (UTC, with or without a suffix) as µs."""
    if not isinstance(text, str):
        msg = f"timestamp {text!r} is not a text"
        raise ValueError(msg)  # noqa: TRY004 - one error type for a bad field
    at = datetime.fromisoformat(text.strip().replace(" ", "T"))
    return to_us(at if at.tzinfo is not None else at.replace(tzinfo=UTC))


def _planned_length(name: str) -> int | None:
    """An ISO-8601 duration in an action name (``promo_PT30S``) as µs, if there is one."""
    m = _DURATION.search(name)
    if m is None or not any(m.groupdict().values()):
        return None
    d, h, mi, s = (m.group(k) for k in "dhms")
    seconds = int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    return round(seconds * US_PER_S) or None


class MedialiveReader:
    """MediaLive as-run logs exported from CloudWatch Logs."""

    name = "medialive"

    def sniff(self, head: bytes) -> bool:
        """JSON naming ``as_run_type`` (an as-run record) near the start."""
        return head.startswith((b"[", b"{")) and b"as_run_type" in head

    def records(
        self,
        path: Path,
        options: ReadOptions,  # noqa: ARG002 - the log is in UTC and says what it is
        *,
        progress: Callable[[int], None] | None = None,
    ) -> Iterator[Record | LineError | Skipped]:
        """One record per input switch, ended by the next switch."""
        source = str(path)
        refused = oversized(path, MAX_BYTES, "log")
        if refused is not None:
            yield refused
            return
        size = path.stat().st_size
        data = path.read_bytes().removeprefix(b"\xef\xbb\xbf").strip()
        switches: list[tuple[int, int, dict[str, str]]] = []
        for number, entry in _entries(source, data):
            if isinstance(entry, LineError):
                yield entry
                continue
            got = _switch(source, number, entry)
            if isinstance(got, tuple):
                switches.append(got)
            else:
                yield got
        yield from _items(source, switches)
        if progress is not None:
            progress(size)


def _items(
    source: str, switches: list[tuple[int, int, dict[str, str]]]
) -> Iterator[Record | Skipped]:
    """Each switch as an item that runs to the next switch in time order."""
    # Time order, not file order: exports are often newest first. A standard
    # channel's two pipelines both log each switch: one item, read once.
    switches.sort(key=lambda s: (s[0], s[1]))
    seen: set[tuple[int, str]] = set()
    unique = []
    for at, number, raw in switches:
        key = (at, raw.get("action_name", ""))
        if key in seen:
            yield Skipped(source, number, "the same switch logged again (the other pipeline)")
            continue
        seen.add(key)
        unique.append((at, number, raw))
    switches = unique
    for i, (at, number, raw) in enumerate(switches):
        if i + 1 < len(switches):
            length = switches[i + 1][0] - at
        else:
            length = _planned_length(raw.get("action_name", "")) or 0
            if not length:
                yield Skipped(source, number, "the last switch: its end is not in this log")
                continue
        if length <= 0:
            yield Skipped(source, number, "no length (the next switch is at the same time)")
            continue
        fields: dict[str, Any] = {
            "event_id": f"{raw.get('action_name', '')}@{raw['timestamp']}"[:128],
            "phase": "complete",
            "start": rfc3339(at),
            "duration": length / US_PER_S,
        }
        house = PurePosixPath(raw.get("url_path", "")).stem or raw.get("input_id")
        if house:
            fields["house_id"] = house[:128]
        if raw.get("action_name"):
            fields["title"] = raw["action_name"]
        yield Record(fields, raw, number)


def _entries(source: str, data: bytes) -> Iterator[tuple[int, object]]:
    """The log records: a JSON array's items (numbered from 1) or JSON lines."""
    if data.startswith(b"["):
        try:
            doc = msgspec.json.decode(data)
        except (msgspec.DecodeError, RecursionError) as exc:
            yield 1, LineError(source, 1, (f"not JSON: {exc}",), "malformed_json", "document")
            return
        yield from enumerate(doc if isinstance(doc, list) else [doc], start=1)
        return
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, msgspec.json.decode(line)
        except (msgspec.DecodeError, RecursionError) as exc:
            yield number, LineError(source, number, (f"not JSON: {exc}",), "malformed_json")


def _switch(
    source: str, number: int, entry: object
) -> tuple[int, int, dict[str, str]] | LineError | Skipped:
    """An input switch (its instant, its number, its fields) or why the record is not one."""
    if not isinstance(entry, dict):
        return LineError(source, number, ("a log record is not an object",), "invalid")
    message: object = entry.get("@message", entry)
    if isinstance(message, str):
        try:
            message = msgspec.json.decode(message)
        except (msgspec.DecodeError, RecursionError):
            return LineError(source, number, ("@message is not JSON",), "malformed_json")
    if not isinstance(message, dict):
        return LineError(source, number, ("@message is not an object",), "invalid")
    raw = {
        str(k): v if isinstance(v, str) else msgspec.json.encode(v).decode()
        for k, v in message.items()
        if v is not None
    }
    if isinstance(entry.get("@timestamp"), str):
        raw["@timestamp"] = entry["@timestamp"]
    kind = raw.get("as_run_type", "")
    if kind != SWITCH:
        return Skipped(source, number, f"as_run_type {kind!r}: not an input switch")
    try:
        at = _instant(raw.get("timestamp") or raw.get("@timestamp"))
    except ValueError as exc:
        return LineError(source, number, (f"timestamp: {exc}",), "invalid_field")
    raw.setdefault("timestamp", raw.get("@timestamp", ""))
    return at, number, raw
