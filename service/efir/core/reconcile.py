"""Plan against as-run: what became of each planned item, and where each aired one came from.

Each planned item aired as planned, aired differently, was replaced or was
missed; each aired item that no plan line accounts for is an insertion.

An aired item *is* a planned one when they are the same content (the same
``house_id`` when both have one, else the same title, case and spacing
aside) and it started within :data:`MATCH_WINDOW_US` of the planned start;
planned items are taken in time order and each takes the nearest unclaimed
aired item. A matched item aired **as planned** when it started within
``on_time_us`` of the plan and its length is within ``length_share`` of the
planned length (planned lengths often include the breaks inside a
programme), otherwise **differently** (the shift and the change are kept).
A planned item nothing matched was **replaced** when unplanned items filled
at least half of its slot, otherwise **missed**. Times are µs UTC.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from efir.core.timebase import US_PER_S

if TYPE_CHECKING:
    from collections.abc import Iterable

#: How far from its planned start an item may air and still be that item.
MATCH_WINDOW_US = 30 * 60 * US_PER_S
#: Within this of the planned start, an item aired on time.
ON_TIME_US = 5 * 60 * US_PER_S
#: Within this share of the planned length, an item aired at its length.
LENGTH_SHARE = 0.25


class Outcome(StrEnum):
    """What became of a planned item, or where an aired one came from."""

    AS_PLANNED = "as_planned"
    DIFFERENTLY = "aired_differently"
    REPLACED = "replaced"
    MISSED = "missed"
    INSERTION = "insertion"


@dataclass(frozen=True, slots=True)
class Slot:
    """A planned or aired item: ``[start, end)`` in µs UTC and what it is."""

    event_id: str
    start: int
    end: int
    house_id: str | None
    title: str | None

    @property
    def identity(self) -> str | None:
        """The title, case and spacing aside (the fallback of :func:`_same`)."""
        return " ".join(self.title.split()).casefold() if self.title else None


@dataclass(frozen=True, slots=True)
class Match:
    """One line of the reconciliation."""

    outcome: Outcome
    planned: Slot | None
    aired: Slot | None

    @property
    def shift_us(self) -> int | None:
        """Aired start minus planned start (µs), when both are known."""
        if self.planned is None or self.aired is None:
            return None
        return self.aired.start - self.planned.start

    @property
    def length_change_us(self) -> int | None:
        """Aired length minus planned length (µs), when both are known."""
        if self.planned is None or self.aired is None:
            return None
        p, a = self.planned, self.aired
        return (a.end - a.start) - (p.end - p.start)


def _same(planned: Slot, aired: Slot) -> bool:
    if planned.house_id and aired.house_id:
        return planned.house_id == aired.house_id
    return planned.identity is not None and planned.identity == aired.identity


def reconcile(
    planned: Iterable[Slot],
    aired: Iterable[Slot],
    *,
    on_time_us: int = ON_TIME_US,
    length_share: float = LENGTH_SHARE,
) -> list[Match]:
    """Every planned and every aired item once, in planned (then aired) time order."""
    plan = sorted(planned, key=lambda s: (s.start, s.event_id))
    air = sorted(aired, key=lambda s: (s.start, s.event_id))
    starts = [a.start for a in air]
    taken = [False] * len(air)
    claims: list[tuple[Slot, int | None]] = []
    for p in plan:
        lo = bisect_left(starts, p.start - MATCH_WINDOW_US)
        best: int | None = None
        for i in range(lo, len(air)):
            a = air[i]
            if a.start > p.start + MATCH_WINDOW_US:
                break
            if taken[i] or not _same(p, a):
                continue
            if best is None or abs(a.start - p.start) < abs(air[best].start - p.start):
                best = i
        if best is not None:
            taken[best] = True
        claims.append((p, best))
    inserted = [a for a, t in zip(air, taken, strict=True) if not t]
    inserted_starts = [a.start for a in inserted]
    out: list[Match] = []
    for p, claim in claims:
        if claim is None:
            filled = _covered(p, inserted, inserted_starts)
            outcome = Outcome.REPLACED if 2 * filled >= p.end - p.start else Outcome.MISSED
            out.append(Match(outcome, p, None))
            continue
        a = air[claim]
        planned_len, aired_len = p.end - p.start, a.end - a.start
        on_time = abs(a.start - p.start) <= on_time_us
        same_length = abs(aired_len - planned_len) <= length_share * planned_len
        outcome = Outcome.AS_PLANNED if on_time and same_length else Outcome.DIFFERENTLY
        out.append(Match(outcome, p, a))
    out.extend(Match(Outcome.INSERTION, None, a) for a in inserted)
    return out


def _covered(slot: Slot, items: list[Slot], starts: list[int]) -> int:
    """µs of ``slot`` that ``items`` (primary, sorted by start: ``starts``) cover.

    Primary items follow each other, so only the one before the slot's start
    can reach into it from earlier.
    """
    total = 0
    for i in range(max(bisect_left(starts, slot.start) - 1, 0), len(items)):
        a = items[i]
        if a.start >= slot.end:
            break
        total += max(0, min(a.end, slot.end) - max(a.start, slot.start))
    return total
