"""A brute-force reference model of Efir's accounting, written independently of the engine.

Spec (DESIGN sections 2-3), restated naively:

* versions of one event_id: identical re-delivery ignored; the winner has the
  highest (phase rank, seq or -1, first arrival); cancel as winner = absent;
  fields absent from the winner come from the best other version giving them.
* at instant t the item with the greatest (start, arrival of its winner) not
  after t is on air iff t < its end (open items: t < now and t < their bound,
  the planned end plus the grace, or start plus the cap without a planned
  duration); otherwise a gap.
* windows: local wall-clock boundaries, fold=0, real elapsed length.

Everything is computed over elementary intervals between all breakpoints,
with an O(n) search per interval: slow, obvious, and sharing no code with the
ledger's atoms, deltas and accumulators.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from efir.core.event import INHERITABLE, AsRunEvent, Layer, Phase
from efir.core.profile import Profile
from efir.core.timebase import to_us

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.rules import Rule

RANK = {"start": 0, "end": 1, "complete": 1, "correction": 2, "cancel": 2}
#: Open-item bounds of a default channel profile (µs).
GRACE_US = 300 * 1_000_000
CAP_US = 3600 * 1_000_000


@dataclass(frozen=True)
class RefItem:
    event_id: str
    start: int
    end: int | None  # None = open
    order: int
    profile: Profile
    primary: bool
    bound: int | None = None  # open items: the last instant they may count to


def final_items(events: list[AsRunEvent]) -> list[RefItem]:
    """Resolve versions to items, naively."""
    firsts: dict[str, list[tuple[int, AsRunEvent]]] = {}
    for position, event in enumerate(events):
        versions = firsts.setdefault(event.event_id, [])
        if all(v != event for _, v in versions):
            versions.append((position, event))
    items: list[RefItem] = []
    for versions in firsts.values():
        ranked = sorted(
            versions,
            key=lambda pv: (RANK[pv[1].phase], -1 if pv[1].seq is None else pv[1].seq, pv[0]),
        )
        position, winner = ranked[-1]
        if winner.phase == Phase.CANCEL:
            continue
        fields = {}
        for name in INHERITABLE:
            if name in winner.given:
                fields[name] = getattr(winner, name)
                continue
            for _, other in reversed(ranked[:-1]):
                if other.phase != Phase.CANCEL and name in other.given:
                    fields[name] = getattr(other, name)
                    break
            else:
                fields[name] = getattr(winner, name)
        assert winner.start is not None
        end = None if winner.phase == Phase.START else winner.start + (winner.duration or 0)
        bound = None
        if end is None:
            planned = winner.duration
            bound = winner.start + planned + GRACE_US if planned else winner.start + CAP_US
        profile = Profile(
            fields["kind"],
            fields["layer"],
            fields["language"],
            fields["kk_fraction"],
            fields["origin"],
            fields["retransmission"],
            fields["tags"],
            fields["ad_category"],
        )
        items.append(
            RefItem(
                winner.event_id,
                winner.start,
                end,
                position,
                profile,
                fields["layer"] == Layer.PRIMARY,
                bound,
            )
        )
    return items


def on_air(items: list[RefItem], t: int, now: int | None) -> RefItem | None:
    """The primary item on air at instant t (reference definition)."""
    top = None
    for item in items:
        if (
            item.primary
            and item.start <= t
            and (top is None or (item.start, item.order) > (top.start, top.order))
        ):
            top = item
    if top is None:
        return None
    end = top.end
    if end is None:
        end = None if now is None else min(now, top.bound or now)
    if end is None or t >= end:
        return None
    return top


def coverage(
    items: list[RefItem], lo: int, hi: int, now: int | None
) -> list[tuple[int, int, RefItem]]:
    """Elementary intervals [a, b) inside [lo, hi) with the item on air during them."""
    points = {lo, hi}
    for item in items:
        points.add(item.start)
        if item.bound is not None:
            points.add(item.bound)
        if item.end is not None:
            points.add(item.end)
    if now is not None:
        points.add(now)
    cuts = sorted(p for p in points if lo <= p <= hi)
    out = []
    for a, b in itertools.pairwise(cuts):
        item = on_air(items, a, now)
        if item is not None:
            out.append((a, b, item))
    return out


def aired_length(items: list[RefItem], item: RefItem, now: int | None) -> int:
    """Effective on-air microseconds of ``item`` (over all time)."""
    lo = item.start
    if item.end is not None:
        hi = item.end
    else:
        hi = item.start if now is None else min(now, item.bound or now)
    return sum(b - a for a, b, it in coverage(items, lo, max(lo, hi), now) if it is item)


def wall_windows(grid: str, day_from: datetime, days: int, tz: ZoneInfo) -> list[tuple[int, int]]:
    """Windows of a grid over ``days`` local days from ``day_from`` (naive midnight), fold=0."""

    def inst(wall: datetime) -> int:
        return to_us(wall.replace(tzinfo=tz, fold=0))

    walls: list[tuple[datetime, datetime]] = []
    if grid == "week":
        start = day_from - timedelta(days=day_from.weekday())
        while start < day_from + timedelta(days=days):
            walls.append((start, start + timedelta(days=7)))
            start += timedelta(days=7)
    else:
        step = {"hour": 1, "six_hour": 6, "day": 24}[grid]
        for d in range(days):
            midnight = datetime.combine((day_from + timedelta(days=d)).date(), time())
            walls.extend(
                (midnight + timedelta(hours=h), midnight + timedelta(hours=h + step))
                for h in range(0, 24, step)
            )
    spans = [(inst(a), inst(b)) for a, b in walls]
    return [(ia, ib) for ia, ib in spans if ib > ia]


@dataclass
class RefFigures:
    numerator_us: float = 0.0
    base_us: float = 0.0
    unknown_us: float = 0.0
    airtime_us: int = 0


def share_figures(
    items: list[RefItem], rule: Rule, ws: int, we: int, now: int | None
) -> RefFigures:
    """Numerator, base, unknown and airtime of a share rule over [ws, we)."""
    fig = RefFigures()
    for a, b, item in coverage(items, ws, we, now):
        w = rule.share_weights(item.profile)
        fig.numerator_us += w.numerator * (b - a)
        fig.base_us += w.base * (b - a)
        fig.unknown_us += w.unknown * (b - a)
        fig.airtime_us += b - a
    return fig


def count_in(items: list[RefItem], rule: Rule, ws: int, we: int, now: int | None) -> int:
    """Aired items matching the rule's selector that start in [ws, we)."""
    n = 0
    for item in items:
        if not ws <= item.start < we or not rule.select.matches(item.profile):
            continue
        if item.primary:
            if aired_length(items, item, now) > 0:
                n += 1
        else:
            n += 1
    return n
