"""Checkpoints: a channel's items as plain data, so a restart does not replay versions.

A checkpoint holds what the event book resolved (each current item with its
attributes, and the ids cancelled), not the ledger: restoring accounts the
items again in one sweep (:meth:`~efir.core.ledger.Ledger.load`), so a
checkpoint stays valid when rules, rule packs or the time zone change. It does
not hold versions: an id restored from a checkpoint is *hydrated* with its
stored versions when a new version of it arrives
(:meth:`~efir.core.book.EventBook.hydrate`).

The data is JSON-compatible (lists, strings, numbers, ``null``); the caller
serialises it. Layout of :data:`FORMAT`::

    {"format": FORMAT, "channel": id, "received": arrival counter,
     "profiles": [[kind, layer, language, kk_fraction, origin,
                   retransmission, [tags], ad_category], ...],
     "items": [[event_id, start, end, planned_end, order, pid,
                phase, attrs_start, duration, house_id, title, artist,
                isrc, seq, given_mask], ...],
     "gone": [[event_id, order, at], ...]}

Instants and durations are µs UTC. ``phase`` .. ``given_mask`` describe the
version whose attributes the item carries (``given_mask``: bit *i* set when
``INHERITABLE[i]`` was given); its profile fields are the profile's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from efir.core.book import Item, Restored
from efir.core.errors import StateError
from efir.core.event import INHERITABLE, AsRunEvent, Kind, Layer, Phase
from efir.core.profile import Profile, ProfileTable

if TYPE_CHECKING:
    from collections.abc import Iterable

    from efir.core.book import EventBook
    from efir.core.ledger import Ledger

FORMAT = "efir.checkpoint/1"

_BIT = {name: 1 << i for i, name in enumerate(INHERITABLE)}
_PHASES = {p.value: p for p in Phase}


#: An event's profile fields, ``kind`` .. ``ad_category``, as the event holds them.
_ProfileFields = tuple[
    Kind | None, Layer, str | None, float | None, str | None, bool, frozenset[str], str | None
]


class CheckpointError(StateError):
    """A checkpoint that cannot be restored (other format, other channel, damaged)."""


def capture(channel: str, book: EventBook, now: int) -> dict[str, Any]:
    """A channel's items (its event book's) as checkpoint data (see the module docstring).

    ``now`` (µs UTC) dates cancelled ids none of whose versions had a start.
    Cost: O(items); the result shares no mutable state with the book.
    Called through :meth:`efir.core.engine.ChannelEngine.capture`.
    """
    profiles, items = encode_items(book.profiles, book.items())
    gone = [[event_id, mark.order, mark.at] for event_id, mark in book.gone(now)]
    return {
        "format": FORMAT,
        "channel": channel,
        "received": book.received,
        "profiles": profiles,
        "items": items,
        "gone": gone,
    }


def encode_items(
    table: ProfileTable, items: Iterable[Item]
) -> tuple[list[list[Any]], list[list[Any]]]:
    """``items`` and the profiles they use (the whole ``table``) as plain lists.

    The ``profiles`` and ``items`` entries of :data:`FORMAT`; :func:`decode_items`
    reads them back.
    """
    profiles = [
        [
            None if p.kind is None else str(p.kind),
            str(p.layer),
            p.language,
            p.kk_fraction,
            p.origin,
            p.retransmission,
            sorted(p.tags),
            p.ad_category,
        ]
        for p in table.profiles
    ]
    rows = []
    for item in items:
        ev = item.event
        mask = 0
        for name in ev.given:
            mask |= _BIT[name]
        rows.append(
            [
                item.event_id,
                item.start,
                item.end,
                item.planned_end,
                item.order,
                item.pid,
                ev.phase.value,
                ev.start,
                ev.duration,
                ev.house_id,
                ev.title,
                ev.artist,
                ev.isrc,
                ev.seq,
                mask,
            ]
        )
    return profiles, rows


def restore(channel: str, book: EventBook, ledger: Ledger, data: dict[str, Any], since: int) -> int:
    """Fill an empty book and its ledger from checkpoint ``data``; return how many items.

    Called through :meth:`efir.core.engine.ChannelEngine.restore`.

    Items starting before ``since`` (µs UTC) and cancelled ids dated before it
    are left out, like versions before a restart's horizon.

    Raises:
        CheckpointError: ``data`` is of another format or channel, or damaged.
    """
    if data.get("format") != FORMAT:
        msg = f"checkpoint format {data.get('format')!r}, expected {FORMAT!r}"
        raise CheckpointError(msg)
    if data.get("channel") != channel:
        msg = f"checkpoint of channel {data.get('channel')!r}, not {channel!r}"
        raise CheckpointError(msg)
    try:
        items, gone = _decode(channel, book, data, since)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        msg = f"damaged checkpoint of {channel!r}: {exc!r}"
        raise CheckpointError(msg) from exc
    book.restore(items, gone, int(data["received"]))
    ledger.load(items.values())
    return len(items)


def _decode(
    channel: str, book: EventBook, data: dict[str, Any], since: int
) -> tuple[dict[str, Item], dict[str, Restored]]:
    table = book.profiles
    if len(table):
        msg = "restore() needs an empty engine"
        raise CheckpointError(msg)
    items = decode_items(channel, table, data["profiles"], data["items"], since)
    if len(table) != len(data["profiles"]):
        msg = "duplicate profile"
        raise ValueError(msg)
    gone = {event_id: Restored(order, at) for event_id, order, at in data["gone"] if at >= since}
    return items, gone


def decode_items(
    channel: str,
    table: ProfileTable,
    profiles: list[list[Any]],
    rows: Iterable[list[Any]],
    since: int | None = None,
) -> dict[str, Item]:
    """Items from :func:`encode_items` output, their profiles interned into ``table``.

    ``table`` may already hold profiles (items of another book join this
    one's): each encoded profile id is mapped to its id in ``table``. Items
    starting before ``since`` (µs UTC) are left out.

    Raises:
        KeyError, IndexError, TypeError, ValueError: damaged data.
    """
    # Per encoded profile: its id in ``table`` and its fields as an event holds them.
    pids: list[int] = []
    fields: list[_ProfileFields] = []
    for kind, layer, language, kk, origin, retrans, tags, ad in profiles:
        row: _ProfileFields = (
            Kind(kind) if kind is not None else None,
            Layer(layer),
            language,
            kk,
            origin,
            bool(retrans),
            frozenset(tags),
            ad,
        )
        pids.append(table.intern(Profile(*row)))
        fields.append(row)
    primary = [row[1] is Layer.PRIMARY for row in fields]
    givens: dict[int, frozenset[str]] = {}
    phases = _PHASES
    lowest = -(1 << 63) if since is None else since
    # Tuples are built directly (tuple.__new__): the named tuples' own __new__
    # is a Python-level call per object, a third of the cost at 10^5 items.
    new = tuple.__new__
    # One object per distinct value: house numbers, titles and durations repeat
    # (the same spot airs many times), and the decoded data holds a copy each.
    # At ten days of a dense channel the items are most of the live memory.
    same: dict[object, Any] = {}
    keep = same.setdefault
    items: dict[str, Item] = {}
    for entry in rows:
        (event_id, start, end, planned, order, pid, phase, a_start, duration,
         house, title, artist, isrc, seq, mask) = entry  # fmt: skip
        if start < lowest:
            continue
        given = givens.get(mask)
        if given is None:
            given = givens[mask] = frozenset(n for n, bit in _BIT.items() if mask & bit)
        if a_start == start:
            a_start = start
        if duration is not None:
            duration = keep(duration, duration)
        if house is not None:
            house = keep(house, house)
        if title is not None:
            title = keep(title, title)
        if artist is not None:
            artist = keep(artist, artist)
        if isrc is not None:
            isrc = keep(isrc, isrc)
        attrs = new(
            AsRunEvent,
            (channel, event_id, phases[phase], a_start, duration)
            + fields[pid]
            + (house, title, artist, isrc, seq, given),
        )
        items[event_id] = new(
            Item, (event_id, start, end, planned, order, pids[pid], primary[pid], attrs)
        )
    return items


__all__ = ["FORMAT", "CheckpointError", "capture", "decode_items", "encode_items", "restore"]
