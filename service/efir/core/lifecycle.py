"""Event lifecycle: from versions of one ``event_id`` to the item that aired.

DESIGN section 2: a ``start`` opens an item that airs up to "now" until its
``end``; ``complete`` is both in one message; ``correction`` replaces earlier
versions; ``cancel`` removes the item (it did not air). Identical re-delivery
is a no-op. Order of arrival is never trusted, so precedence is by phase rank
and only then by the publisher's ``seq`` (when both versions carry one) and
arrival order:

    start  <  end | complete  <  correction | cancel

An ``end`` or ``correction`` may omit attribute fields; absent (not null)
fields are inherited from the best earlier version that gave them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from efir.core.event import INHERITABLE, AsRunEvent, Layer, Phase
from efir.core.profile import Profile, ProfileTable

if TYPE_CHECKING:
    from collections.abc import Iterator

_RANK = {
    Phase.START: 0,
    Phase.END: 1,
    Phase.COMPLETE: 1,
    Phase.CORRECTION: 2,
    Phase.CANCEL: 2,
}


class Item(NamedTuple):
    """The current best knowledge of one aired item.

    Attributes:
        event_id: the item's id.
        start: start instant, microseconds UTC.
        end: end instant (exclusive) in microseconds UTC, or ``None`` while the
            item is still on air (a ``start`` without its ``end``).
        planned_end: ``start`` + planned duration of an open item, if given.
        order: arrival number of the winning version; among items starting at
            the same instant the highest order wins (DESIGN section 3).
        pid: interned profile id.
        primary: whether the item is airtime (``layer: primary``).
        event: the merged effective version (metadata for reports).
    """

    event_id: str
    start: int
    end: int | None
    planned_end: int | None
    order: int
    pid: int
    primary: bool
    event: AsRunEvent

    @property
    def key(self) -> tuple[int, int]:
        """Timeline sort key: ``(start, order)``."""
        return (self.start, self.order)


@dataclass(frozen=True, slots=True)
class Change:
    """What one applied event changed: the item before and after (``None`` = absent)."""

    before: Item | None
    after: Item | None


class _Version:
    __slots__ = ("event", "received", "sort_key")

    def __init__(self, event: AsRunEvent, received: int) -> None:
        self.event = event
        self.received = received
        seq = event.seq if event.seq is not None else -1
        self.sort_key = (_RANK[event.phase], seq, received)


class EventBook:
    """All versions of all events of one channel, and the items they imply."""

    __slots__ = ("_items", "_profiles", "_received", "_versions")

    def __init__(self, profiles: ProfileTable | None = None) -> None:
        """Create an empty book; ``profiles`` interns item profiles (shared per channel)."""
        self._versions: dict[str, list[_Version]] = {}
        self._items: dict[str, Item] = {}
        self._profiles = profiles if profiles is not None else ProfileTable()
        self._received = 0

    @property
    def profiles(self) -> ProfileTable:
        """The profile table used for items of this book."""
        return self._profiles

    def apply(self, event: AsRunEvent) -> Change | None:
        """Record one event version; return the item change, or ``None`` if nothing changed.

        Identical re-delivery of a version already recorded changes nothing.
        """
        versions = self._versions.get(event.event_id)
        if versions is None:
            self._received += 1
            version = _Version(event, self._received)
            self._versions[event.event_id] = [version]
            item = self._item_from(version, None)
            if item is None:
                return None
            self._items[event.event_id] = item
            return Change(None, item)
        for known in versions:
            if known.event == event:
                return None
        self._received += 1
        versions.append(_Version(event, self._received))
        best = max(versions, key=_sort_key)
        before = self._items.get(event.event_id)
        # Recomputed even when the winner is unchanged: a lower-ranked version
        # arriving late (a ``start`` after its ``end``) may supply inherited fields.
        after = self._item_from(best, versions)
        if after == before:
            return None
        if after is None:
            del self._items[event.event_id]
        else:
            self._items[event.event_id] = after
        return Change(before, after)

    def _item_from(self, best: _Version, versions: list[_Version] | None) -> Item | None:
        event = best.event
        start = event.start  # not inheritable: the winner's own start
        if event.phase is Phase.CANCEL or start is None:
            return None
        if versions is not None and len(versions) > 1 and len(event.given) < len(INHERITABLE):
            event = _inherit(event, best, versions)
        if event.phase is Phase.START:
            end = None
            planned = start + event.duration if event.duration is not None else None
        else:
            # end/complete/correction carry an actual duration (schema-enforced).
            end = start + (event.duration or 0)
            planned = None
        pid = self._profiles.intern(Profile.of(event))
        return Item(
            event.event_id,
            start,
            end,
            planned,
            best.received,
            pid,
            event.layer is Layer.PRIMARY,
            event,
        )

    def item(self, event_id: str) -> Item | None:
        """Return the current item for ``event_id`` (``None`` if absent or cancelled)."""
        return self._items.get(event_id)

    def items(self) -> Iterator[Item]:
        """Iterate over all current items (arbitrary order)."""
        return iter(self._items.values())

    def versions(self, event_id: str) -> list[AsRunEvent]:
        """Return every recorded version of ``event_id`` in arrival order."""
        return [v.event for v in self._versions.get(event_id, [])]

    def __len__(self) -> int:
        """Return the number of current items."""
        return len(self._items)


def _sort_key(version: _Version) -> tuple[int, int, int]:
    return version.sort_key


def _inherit(event: AsRunEvent, best: _Version, versions: list[_Version]) -> AsRunEvent:
    """Fill fields absent from ``event`` from earlier versions (best first)."""
    missing = [name for name in INHERITABLE if name not in event.given]
    changes: dict[str, Any] = {}
    for other in sorted(versions, key=_sort_key, reverse=True):
        if other is best or other.event.phase is Phase.CANCEL:
            continue
        for name in missing:
            if name not in changes and name in other.event.given:
                changes[name] = getattr(other.event, name)
    if not changes:
        return event
    return event._replace(given=event.given | frozenset(changes), **changes)
