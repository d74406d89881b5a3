"""The catalogue in the daemon: loaded before restore, changed through the API, recounted.

A change of an entry (put, delete, an imported file) is journaled with who
made it, applied to the enrichment, and the channels whose live items carry
the entry's key are rebuilt from their stored events: every window of the
live horizon is judged again, and a closed window whose figures change is
stored as a revision (its verdict's change logged and counted, as a late
event's is). A fresh checkpoint follows, so a restart counts the same.
Windows older than the live horizon keep their stored figures; the audit
and the reports of the store read every event through the current
catalogue.

The worklist ranks what aired without a language (or, for programmes and
music, without an origin) by airtime, grouped by house number, ISRC or
title, so staff fix the biggest gaps first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from efir.core.catalogue import KEY_FIELDS, Catalogue, Entry
from efir.core.event import Kind
from efir.core.timebase import US_PER_S
from efir.daemon.checkpoints import parse_stored
from efir.daemon.monitor import HORIZON_US, live_since

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from efir.daemon.checkpoints import Checkpointer
    from efir.daemon.enrich import Enrichment
    from efir.daemon.monitor import Channel, Monitor
    from efir.store.catalogue import CatalogueStore
    from efir.store.database import Store

log = logging.getLogger(__name__)
_ORIGIN_KINDS = {Kind.PROGRAM, Kind.MUSIC}


@dataclass(frozen=True, slots=True)
class Unclassified:
    """One line of the worklist: what aired without what the rules need."""

    key_field: str  # house_id | isrc | title | event_id
    key: str
    title: str | None
    kind: str | None
    missing: tuple[str, ...]  # language | origin
    seconds: float
    airings: int
    last_aired_us: int


@dataclass(slots=True)
class _Group:
    title: str | None
    kind: str | None
    missing: set[str]
    seconds: float
    airings: int
    last: int


def unclassified(ch: Channel, lo: int, hi: int, now: int) -> list[Unclassified]:
    """The worklist of ``ch`` over ``[lo, hi)``: items lacking language or origin, by airtime."""
    groups: dict[tuple[str, str], _Group] = {}
    for item, start, end in ch.engine.aired(lo, hi, now):
        e = item.event
        missing = set()
        if e.language is None and e.kk_fraction is None:
            missing.add("language")
        if e.origin is None and e.kind in _ORIGIN_KINDS:
            missing.add("origin")
        if not missing:
            continue
        key = next(
            ((f, v) for f in (*KEY_FIELDS, "title") if isinstance(v := getattr(e, f), str) and v),
            ("event_id", e.event_id),
        )
        seconds = (end - start) / US_PER_S
        got = groups.get(key)
        if got is None:
            kind = None if e.kind is None else str(e.kind)
            groups[key] = _Group(e.title, kind, missing, seconds, 1, start)
        else:
            got.missing |= missing
            got.seconds += seconds
            got.airings += 1
            got.last = max(got.last, start)
    out = [
        Unclassified(f, k, g.title, g.kind, tuple(sorted(g.missing)), g.seconds, g.airings, g.last)
        for (f, k), g in groups.items()
    ]
    out.sort(key=lambda u: (-u.seconds, u.key))
    return out


#: The worklist's default span, and how long a computed worklist is reused.
WORKLIST_US = 7 * 86_400 * US_PER_S
WORKLIST_TTL_US = 60 * US_PER_S


class Worklists:
    """Each channel's worklist of the last seven days, computed at most once a minute.

    The board (every second) and the metrics (every scrape) read it; a
    catalogue change forgets the channels it recounts.
    """

    def __init__(self) -> None:
        """Nothing computed yet."""
        self._made: dict[str, tuple[int, list[Unclassified]]] = {}

    def of(self, ch: Channel, now: int) -> list[Unclassified]:
        """``ch``'s worklist over the seven days before ``now``."""
        cid = ch.profile.id
        made = self._made.get(cid)
        if made is None or now - made[0] >= WORKLIST_TTL_US or now < made[0]:
            made = self._made[cid] = (now, unclassified(ch, now - WORKLIST_US, now, now))
        return made[1]

    def forget(self, channel: str) -> None:
        """Compute ``channel``'s worklist afresh at the next read."""
        self._made.pop(channel, None)


class CatalogueKeeper:
    """The catalogue of the running daemon."""

    def __init__(
        self,
        rows: CatalogueStore,
        store: Store,
        monitor: Monitor,
        enrichment: Enrichment,
        checkpointer: Checkpointer | None = None,
    ) -> None:
        """Keep ``enrichment.catalogue`` in step with the store's ``catalogue``."""
        self.rows = rows
        self.store = store
        self.monitor = monitor
        self.enrichment = enrichment
        self.checkpointer = checkpointer
        self.worklists = Worklists()
        #: The journal's latest change this instance has applied.
        self.seen = 0

    @property
    def catalogue(self) -> Catalogue:
        """The entries in force."""
        return self.enrichment.catalogue

    async def load(self) -> int:
        """Read the entries (before the live state is rebuilt); return how many."""
        self.seen = await self.rows.latest()
        self.enrichment.catalogue = Catalogue(await self.rows.load())
        return len(self.catalogue)

    async def refresh(self, now: int) -> list[str]:
        """Apply changes another instance made (a standby's catalogue follows the active's).

        Returns the channels recounted.
        """
        latest = await self.rows.latest()
        if latest == self.seen:
            return []
        self.seen = latest
        fresh = Catalogue(await self.rows.load())
        old = {e.ident: e for e in self.catalogue.entries()}
        new = {e.ident: e for e in fresh.entries()}
        changed = [e for i, e in {**old, **new}.items() if old.get(i) != new.get(i)]
        self.enrichment.catalogue = fresh
        return await self.recount(self.touched(changed, now), now)

    async def change(
        self,
        puts: Sequence[Entry],
        deletes: Sequence[tuple[str, str, str | None]],
        actor: str | None,
        now: int,
    ) -> dict[str, object]:
        """Store, journal and apply a change; recount the channels it touches.

        Returns what changed: ``put`` and ``deleted`` counts, ``unchanged``, and
        the ``recounted`` channels.
        """
        cat = self.catalogue
        changed: list[tuple[Entry, Entry | None]] = []
        unchanged = 0
        for e in puts:
            before = cat.get(e.ident)
            if before is not None and _same(before, e):
                unchanged += 1
                continue
            changed.append((e, before))
        gone = [found for ident in deletes if (found := cat.get(ident)) is not None]
        if not changed and not gone:
            return {"put": 0, "deleted": 0, "unchanged": unchanged, "recounted": []}
        await self.rows.apply(changed, gone, actor, now)
        self.seen = await self.rows.latest()
        for e, _ in changed:
            cat.put(e)
        for e in gone:
            cat.remove(e.ident)
        keys = [e for e, _ in changed] + gone
        recounted = await self.recount(self.touched(keys, now), now)
        return {"put": len(changed), "deleted": len(gone), "unchanged": unchanged,
                "recounted": recounted}  # fmt: skip

    def touched(self, entries: Iterable[Entry], now: int) -> list[str]:
        """Channels whose live items carry one of the entries' keys."""
        wanted: dict[str | None, set[tuple[str, str]]] = {}
        for e in entries:
            wanted.setdefault(e.channel, set()).add((e.key_field, e.key))
        out = []
        for cid, ch in self.monitor.channels.items():
            keys = wanted.get(None, set()) | wanted.get(cid, set())
            if not keys:
                continue
            for item, _, _ in ch.engine.aired(now - HORIZON_US, now, now):
                if any(getattr(item.event, f) == k for f, k in keys):
                    out.append(cid)
                    break
        return out

    async def recount(self, channels: Iterable[str], now: int) -> list[str]:
        """Rebuild ``channels`` from their stored events with the catalogue in force."""
        done = []
        for cid in channels:
            since = now - HORIZON_US
            async with self.monitor.lock:
                stored = await self.store.load_events(cid, since)
                events = parse_stored(cid, stored, self.enrichment)
                self.monitor.reset(cid)
                self.monitor.load(cid, events, now)
                # Every closed window of the live horizon is judged again at the next tick.
                self.monitor.start_closing_from(cid, live_since(now))
            if self.checkpointer is not None:
                await self.checkpointer.take(cid, compact=False)
            self.worklists.forget(cid)
            log.info("%s recounted with the catalogue: %d versions", cid, len(events))
            done.append(cid)
        return done


def _same(a: Entry, b: Entry) -> bool:
    return a.gives() == b.gives() and a.title == b.title
