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

A book restored from a checkpoint (:mod:`efir.core.checkpoint`) holds items
without their versions. A new version of such an id needs them first: the
caller fetches the stored versions and hands them to :meth:`EventBook.hydrate`;
:meth:`EventBook.apply` refuses the id until then (:class:`HistoryNeededError`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from efir.core.errors import StateError
from efir.core.event import INHERITABLE, AsRunEvent, Layer, Phase
from efir.core.profile import ProfileTable

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, KeysView, Sequence

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
        event: the version carrying the item's attributes (merged when fields
            were inherited); its phase and start may differ from the item's.
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


class Change(NamedTuple):
    """What one applied event changed: the item before and after (``None`` = absent)."""

    before: Item | None
    after: Item | None


# A version: [rank, seq (or -1), arrival number, event, profile id (-1 until needed)].
# A list so the profile id can be cached; lists compare by their first three
# fields, which are unique (arrival numbers never repeat).
_Version = list[Any]
_RANK_AT, _SEQ_AT, _RECEIVED_AT, _EVENT_AT, _PID_AT = range(5)


class HistoryNeededError(StateError):
    """A version arrived for an id restored without its versions: hydrate it first."""

    def __init__(self, event_id: str) -> None:
        """Name the id."""
        super().__init__(f"event {event_id!r} was restored without its versions; hydrate it first")
        self.event_id = event_id


class Restored(NamedTuple):
    """An id restored from a checkpoint whose versions are not in memory.

    Attributes:
        order: arrival number of its winning version (the item's ``order``).
        at: the latest start among its versions (µs UTC), or when it was
            recorded if none had a start: restore drops ids older than its horizon.
    """

    order: int
    at: int


class EventBook:
    """All versions of all events of one channel, and the items they imply."""

    __slots__ = ("_gone", "_items", "_profiles", "_received", "_versions")

    def __init__(self, profiles: ProfileTable | None = None) -> None:
        """Create an empty book; ``profiles`` interns item profiles (shared per channel)."""
        self._versions: dict[str, list[_Version]] = {}
        self._items: dict[str, Item] = {}
        self._profiles = profiles if profiles is not None else ProfileTable()
        self._received = 0
        # Ids restored from a checkpoint (or adopted) without their versions are
        # those with an item, or a mark here (cancelled), and no versions: no
        # set of them is kept (ten days of a dense channel's ids, held live).
        self._gone: dict[str, Restored] = {}

    @property
    def profiles(self) -> ProfileTable:
        """The profile table used for items of this book."""
        return self._profiles

    @property
    def received(self) -> int:
        """Arrival number of the latest version recorded (versions count from 1)."""
        return self._received

    def _store(self, event: AsRunEvent, arrival: int | None = None) -> list[_Version] | None:
        """Store a new version; return its id's versions, or ``None`` for a re-delivery."""
        if self.needs_history(event.event_id):
            raise HistoryNeededError(event.event_id)
        if arrival is None:
            self._received += 1
        elif arrival > self._received:
            self._received = arrival
        else:
            msg = f"arrival {arrival} is not after {self._received}"
            raise ValueError(msg)
        seq = event.seq if event.seq is not None else -1
        version: _Version = [_RANK[event.phase], seq, self._received, event, -1]
        versions = self._versions.get(event.event_id)
        if versions is None:
            versions = self._versions[event.event_id] = [version]
            return versions
        for known in versions:
            if known[_EVENT_AT] == event:
                return None
        versions.append(version)
        return versions

    def apply(self, event: AsRunEvent) -> Change | None:
        """Record one event version; return the item change, or ``None`` if nothing changed.

        Identical re-delivery of a version already recorded changes nothing.
        """
        versions = self._store(event)
        if versions is None:
            return None
        best = max(versions)  # lists compare by (rank, seq, arrival): unique, never the event
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

    def record(self, event: AsRunEvent, arrival: int | None = None) -> bool:
        """Record a version without resolving its item (bulk loading); ``False`` if a duplicate.

        Call :meth:`resolve` after the last ``record``. Recording then resolving
        yields exactly the items that applying the same events one by one does.
        ``arrival`` numbers the version explicitly (it must exceed every number
        so far; gaps are fine): a version read by another process keeps its
        place in the arrival order (:mod:`efir.audit.split`).
        """
        return self._store(event, arrival) is not None

    def resolve(self) -> list[Item]:
        """Resolve every recorded event id to its item; return the items (arbitrary order)."""
        have = self._versions
        items = {k: item for k, item in self._items.items() if k not in have}
        for event_id, versions in self._versions.items():
            item = self._item_from(max(versions), versions)
            if item is not None:
                items[event_id] = item
        self._items = items
        return list(items.values())

    def resolve_ids(self, ids: Iterable[str]) -> None:
        """Resolve ``ids`` again after versions were recorded for them since :meth:`resolve`."""
        for event_id in ids:
            versions = self._versions[event_id]
            item = self._item_from(max(versions), versions)
            if item is None:
                self._items.pop(event_id, None)
            else:
                self._items[event_id] = item

    def recorded(self) -> KeysView[str]:
        """The ids with versions in this book (a live view)."""
        return self._versions.keys()

    def arrivals(self, event_id: str) -> list[tuple[int, AsRunEvent]]:
        """The recorded versions of ``event_id`` with their arrival numbers, in arrival order."""
        return [(v[_RECEIVED_AT], v[_EVENT_AT]) for v in self._versions.get(event_id, [])]

    def adopt(self, items: dict[str, Item]) -> None:
        """Hold ``items`` resolved by another book (their ``pid`` index :attr:`profiles`).

        For ids this book has no version of, like items restored from a
        checkpoint: a later version of one needs :meth:`hydrate` first.
        """
        if not (self._versions.keys().isdisjoint(items) and self._items.keys().isdisjoint(items)):
            overlap = sorted(k for k in items if k in self._versions or k in self._items)
            msg = f"adopt() of ids this book already holds: {overlap[:5]}"
            raise ValueError(msg)
        self._items.update(items)

    # -------------------------------------------------------------- restore
    def restore(self, items: dict[str, Item], gone: dict[str, Restored], received: int) -> None:
        """Fill an empty book from a checkpoint, without versions (the book keeps the dicts).

        Args:
            items: the current items by id; their ``pid`` must index
                :attr:`profiles` (restore the profile table first).
            gone: ids that have versions but no item (cancelled), each with its
                winning version's arrival number and latest start.
            received: the checkpoint's arrival counter (at least every
                restored ``order``); new versions count on from it.
        """
        if self._versions or self._items or self._gone:
            msg = "restore() needs an empty book"
            raise RuntimeError(msg)
        self._items = items
        self._gone = gone
        self._received = received

    def needs_history(self, event_id: str) -> bool:
        """Whether ``event_id`` was restored without its versions (see :meth:`hydrate`)."""
        return event_id not in self._versions and (
            event_id in self._items or event_id in self._gone
        )

    def hydrate(self, event_id: str, versions: Sequence[AsRunEvent]) -> Change | None:
        """Give a restored id its stored versions (arrival order); return the item change.

        ``versions`` are those the checkpoint reflected (and possibly some it
        missed, e.g. written by another instance). Their winner keeps the
        restored arrival number, so the item keeps its place among items
        starting at the same instant. The change is ``None`` when the versions
        resolve to the restored item, as they do unless the checkpoint missed
        one. An id with no stored versions left (retention) keeps its item;
        later versions then resolve without the lost ones.
        """
        if not self.needs_history(event_id):
            msg = f"event {event_id!r} has its versions already"
            raise KeyError(msg)
        before = self._items.get(event_id)
        order = before.order if before is not None else self._gone.pop(event_id).order
        known: list[_Version] = []
        count = len(versions)
        for n, event in enumerate(versions):
            if any(v[_EVENT_AT] == event for v in known):
                continue
            seq = event.seq if event.seq is not None else -1
            # Below every live arrival number, in stored (arrival) order.
            known.append([_RANK[event.phase], seq, n - count - 1, event, -1])
        self._versions[event_id] = known
        if not known:
            return None
        best = max(known)
        best[_RECEIVED_AT] = order
        after = self._item_from(best, known)
        if after == before:
            return None
        # The checkpoint missed a version: the winner counts as arriving now.
        self._received += 1
        best[_RECEIVED_AT] = self._received
        after = self._item_from(best, known)
        if after is None:
            self._items.pop(event_id, None)
        else:
            self._items[event_id] = after
        return Change(before, after)

    def gone(self, recorded_at: int) -> Iterator[tuple[str, Restored]]:
        """Ids with versions but no item (cancelled), for a checkpoint.

        ``recorded_at`` stands in for the latest start of ids none of whose
        versions has a start (a lone ``cancel``).
        """
        yield from self._gone.items()
        for event_id, versions in self._versions.items():
            if event_id not in self._items:
                starts = [v[_EVENT_AT].start for v in versions if v[_EVENT_AT].start is not None]
                order = max(versions)[_RECEIVED_AT] if versions else 0
                yield event_id, Restored(order, max(starts, default=recorded_at))

    def _pid(self, version: _Version, attrs: AsRunEvent) -> int:
        pid: int = version[_PID_AT]
        if pid < 0:
            pid = version[_PID_AT] = self._profiles.of_event(attrs)
        return pid

    def _item_from(self, best: _Version, versions: list[_Version] | None) -> Item | None:
        event: AsRunEvent = best[_EVENT_AT]
        start = event.start  # not inheritable: the winner's own start
        if event.phase is Phase.CANCEL or start is None:
            return None
        attrs, pid = event, -1
        if versions is not None and len(versions) > 1 and len(event.given) < len(INHERITABLE):
            others = [
                v for v in versions if v is not best and v[_EVENT_AT].phase is not Phase.CANCEL
            ]
            if not event.given and len(others) == 1:
                # The common start -> end pair: the end gives no attributes, so the
                # item has exactly the start's attributes (and its profile).
                attrs = others[0][_EVENT_AT]
                pid = self._pid(others[0], attrs)
            elif others:
                attrs = _inherit(event, sorted(others, key=_sort_key, reverse=True))
                pid = self._profiles.of_event(attrs)
        if pid < 0:
            pid = self._pid(best, attrs)
        if event.phase is Phase.START:
            end = None
            planned = start + event.duration if event.duration is not None else None
        else:
            # end/complete/correction carry an actual duration (schema-enforced).
            end = start + (event.duration or 0)
            planned = None
        return Item(
            event.event_id,
            start,
            end,
            planned,
            best[_RECEIVED_AT],
            pid,
            attrs.layer is Layer.PRIMARY,
            attrs,
        )

    def item(self, event_id: str) -> Item | None:
        """Return the current item for ``event_id`` (``None`` if absent or cancelled)."""
        return self._items.get(event_id)

    def items(self) -> Iterator[Item]:
        """Iterate over all current items (arbitrary order)."""
        return iter(self._items.values())

    def versions(self, event_id: str) -> list[AsRunEvent]:
        """Return every recorded version of ``event_id`` in arrival order.

        Empty for an id restored from a checkpoint and not hydrated since.
        """
        return [v[_EVENT_AT] for v in self._versions.get(event_id, [])]

    def __len__(self) -> int:
        """Return the number of current items."""
        return len(self._items)


def _sort_key(version: _Version) -> tuple[int, int, int]:
    return (version[_RANK_AT], version[_SEQ_AT], version[_RECEIVED_AT])


def _inherit(event: AsRunEvent, others: list[_Version]) -> AsRunEvent:
    """Fill fields absent from ``event`` from ``others`` (best first)."""
    changes: dict[str, Any] = {}
    for name in INHERITABLE:
        if name in event.given:
            continue
        for other in others:
            if name in other[_EVENT_AT].given:
                changes[name] = getattr(other[_EVENT_AT], name)
                break
    if not changes:
        return event
    return event._replace(given=event.given | frozenset(changes), **changes)
