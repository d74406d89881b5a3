"""Reading a now-playing JSON document: which item plays, since when, and what played before.

A :class:`NowPlayingMap` says where a document keeps the current item and
its history, and where each event field is inside an item (dot paths:
``song.title``; a number selects a list element: ``items.0.title``). Presets
cover the documented payloads:

* ``azuracast``: AzuraCast's NowPlaying (its API ``/api/nowplaying/{station}``
  and its "Generic Web Hook"): ``now_playing`` with ``sh_id``, ``played_at``
  (Unix seconds), ``duration`` and ``song`` (``title``, ``artist``, ``isrc``,
  ``id``), and ``song_history``;
* ``ffplayout``: ffplayout's current media (``start_sec``, seconds of the
  local day, and ``current_media`` with ``title``, ``out`` and ``source``;
  a JSON-RPC ``result`` wrapper is taken off);
* ``json``: any document, through a mapping file (docs/integration.md).

Every problem is a :class:`MappingError` with one sentence: the caller
reports it and goes on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from efir.core.nowplaying import Playing
from efir.core.timebase import US_PER_S, to_us

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

StartFormat = Literal["unix", "unix_ms", "rfc3339", "day_seconds"]
_FORMATS = ("unix", "unix_ms", "rfc3339", "day_seconds")
#: Event fields a mapping may fill (besides ``event_id``, ``start`` and ``duration``).
FIELDS = (
    "title", "artist", "isrc", "house_id", "kind", "language", "kk_fraction", "origin",
    "ad_category", "tags", "layer", "retransmission",
)  # fmt: skip


class MappingError(ValueError):
    """A mapping that cannot be used, or a document it cannot read."""


@dataclass(frozen=True, slots=True)
class NowPlayingMap:
    """Where a now-playing document keeps what Efir needs.

    Attributes:
        item: dot path of the item on air (``""``: the document itself).
        history: dot path of a list of finished items, if the source gives one.
        paths: event field -> dot path inside an item (``start`` required).
        start_format: how ``start`` is written.
        constants: fields every event gets (``kind: music``), unless the item gives them.
    """

    item: str
    history: str | None
    paths: dict[str, str]
    start_format: StartFormat = "unix"
    constants: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, data: object, where: str = "the mapping") -> NowPlayingMap:
        """A mapping from its YAML/JSON form (see docs/integration.md).

        Raises:
            MappingError: what is wrong, naming ``where``.
        """
        if not isinstance(data, dict):
            msg = f"{where}: expected a mapping with item, fields and (optional) history"
            raise MappingError(msg)
        unknown = set(data) - {"item", "history", "fields", "start_format", "set"}
        if unknown:
            msg = f"{where}: unknown keys {', '.join(sorted(unknown))}"
            raise MappingError(msg)
        paths = data.get("fields")
        if not isinstance(paths, dict) or "start" not in paths:
            msg = f"{where}: 'fields' must map event fields to paths, 'start' among them"
            raise MappingError(msg)
        allowed = {"event_id", "start", "duration", *FIELDS}
        bad = sorted(set(paths) - allowed)
        if bad:
            known = ", ".join(sorted(allowed))
            msg = f"{where}: fields {', '.join(bad)} are not event fields ({known})"
            raise MappingError(msg)
        fmt = data.get("start_format", "unix")
        if fmt not in _FORMATS:
            msg = f"{where}: start_format is one of {', '.join(_FORMATS)}, not {fmt!r}"
            raise MappingError(msg)
        constants = data.get("set", {})
        if not isinstance(constants, dict) or set(constants) - set(FIELDS):
            msg = f"{where}: 'set' gives constant event fields ({', '.join(FIELDS)})"
            raise MappingError(msg)
        item, history = data.get("item", ""), data.get("history")
        if not isinstance(item, str) or not (history is None or isinstance(history, str)):
            msg = f"{where}: item and history are dot paths (text)"
            raise MappingError(msg)
        return cls(item, history, {str(k): str(v) for k, v in paths.items()}, fmt, constants)

    def read(self, doc: object, now: int, tz: ZoneInfo) -> tuple[Playing | None, list[Playing]]:
        """The item on air (``None``: nothing) and the finished items of a document at ``now``.

        Raises:
            MappingError: the document does not have what the mapping names.
        """
        if isinstance(doc, dict) and set(doc) <= {"jsonrpc", "id", "result"} and "result" in doc:
            doc = doc["result"]  # a JSON-RPC answer
        if not isinstance(doc, dict):
            msg = f"a now-playing document is a JSON object, not {type(doc).__name__}"
            raise MappingError(msg)
        found = _at(doc, self.item) if self.item else doc
        if self.item and found is None and not _present(doc, self.item):
            # Missing is not "nothing on air" (null): a broken document must not end the item.
            msg = f"the document has no {self.item!r}"
            raise MappingError(msg)
        playing = None if found is None else self._item(found, now, tz, "item")
        history: list[Playing] = []
        if self.history:
            listed = _at(doc, self.history)
            if listed is not None and not isinstance(listed, list):
                msg = f"history ({self.history}) is not a list"
                raise MappingError(msg)
            for i, h in enumerate(listed or []):
                history.append(self._item(h, now, tz, f"history item {i}"))
        return playing, history

    def _item(self, obj: object, now: int, tz: ZoneInfo, what: str) -> Playing:
        start_raw = _at(obj, self.paths["start"])
        if start_raw is None:
            msg = f"{what}: no start at {self.paths['start']!r}"
            raise MappingError(msg)
        start = _start(start_raw, self.start_format, now, tz, what)
        duration = None
        if "duration" in self.paths:
            got = _at(obj, self.paths["duration"])
            if got is not None:
                duration = _number(got, f"{what}: duration")
        event_id = None
        if "event_id" in self.paths:
            got = _at(obj, self.paths["event_id"])
            if got is not None and not isinstance(got, (dict, list)):
                event_id = str(got)
        if not event_id:
            event_id = f"np-{start}"  # the start instant: stable for one item
        fields = dict(self.constants)
        for name in FIELDS:
            if name in self.paths:
                got = _at(obj, self.paths[name])
                if got is not None and got != "":
                    fields[name] = got
        return Playing(event_id[:128], start, duration, fields)


def _at(obj: object, path: str) -> object:
    """The value at a dot path, or ``None`` where any step is missing."""
    for step in path.split(".") if path else []:
        if isinstance(obj, dict):
            obj = obj.get(step)
        elif isinstance(obj, list) and step.isdigit() and int(step) < len(obj):
            obj = obj[int(step)]
        else:
            return None
    return obj


def _present(obj: object, path: str) -> bool:
    """Whether the dot path exists (its value may be null)."""
    *head, last = path.split(".")
    parent = _at(obj, ".".join(head)) if head else obj
    return isinstance(parent, dict) and last in parent


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        msg = f"{what}: expected a number, got {type(value).__name__}"
        raise MappingError(msg)
    try:
        got = float(value)
    except ValueError:
        msg = f"{what}: expected a number, got {str(value)[:40]!r}"
        raise MappingError(msg) from None
    if not math.isfinite(got):
        msg = f"{what}: not a finite number"
        raise MappingError(msg)
    return got


def _start(value: object, fmt: StartFormat, now: int, tz: ZoneInfo, what: str) -> int:
    """A start as µs UTC."""
    if fmt == "rfc3339":
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            msg = f"{what}: start {str(value)[:40]!r} is not RFC 3339"
            raise MappingError(msg) from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=tz)
        return to_us(at)
    seconds = _number(value, f"{what}: start")
    if fmt == "unix_ms":
        seconds /= 1000
    if fmt in ("unix", "unix_ms"):
        if not 0 <= seconds < 1e11:
            msg = f"{what}: start {seconds} is not a Unix time"
            raise MappingError(msg)
        return round(seconds * US_PER_S)
    if not 0 <= seconds <= 2 * 86_400:
        msg = f"{what}: start {seconds} is not seconds of a day"
        raise MappingError(msg)
    today = datetime.fromtimestamp(now / US_PER_S, tz).replace(
        hour=0, minute=0, second=0, microsecond=0, tzinfo=None
    )
    at = (today + timedelta(seconds=seconds)).replace(tzinfo=tz)
    if to_us(at) > now + 60 * US_PER_S:
        at -= timedelta(days=1)  # started before midnight: yesterday's clock
    return to_us(at)


PRESETS: dict[str, NowPlayingMap] = {
    "azuracast": NowPlayingMap(
        item="now_playing",
        history="song_history",
        paths={
            "event_id": "sh_id",
            "start": "played_at",
            "duration": "duration",
            "title": "song.title",
            "artist": "song.artist",
            "isrc": "song.isrc",
            "house_id": "song.id",
        },
        start_format="unix",
        constants={"kind": "music"},
    ),
    "ffplayout": NowPlayingMap(
        item="",
        history=None,
        paths={
            "start": "start_sec",
            "duration": "current_media.out",
            "title": "current_media.title",
            "house_id": "current_media.source",
        },
        start_format="day_seconds",
        constants={"kind": "program"},
    ),
}
