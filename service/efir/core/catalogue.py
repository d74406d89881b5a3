"""The catalogue: what a station's house numbers and ISRCs are, for what its logs do not say.

Playout systems rarely say which language an item is in or whether it is
domestic; a catalogue entry, keyed by the item's ``house_id`` (house
number, media id, cart number) or its ``isrc``, says it once for every
airing. An entry applies to one channel or (``channel`` ``None``) to all;
a channel's own entry wins over a shared one, and a ``house_id`` entry over
an ``isrc`` one. It fills in only what an event lacks (a field absent or
``null``); tags are added. Like classification, it applies to the versions
that say what an item is (``start``, ``complete``): the others inherit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

#: The event fields an entry is found by, most specific first.
KEY_FIELDS = ("house_id", "isrc")
#: The fields an entry gives.
ATTRIBUTES = ("kind", "language", "kk_fraction", "origin", "tags")
_PHASES = frozenset({"start", "complete"})


@dataclass(frozen=True, slots=True)
class Entry:
    """What one house number or ISRC is.

    Attributes:
        key_field: ``house_id`` or ``isrc``.
        key: the value the event carries in that field.
        channel: the channel it applies to, ``None`` for every channel.
        kind, language, kk_fraction, origin: as in ``efir.asrun/1`` (``None``: not said).
        tags: added to the event's tags.
        title: what the entry is, for people (the worklist, the journal).
        updated_by, updated_us: who changed it last, and when (µs UTC).
    """

    key_field: str
    key: str
    channel: str | None = None
    kind: str | None = None
    language: str | None = None
    kk_fraction: float | None = None
    origin: str | None = None
    tags: tuple[str, ...] = ()
    title: str | None = None
    updated_by: str | None = None
    updated_us: int = 0

    @property
    def ident(self) -> tuple[str, str, str | None]:
        """``(key_field, key, channel)``: one entry per key and channel."""
        return self.key_field, self.key, self.channel

    def gives(self) -> dict[str, Any]:
        """The fields this entry fills in."""
        out: dict[str, Any] = {
            name: getattr(self, name)
            for name in ("kind", "language", "kk_fraction", "origin")
            if getattr(self, name) is not None
        }
        if self.tags:
            out["tags"] = list(self.tags)
        return out


class Catalogue:
    """Entries by key, and the fill-in they make."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        """Hold ``entries`` (a later one with the same :attr:`Entry.ident` replaces)."""
        self._by: dict[tuple[str, str, str | None], Entry] = {}
        for e in entries:
            self._by[e.ident] = e

    def __len__(self) -> int:
        """How many entries."""
        return len(self._by)

    def entries(self) -> list[Entry]:
        """Every entry, by channel, field and key."""
        return sorted(self._by.values(), key=lambda e: (e.channel or "", e.key_field, e.key))

    def get(self, ident: tuple[str, str, str | None]) -> Entry | None:
        """The entry of ``(key_field, key, channel)``."""
        return self._by.get(ident)

    def put(self, entry: Entry) -> Entry | None:
        """Add or replace ``entry``; return the one it replaced."""
        before = self._by.get(entry.ident)
        self._by[entry.ident] = entry
        return before

    def remove(self, ident: tuple[str, str, str | None]) -> Entry | None:
        """Remove the entry of ``ident``; return it."""
        return self._by.pop(ident, None)

    def find(self, channel: str | None, fields: dict[str, Any]) -> Entry | None:
        """The entry for an event's ``fields`` on ``channel`` (see the module docstring)."""
        for name in KEY_FIELDS:
            value = fields.get(name)
            if not isinstance(value, str) or not value:
                continue
            for scope in (channel, None):
                found = self._by.get((name, value, scope))
                if found is not None:
                    return found
        return None

    def fill(self, doc: dict[str, Any]) -> tuple[Entry | None, list[str]]:
        """Fill in what an event payload (a decoded ``efir.asrun/1`` object) lacks.

        Returns the entry used and the fields it filled (none for other phases).
        """
        if doc.get("phase", "complete") not in _PHASES:
            return None, []
        channel = doc.get("channel")
        entry = self.find(channel if isinstance(channel, str) else None, doc)
        if entry is None:
            return None, []
        filled = []
        for name, value in entry.gives().items():
            if name == "tags":
                had = doc.get("tags")
                tags = list(had) if isinstance(had, list) else []
                added = [t for t in value if t not in tags]
                if added:
                    doc["tags"] = tags + added
                    filled.append("tags")
            elif doc.get(name) is None:
                doc[name] = value
                filled.append(name)
        return entry, filled
