"""The ledger: exact airtime and item counts per window, updated incrementally.

Accounting rules (DESIGN section 3):

* Only primary items are airtime; each covers ``[start, end)``.
* Overlaps: the later-starting item wins from its start and the earlier one
  is cut there; of items starting together the newest version (highest
  ``order``) wins. So an item's *effective* span is
  ``[start, min(end, start of the next item in (start, order) order))``.
  Reference model: at instant ``t`` the item with the greatest ``(start,
  order)`` not after ``t`` is on air if ``t < end``, else nothing is (a gap).
* An open item (``start`` without ``end``) airs up to ``now``, but never past
  its planned end plus a grace, nor (with no planned duration) past a cap
  after its start (:meth:`Ledger.open_bound`); it is added at query time,
  never stored, so a status is right at any ``now``.
* A segment crossing atom boundaries is split to the microsecond.

Each stored item remembers the effective end it was accounted with; a change
re-accounts only the difference for the item and its predecessor, so one
update costs O(atoms it touches x schemes), independent of history length.
The timeline is two parallel lists (the items in ``(start, order)`` order and
their effective ends), not dictionaries keyed by item: about 16 bytes an
item instead of about 150, with ten days of a dense channel's items held live.
Accumulators hold, per window, microseconds per profile id; rules weigh
profiles when a window is evaluated.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from operator import attrgetter
from typing import TYPE_CHECKING

from efir.core.calendar import Calendar, find_atom

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from datetime import date, datetime

    from efir.core.book import Change, Item

Totals = dict[int, int]
"""Microseconds (or item counts) per profile id."""

_MIN_ORDER = -1


#: Timeline order of items: ``(start, order)``.
_TIMELINE_KEY = attrgetter("start", "order")
#: Later than any instant.
_NEVER = 1 << 62


class Ledger:
    """Per-window accumulators for one channel.

    Window accumulators exist for every scheme of the calendar; index
    ``len(calendar.schemes)`` holds the atoms themselves (used for rolling views).

    Args:
        calendar: the channel's calendar (zone and schemes).
        clip: optional ``[lo, hi)`` in microseconds; airtime outside it and items
            starting outside it are not counted (audits of a period).
        open_grace_us: an open item counts up to its planned end plus this (µs).
        open_cap_us: an open item without a planned end counts this long (µs).
    """

    def __init__(
        self,
        calendar: Calendar,
        clip: tuple[int, int] | None = None,
        *,
        open_grace_us: int = 300 * 1_000_000,
        open_cap_us: int = 3600 * 1_000_000,
    ) -> None:
        """Create an empty ledger."""
        self.calendar = calendar
        self.clip = clip
        self.open_grace_us = open_grace_us
        self.open_cap_us = open_cap_us
        n = len(calendar.schemes) + 1
        self.atom_scheme = n - 1
        self._starts: list[int] = []
        self._ends: dict[int, int] = {}
        self._walls: dict[int, datetime] = {}
        self._days: set[date] = set()
        self._atom_secs: dict[int, tuple[Totals, ...]] = {}
        self._atom_cnts: dict[int, tuple[Totals, ...]] = {}
        self._win_secs: list[dict[int, Totals]] = [{} for _ in range(n)]
        self._win_cnts: list[dict[int, Totals]] = [{} for _ in range(n)]
        self._win_end: list[dict[int, int]] = [{} for _ in range(n)]
        self._last_atom = (0, 0)
        # Timeline of primary items, sorted by (start, order), and each one's
        # effective end as accounted (``None`` for an open item).
        self._line: list[Item] = []
        self._eff: list[int | None] = []
        self._open: dict[str, Item] = {}
        # Secondary items (never airtime; counted and checked by item rules).
        self._sec_keys: list[tuple[int, int]] = []
        self._sec_items: dict[tuple[int, int], Item] = {}

    # ------------------------------------------------------------------ atoms
    def ensure_days(self, days: list[date]) -> None:
        """Materialise the atoms and windows of the given local days."""
        for day in days:
            if day not in self._days:
                self._materialise(day)

    def _materialise(self, day: date) -> None:
        self._days.add(day)
        for atom, windows in self.calendar.day_plan(day):
            if atom.start in self._ends:
                continue
            secs: list[Totals] = []
            cnts: list[Totals] = []
            for j, window in enumerate(windows):
                if window is None:
                    continue
                self._window(j, window[0], window[1], secs, cnts)
            self._window(self.atom_scheme, atom.start, atom.end, secs, cnts)
            self._atom_secs[atom.start] = tuple(secs)
            self._atom_cnts[atom.start] = tuple(cnts)
            self._ends[atom.start] = atom.end
            self._walls[atom.start] = atom.wall
            if not self._starts or atom.start > self._starts[-1]:
                self._starts.append(atom.start)
            else:
                insort(self._starts, atom.start)

    def _window(self, j: int, ws: int, we: int, secs: list[Totals], cnts: list[Totals]) -> None:
        acc = self._win_secs[j].get(ws)
        if acc is None:
            acc = self._win_secs[j][ws] = {}
            self._win_cnts[j][ws] = {}
            self._win_end[j][ws] = we
        secs.append(acc)
        cnts.append(self._win_cnts[j][ws])

    def _atom_at(self, us: int) -> int:
        lo, hi = self._last_atom
        if lo <= us < hi:
            return lo
        start = find_atom(self._starts, self._ends, us)
        if start is None:
            day = self.calendar.local_day(us)
            self.ensure_days([day])
            start = find_atom(self._starts, self._ends, us)
            if start is None:  # pragma: no cover - zone data pathologies
                msg = f"no atom holds instant {us} (local day {day})"
                raise RuntimeError(msg)
        self._last_atom = (start, self._ends[start])
        return start

    # ------------------------------------------------------------ accounting
    def _add(self, s: int, e: int, pid: int, sign: int, touched: set[int] | None = None) -> None:
        """Add (sign=+1) or remove (sign=-1) airtime ``[s, e)`` of profile ``pid``.

        With ``touched`` (bulk load) only the atoms are updated and their starts
        collected for a roll-up into windows afterwards.
        """
        if self.clip is not None:
            s = max(s, self.clip[0])
            e = min(e, self.clip[1])
        ends = self._ends
        atom_secs = self._atom_secs
        while s < e:
            a = self._atom_at(s)
            ae = ends[a]
            b = min(e, ae)
            d = (b - s) * sign
            if touched is None:
                for acc in atom_secs[a]:
                    acc[pid] = acc.get(pid, 0) + d
            else:
                own = atom_secs[a][-1]
                own[pid] = own.get(pid, 0) + d
                touched.add(a)
            s = b

    def _count(self, item: Item, sign: int, touched: set[int] | None = None) -> None:
        if self.clip is not None and not self.clip[0] <= item.start < self.clip[1]:
            return
        pid = item.pid
        a = self._atom_at(item.start)
        if touched is None:
            for acc in self._atom_cnts[a]:
                acc[pid] = acc.get(pid, 0) + sign
        else:
            own = self._atom_cnts[a][-1]
            own[pid] = own.get(pid, 0) + sign
            touched.add(a)

    # -------------------------------------------------------------- timeline
    def apply(self, change: Change) -> None:
        """Apply one item change from :class:`~efir.core.book.EventBook`."""
        if change.before is not None:
            self._remove(change.before)
        if change.after is not None:
            self._insert(change.after)

    def load(self, items: Iterable[Item]) -> None:
        """Account ``items`` from scratch in one sorted sweep (the ledger must be empty).

        Equivalent to inserting them one by one, at a fraction of the cost:
        each item is accounted once, with its final successor.
        """
        if self._line or self._sec_keys:
            msg = "load() needs an empty ledger"
            raise RuntimeError(msg)
        items = list(items)
        primary = sorted((i for i in items if i.primary), key=_TIMELINE_KEY)
        self._line = primary
        # Effective spans, in timeline order: each item up to its successor's start.
        spans: list[tuple[Item, int]] = []
        eff: list[int | None] = []
        opened = self._open
        successors = [i[1] for i in primary[1:]]
        if primary:
            successors.append(_NEVER)  # the last item has none
        # Items indexed as tuples (0 event_id, 1 start, 2 end): this loop runs
        # once per item at every restart and compaction.
        for item, successor in zip(primary, successors, strict=True):
            end = item[2]
            if end is None:
                opened[item[0]] = item
                eff.append(None)
                continue
            if successor < end:  # noqa: PLR1730 - no call in the hot loop
                end = successor
            eff.append(end)
            if end > item[1]:
                spans.append((item, end))
        self._eff = eff
        touched = self._account_sorted(spans)
        # Roll each touched atom up into its windows once: one dict update per
        # atom and scheme instead of one per segment and scheme.
        for atom in touched:
            for accs in (self._atom_secs[atom], self._atom_cnts[atom]):
                source = accs[-1]  # the atom's own accumulator is always last
                for acc in accs[:-1]:
                    for pid, value in source.items():
                        acc[pid] = acc.get(pid, 0) + value
        for item in items:
            if not item.primary:
                self._insert(item)

    def _account_sorted(self, spans: list[tuple[Item, int]]) -> list[int]:
        """Add disjoint, time-ordered spans ``(item, effective end)`` to the atoms' own totals.

        The bulk path of :meth:`load`, with the result of :meth:`_add` and
        :meth:`_count` per span: the instants visited only move forward, so a
        cursor walks the atoms instead of a search per segment. Returns the
        touched atoms.
        """
        # Per span: (profile, start, airtime from, airtime to, counted?) after clipping.
        if self.clip is None:
            work = [(i.pid, i.start, i.start, end, True) for i, end in spans]
        else:
            lo, hi = self.clip
            work = [
                (i.pid, i.start, max(i.start, lo), min(end, hi), lo <= i.start < hi)
                for i, end in spans
            ]
            work = [w for w in work if w[2] < w[3] or w[4]]
        touched: list[int] = []
        if not work:
            return touched
        first = work[0][2] if not work[0][4] else work[0][1]
        self.ensure_days(self.calendar.days_between(first, max(work[-1][1:4]) + 1))
        starts, ends = self._starts, self._ends
        atom_secs, atom_cnts = self._atom_secs, self._atom_cnts
        i = bisect_right(starts, first) - 1
        atom = starts[i]
        atom_end = ends[atom]
        secs, cnts = atom_secs[atom][-1], atom_cnts[atom][-1]
        touched.append(atom)
        for pid, start, from_us, e, counted in work:
            s = from_us
            if counted:
                while start >= atom_end:
                    i += 1
                    atom = starts[i]
                    atom_end = ends[atom]
                    secs, cnts = atom_secs[atom][-1], atom_cnts[atom][-1]
                    touched.append(atom)
                cnts[pid] = cnts.get(pid, 0) + 1
            while s < e:
                while s >= atom_end:
                    i += 1
                    atom = starts[i]
                    atom_end = ends[atom]
                    secs, cnts = atom_secs[atom][-1], atom_cnts[atom][-1]
                    touched.append(atom)
                b = e if e < atom_end else atom_end  # noqa: FURB136 - no call in the hot loop
                secs[pid] = secs.get(pid, 0) + b - s
                s = b
        return touched

    def _insert(self, item: Item) -> None:
        key = (item.start, item.order)
        if not item.primary:
            insort(self._sec_keys, key)
            self._sec_items[key] = item
            self._count(item, 1)
            return
        line = self._line
        if not line or key > _TIMELINE_KEY(line[-1]):
            i = len(line)
            line.append(item)
        else:
            i = bisect_left(line, key, key=_TIMELINE_KEY)
            line.insert(i, item)
        if item.end is None:
            self._open[item.event_id] = item
            self._eff.insert(i, None)
        else:
            self._eff.insert(i, item.start)
            self._refresh(i)
        if i > 0:
            self._refresh(i - 1)

    def _remove(self, item: Item) -> None:
        key = (item.start, item.order)
        if not item.primary:
            i = bisect_left(self._sec_keys, key)
            del self._sec_keys[i]
            del self._sec_items[key]
            self._count(item, -1)
            return
        i = bisect_left(self._line, key, key=_TIMELINE_KEY)
        applied = self._eff[i]
        if applied is None:
            del self._open[item.event_id]
        elif applied > item.start:
            self._add(item.start, applied, item.pid, -1)
            self._count(item, -1)
        del self._line[i]
        del self._eff[i]
        if i > 0:
            self._refresh(i - 1)

    def _refresh(self, i: int) -> None:
        """Re-account item ``i`` for its current successor (delta only)."""
        line = self._line
        item = line[i]
        end = item.end
        if end is None:
            return
        if i + 1 < len(line):
            end = min(end, line[i + 1].start)
        old = self._eff[i]
        assert old is not None  # noqa: S101 - a closed item always has one
        if end == old:
            return
        if end > old:
            self._add(old, end, item.pid, 1)
        else:
            self._add(end, old, item.pid, -1)
        was, now = old > item.start, end > item.start
        if was != now:
            self._count(item, 1 if now else -1)
        self._eff[i] = end

    # ----------------------------------------------------------------- reads
    def windows(self, scheme: int, lo: int, hi: int) -> list[tuple[int, int]]:
        """Return the windows ``(start, end)`` of ``scheme`` intersecting ``[lo, hi)``, in order.

        Materialises the local days the range touches (a window may start
        before ``lo``: every intersecting window is returned whole).
        """
        self.ensure_days(self.calendar.days_between(lo, hi))
        ends = self._win_end[scheme]
        return sorted((ws, we) for ws, we in ends.items() if ws < hi and we > lo)

    def window_at(self, scheme: int, us: int) -> tuple[int, int] | None:
        """Return the window of ``scheme`` holding instant ``us`` (``None`` outside a daypart)."""
        atom = self._atom_at(us)
        return self.calendar.window_us(self.calendar.schemes[scheme], self._walls[atom])

    def seconds(self, scheme: int, ws: int, now: int | None = None) -> Totals:
        """Airtime per profile (microseconds) in window ``ws`` of ``scheme``.

        With ``now``, open items contribute their span up to ``now``.
        """
        return self._with_open(self._win_secs, scheme, ws, now, counting=False)

    def counts(self, scheme: int, ws: int, now: int | None = None) -> Totals:
        """Aired items per profile that start in window ``ws`` of ``scheme``."""
        return self._with_open(self._win_cnts, scheme, ws, now, counting=True)

    def _with_open(
        self,
        table: list[dict[int, Totals]],
        scheme: int,
        ws: int,
        now: int | None,
        *,
        counting: bool,
    ) -> Totals:
        """Stored totals of a window plus what open items add up to ``now``."""
        stored = table[scheme].get(ws, {})
        if now is None or not self._open:
            return stored
        we = self._win_end[scheme][ws]
        lo_clip, hi_clip = self.clip if self.clip is not None else (ws, we)
        totals = dict(stored)
        for item, start, end in self._open_spans(now):
            if counting:
                add = int(end > start and ws <= start < we and lo_clip <= start < hi_clip)
            else:
                add = max(min(end, we, hi_clip) - max(start, ws, lo_clip), 0)
            if add:
                totals[item.pid] = totals.get(item.pid, 0) + add
        return totals

    def _open_spans(self, now: int) -> Iterator[tuple[Item, int, int]]:
        """Yield ``(item, start, effective end)`` of open items at ``now``."""
        for item in self._open.values():
            i = bisect_left(self._line, (item.start, item.order), key=_TIMELINE_KEY)
            yield item, item.start, max(self._open_end(i, item, now), item.start)

    def _open_end(self, i: int, item: Item, now: int) -> int:
        """Where open item ``i`` of the timeline stops counting at ``now``.

        At ``now``, at its bound (:meth:`open_bound`) or where its successor
        starts, whichever comes first.
        """
        end = min(now, self.open_bound(item))
        if i + 1 < len(self._line):
            end = min(end, self._line[i + 1].start)
        return end

    def open_bound(self, item: Item) -> int:
        """The latest instant an open item counts to: planned end + grace, or start + cap."""
        if item.planned_end is not None:
            return item.planned_end + self.open_grace_us
        return item.start + self.open_cap_us

    @property
    def has_open(self) -> bool:
        """Whether any primary item is open (its ``end`` not yet received)."""
        return bool(self._open)

    def overdue(self, now: int) -> list[Item]:
        """Open primary items past their bound at ``now`` that no later item cut short.

        Such an item stopped counting at :meth:`open_bound`: its ``end`` is late
        (a stuck break, a lost message, an adapter that missed it).
        """
        out: list[Item] = []
        for item in self._open.values():
            bound = self.open_bound(item)
            if bound >= now:
                continue
            line = self._line
            i = bisect_left(line, (item.start, item.order), key=_TIMELINE_KEY)
            if i + 1 < len(line) and line[i + 1].start <= bound:
                continue
            out.append(item)
        return sorted(out, key=_TIMELINE_KEY)

    def span_seconds(self, lo: int, hi: int, now: int | None = None) -> Totals:
        """Airtime per profile inside an arbitrary ``[lo, hi)`` (scans the timeline)."""
        totals: Totals = {}
        for item, start, end in self.aired(lo, hi, now, secondary=False):
            a, b = max(start, lo), min(end, hi)
            if self.clip is not None:
                a, b = max(a, self.clip[0]), min(b, self.clip[1])
            if b > a:
                totals[item.pid] = totals.get(item.pid, 0) + b - a
        return totals

    def aired(
        self, lo: int, hi: int, now: int | None = None, *, secondary: bool = True
    ) -> Iterator[tuple[Item, int, int]]:
        """Yield ``(item, start, effective end)`` of aired items overlapping ``[lo, hi)``.

        Primary items in timeline order (open ones end at ``now``), then
        secondary items starting inside the range.
        """
        line, eff = self._line, self._eff
        i = max(bisect_left(line, (lo, _MIN_ORDER), key=_TIMELINE_KEY) - 1, 0)
        while i < len(line) and line[i].start < hi:
            item = line[i]
            applied = eff[i]
            if applied is None:
                if now is None:
                    i += 1
                    continue
                end = self._open_end(i, item, now)
            else:
                end = applied
            if end > item.start and end > lo:
                yield item, item.start, end
            i += 1
        if secondary:
            yield from self._secondary_aired(lo, hi)

    def _secondary_aired(self, lo: int, hi: int) -> Iterator[tuple[Item, int, int]]:
        """Yield ``(item, start, end)`` of secondary items starting inside ``[lo, hi)``."""
        keys = self._sec_keys
        j = bisect_left(keys, (lo, _MIN_ORDER))
        while j < len(keys) and keys[j][0] < hi:
            item = self._sec_items[keys[j]]
            yield item, item.start, item.end if item.end is not None else item.start
            j += 1

    def neighbour(
        self,
        item: Item,
        direction: int,
        accept: Callable[[Item], bool],
        now: int | None = None,
        limit: int = 512,
    ) -> Item | None:
        """Return the nearest aired primary item before (-1) or after (+1) ``item`` accepted.

        Walks the timeline from ``item`` for at most ``limit`` items (an ad
        break is a few dozen items at most).
        """
        line, eff = self._line, self._eff
        i = bisect_left(line, (item.start, item.order), key=_TIMELINE_KEY) + direction
        for _ in range(limit):
            if not 0 <= i < len(line):
                return None
            other = line[i]
            applied = eff[i]
            if applied is None:
                on_air = now is not None and now > other.start
            else:
                on_air = applied > other.start
            if on_air and accept(other):
                return other
            i += direction
        return None

    def atom_starts(self, lo: int, hi: int) -> list[int]:
        """Return starts of materialised atoms lying entirely inside ``[lo, hi)``."""
        i = bisect_left(self._starts, lo)
        out: list[int] = []
        while i < len(self._starts) and self._ends[self._starts[i]] <= hi:
            out.append(self._starts[i])
            i += 1
        return out

    def atom_end(self, start: int) -> int:
        """Return the end of the atom starting at ``start``."""
        return self._ends[start]

    def reported_until(self, we: int, now: int) -> int:
        """Return the end of reported airtime before ``we``: ``now`` or later.

        An as-run ``complete`` may reach past ``now`` (playouts that announce an
        item at its start); the live outlook must not count those seconds both
        as aired and as remaining.
        """
        i = bisect_left(self._line, (we, _MIN_ORDER), key=_TIMELINE_KEY) - 1
        if i < 0:
            return now
        applied = self._eff[i]
        if applied is None:
            return now
        return max(now, min(applied, we))

    def on_air(self, now: int) -> Item | None:
        """Return the primary item on air at ``now`` (``None`` in a gap)."""
        i = bisect_left(self._line, (now, _NEVER), key=_TIMELINE_KEY) - 1
        if i < 0:
            return None
        item = self._line[i]
        applied = self._eff[i]
        end = now + 1 if applied is None else applied
        return item if end > now else None

    def profile_on_air(self, now: int) -> int | None:
        """Return the profile number of the primary item on air at ``now`` (``None`` in a gap).

        What :meth:`on_air` says of the item's profile, for a ledger that can
        answer it without building the item.
        """
        item = self.on_air(now)
        return None if item is None else item.pid

    def span(self) -> tuple[int, int] | None:
        """Return ``[first start, last end)`` over primary items (open ones count as started)."""
        if not self._line:
            return None
        first = self._line[0].start
        # Closed items end where their effective end says; open ones count to
        # their start, and the last item holds the latest start.
        last = max((e for e in self._eff if e is not None), default=first)
        return first, max(last, self._line[-1].start)
