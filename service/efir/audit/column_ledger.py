"""The ledger of the columnar audit path: a :class:`Ledger` whose timeline is held in arrays.

:mod:`efir.audit.columnar` reads and resolves a file in bulk and fills a
:class:`ColumnLedger` with the items; the engine evaluates it as any ledger.
Times are µs UTC; intervals are half-open ``[start, end)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from efir.core.book import Item
from efir.core.ledger import Ledger
from efir.readers.base import OFFLINE_NOW_US
from efir.schema.asrun import EventError, parse_event

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from numpy.typing import NDArray

    from efir.core.calendar import Calendar
    from efir.core.event import AsRunEvent

#: An absent time in an int64 column (no end yet, no planned end).
NONE = int(np.iinfo(np.int64).min)
#: Beyond any instant Efir handles.
NEVER = 1 << 62
#: Spans accounted at a time.
_BLOCK = 1 << 17


@dataclass
class BulkItems:
    """Items resolved in bulk, one per index (µs UTC; ``NONE`` = absent)."""

    start: NDArray[np.int64]
    end: NDArray[np.int64]
    planned: NDArray[np.int64]
    order: NDArray[np.int64]
    pid: NDArray[np.int64]
    primary: NDArray[np.bool_]
    source: NDArray[np.int64]  # the file row whose event the item carries


class FileLines:
    """The file's own lines, parsed by the live parser when an event is needed.

    Few are: the versions of ids the bulk path does not resolve, re-delivery
    suspects, and the items an item rule or a report asks for.
    """

    def __init__(self, path: Path, ends: NDArray[np.int64]) -> None:
        """Lines of ``path``; ``ends`` holds the offset of each one's newline."""
        self.path = path
        self.ends = ends

    def events(self, picked: NDArray[np.int64]) -> list[AsRunEvent]:
        """The events of file rows ``picked`` (ascending row numbers), in that order."""
        if len(picked) == 0:
            return []
        rows = np.asarray(picked, dtype=np.int64)
        ends = self.ends[rows].tolist()
        starts = np.where(rows > 0, self.ends[np.maximum(rows - 1, 0)] + 1, 0).tolist()
        out: list[AsRunEvent] = []
        with self.path.open("rb") as handle:
            for start, end in zip(starts, ends, strict=True):
                handle.seek(start)
                line = handle.read(end - start)
                try:
                    out.append(parse_event(line, now_us=OFFLINE_NOW_US))
                except EventError as exc:  # pragma: no cover - every part was parsed in bulk
                    msg = f"line {start}..{end} of {self.path} changed while it was audited"
                    raise RuntimeError(msg) from exc
        return out


class ColumnLedger(Ledger):
    """A :class:`Ledger` filled in bulk, its timeline held in arrays.

    The atom and window totals are the base class's own tables, filled by
    :meth:`fill` exactly as :meth:`Ledger.load` fills them; the timeline
    reads (:meth:`aired`, :meth:`neighbour`, :meth:`on_air`, ...) answer from
    arrays and build an :class:`Item` only when one is asked for. It takes
    no changes afterwards (an audit applies NONE).
    """

    def __init__(
        self,
        calendar: Calendar,
        clip: tuple[int, int] | None,
        *,
        open_grace_us: int,
        open_cap_us: int,
    ) -> None:
        """An empty ledger; see :class:`Ledger`."""
        super().__init__(calendar, clip, open_grace_us=open_grace_us, open_cap_us=open_cap_us)
        self._t_start: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._t_order: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._t_end: NDArray[np.int64] = np.empty(0, dtype=np.int64)  # effective; NONE: open
        self._t_ref: NDArray[np.int64] = np.empty(0, dtype=np.int64)  # >= 0 bulk, < 0 other
        self._t_pid: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._bulk: BulkItems | None = None
        self._others: list[Item] = []
        self._lines: FileLines | None = None
        self._made: dict[int, Item] = {}

    # --------------------------------------------------------------- filling
    def apply(self, change: Any) -> None:  # noqa: ARG002 - Ledger.apply's signature
        """Refused: this ledger takes no changes."""
        msg = "a ColumnLedger takes no changes"
        raise RuntimeError(msg)

    def fill(self, bulk: BulkItems, others: list[Item], lines: FileLines) -> None:
        """Account the items, as :meth:`Ledger.load` would, from empty."""
        self._bulk, self._others, self._lines = bulk, others, lines
        prim = np.flatnonzero(bulk.primary)
        o_prim = [k for k, item in enumerate(others) if item.primary]
        start = np.concatenate(
            [bulk.start[prim], np.array([others[k].start for k in o_prim], dtype=np.int64)]
        )
        order = np.concatenate(
            [bulk.order[prim], np.array([others[k].order for k in o_prim], dtype=np.int64)]
        )
        end = np.concatenate(
            [
                bulk.end[prim],
                np.array(
                    [NONE if others[k].end is None else others[k].end for k in o_prim],
                    dtype=np.int64,
                ),
            ]
        )
        pid = np.concatenate(
            [bulk.pid[prim], np.array([others[k].pid for k in o_prim], dtype=np.int64)]
        )
        ref = np.concatenate([prim, -1 - np.array(o_prim, dtype=np.int64)])
        timeline = np.lexsort((order, start))
        start, order, end, pid, ref = (
            start[timeline],
            order[timeline],
            end[timeline],
            pid[timeline],
            ref[timeline],
        )
        closed = end != NONE
        successor = np.r_[start[1:], NEVER]
        effective = np.where(closed, np.minimum(end, successor), NONE)
        self._t_start, self._t_order, self._t_end, self._t_ref = start, order, effective, ref
        self._t_pid = pid
        for i in np.flatnonzero(~closed).tolist():
            item = self._item(i)
            self._open[item.event_id] = item
        spans = closed & (effective > start)
        self._account(start[spans], effective[spans], pid[spans])
        # Secondary items: few; the base class counts and keeps them.
        for k in np.flatnonzero(~bulk.primary).tolist():
            self._insert(self._bulk_item(k))
        for item in others:
            if not item.primary:
                self._insert(item)

    def _account(
        self, start: NDArray[np.int64], end: NDArray[np.int64], pid: NDArray[np.int64]
    ) -> None:
        """Add disjoint spans ``[start, end)`` to the atoms, then roll the atoms up into windows."""
        if len(start) == 0:
            return
        if self.clip is None:
            lo_clip, hi_clip = -NEVER, NEVER
        else:
            lo_clip, hi_clip = self.clip
        frm = np.maximum(start, lo_clip)
        to = np.minimum(end, hi_clip)
        counted = (start >= lo_clip) & (start < hi_clip)
        timed = frm < to
        if not (timed | counted).any():
            return
        first = int(min(frm[timed].min(initial=NEVER), start[counted].min(initial=NEVER)))
        last = int(max(to[timed].max(initial=-NEVER), start[counted].max(initial=-NEVER) + 1))
        self.ensure_days(self.calendar.days_between(first, last))
        atoms = np.asarray(self._starts, dtype=np.int64)
        atom_end = np.asarray([self._ends[a] for a in self._starts], dtype=np.int64)
        if np.any(atom_end[:-1] != atoms[1:]):  # pragma: no cover - days are materialised whole
            msg = "the calendar's atoms are not contiguous"
            raise RuntimeError(msg)
        width = int(pid.max()) + 1
        cells = len(atoms) * width
        secs = np.zeros(cells, dtype=np.int64)
        # Airtime: each span split at the atoms it crosses, to the microsecond;
        # in blocks, so that the pieces' arrays stay small.
        for lo in range(0, len(frm), _BLOCK):
            f, t, p = frm[lo : lo + _BLOCK], to[lo : lo + _BLOCK], pid[lo : lo + _BLOCK]
            on = timed[lo : lo + _BLOCK]
            f, t, p = f[on], t[on], p[on]
            a0 = np.searchsorted(atoms, f, side="right") - 1
            pieces = np.searchsorted(atoms, t - 1, side="right") - a0
            span = np.repeat(np.arange(len(f)), pieces)
            atom = np.repeat(a0 - np.cumsum(pieces) + pieces, pieces) + np.arange(len(span))
            us = np.minimum(t[span], atom_end[atom]) - np.maximum(f[span], atoms[atom])
            # Integer sums below 2**53 microseconds a cell: exact in float64.
            secs += np.bincount(atom * width + p[span], weights=us, minlength=cells).astype(
                np.int64
            )
        # Counts: in the atom where the item starts.
        c_atom = np.searchsorted(atoms, start[counted], side="right") - 1
        cnts = np.bincount(c_atom * width + pid[counted], minlength=cells)
        for table, totals in ((self._atom_secs, secs), (self._atom_cnts, cnts)):
            self._roll_up(table, atoms, totals.reshape(len(atoms), width))

    @staticmethod
    def _roll_up(
        table: dict[int, tuple[dict[int, int], ...]],
        atoms: NDArray[np.int64],
        dense: NDArray[np.int64],
    ) -> None:
        """Add each atom's totals (``dense``, atoms by profiles) to its accumulators.

        An accumulator (an atom's own, a window's) gets the sum of its atoms:
        one scatter-add over every (atom, accumulator) pair, then one pass over
        the sums that are not zero.
        """
        used = np.flatnonzero(dense.any(axis=1))
        accs: list[dict[int, int]] = []
        index: dict[int, int] = {}
        pair_atom: list[int] = []
        pair_acc: list[int] = []
        for a in used.tolist():
            for acc in table[int(atoms[a])]:
                k = index.get(id(acc))
                if k is None:
                    k = index[id(acc)] = len(accs)
                    accs.append(acc)
                pair_atom.append(a)
                pair_acc.append(k)
        sums = np.zeros((len(accs), dense.shape[1]), dtype=np.int64)
        np.add.at(sums, np.asarray(pair_acc, dtype=np.int64), dense[pair_atom])
        ks, qs = np.nonzero(sums)
        for k, q, v in zip(ks.tolist(), qs.tolist(), sums[ks, qs].tolist(), strict=True):
            acc = accs[k]
            acc[q] = acc.get(q, 0) + v

    # ----------------------------------------------------------------- items
    def _bulk_items(self, refs: list[int]) -> list[Item]:
        """The items of bulk-resolved indices ``refs``, their events read from the file."""
        bulk, lines = self._bulk, self._lines
        assert bulk is not None  # noqa: S101 - filled first
        assert lines is not None  # noqa: S101
        rows = bulk.source[refs]
        by_row = np.argsort(rows, kind="stable")
        out: list[Item | None] = [None] * len(refs)
        for pos, event in zip(by_row.tolist(), lines.events(rows[by_row]), strict=True):
            k = refs[pos]
            end, planned = int(bulk.end[k]), int(bulk.planned[k])
            out[pos] = Item(
                event.event_id,
                int(bulk.start[k]),
                None if end == NONE else end,
                None if planned == NONE else planned,
                int(bulk.order[k]),
                int(bulk.pid[k]),
                bool(bulk.primary[k]),
                event,
            )
        return [item for item in out if item is not None]

    def _bulk_item(self, k: int) -> Item:
        (item,) = self._bulk_items([k])
        return item

    def _item(self, i: int) -> Item:
        """The item at timeline index ``i`` (built once)."""
        item = self._made.get(i)
        if item is None:
            ref = int(self._t_ref[i])
            item = self._bulk_item(ref) if ref >= 0 else self._others[-1 - ref]
            self._made[i] = item
        return item

    def _items_between(self, i: int, j: int) -> None:
        """Build the items of timeline indices ``[i, j)`` in one query."""
        wanted = [k for k in range(i, j) if k not in self._made and self._t_ref[k] >= 0]
        if len(wanted) > 1:
            made = self._bulk_items(self._t_ref[wanted].tolist())
            self._made.update(zip(wanted, made, strict=True))

    def _index(self, item: Item) -> int:
        i = int(np.searchsorted(self._t_start, item.start, side="left"))
        while self._t_order[i] != item.order:
            i += 1
        return i

    # ------------------------------------------------------------ timeline reads
    def _open_end(self, i: int, item: Item, now: int) -> int:
        end = min(now, self.open_bound(item))
        if i + 1 < len(self._t_start):
            end = min(end, int(self._t_start[i + 1]))
        return end

    def _open_spans(self, now: int) -> Iterator[tuple[Item, int, int]]:
        for item in self._open.values():
            yield item, item.start, max(self._open_end(self._index(item), item, now), item.start)

    def aired(
        self, lo: int, hi: int, now: int | None = None, *, secondary: bool = True
    ) -> Iterator[tuple[Item, int, int]]:
        """See :meth:`Ledger.aired`."""
        starts = self._t_start
        i = max(int(np.searchsorted(starts, lo, side="left")) - 1, 0)
        j = int(np.searchsorted(starts, hi, side="left"))
        self._items_between(i, j)
        ends = self._t_end[i:j].tolist()
        for k, end in zip(range(i, j), ends, strict=True):
            item = self._item(k)
            until = end
            if end == NONE:
                if now is None:
                    continue
                until = self._open_end(k, item, now)
            if until > item.start and until > lo:
                yield item, item.start, until
        if secondary:
            yield from self._secondary_aired(lo, hi)

    def neighbour(
        self,
        item: Item,
        direction: int,
        accept: Callable[[Item], bool],
        now: int | None = None,
        limit: int = 512,
    ) -> Item | None:
        """See :meth:`Ledger.neighbour`."""
        i = self._index(item) + direction
        for _ in range(limit):
            if not 0 <= i < len(self._t_start):
                return None
            other = self._item(i)
            end = int(self._t_end[i])
            on_air = (now is not None and now > other.start) if end == NONE else end > other.start
            if on_air and accept(other):
                return other
            i += direction
        return None

    def reported_until(self, we: int, now: int) -> int:
        """See :meth:`Ledger.reported_until`."""
        i = int(np.searchsorted(self._t_start, we, side="left")) - 1
        if i < 0:
            return now
        end = int(self._t_end[i])
        if end == NONE:
            return now
        return max(now, min(end, we))

    def on_air(self, now: int) -> Item | None:
        """See :meth:`Ledger.on_air`."""
        i = int(np.searchsorted(self._t_start, now, side="right")) - 1
        if i < 0:
            return None
        end = int(self._t_end[i])
        return self._item(i) if end == NONE or end > now else None

    def profile_on_air(self, now: int) -> int | None:
        """See :meth:`Ledger.profile_on_air` (no item is built)."""
        i = int(np.searchsorted(self._t_start, now, side="right")) - 1
        if i < 0:
            return None
        end = int(self._t_end[i])
        return int(self._t_pid[i]) if end == NONE or end > now else None

    def span(self) -> tuple[int, int] | None:
        """See :meth:`Ledger.span`."""
        if len(self._t_start) == 0:
            return None
        first = int(self._t_start[0])
        closed = self._t_end[self._t_end != NONE]
        last = int(closed.max()) if len(closed) else first
        return first, max(last, int(self._t_start[-1]))

    def overdue(self, now: int) -> list[Item]:
        """See :meth:`Ledger.overdue`."""
        out: list[Item] = []
        for item in self._open.values():
            bound = self.open_bound(item)
            if bound >= now:
                continue
            i = self._index(item)
            if i + 1 < len(self._t_start) and self._t_start[i + 1] <= bound:
                continue
            out.append(item)
        return sorted(out, key=lambda item: (item.start, item.order))
