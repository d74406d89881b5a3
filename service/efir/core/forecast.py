"""The forecast of an open window from the plan, and the fewest swaps that save it.

What aired so far is the window's figures at ``now`` (the engine's); what is
still to air is the planned items' parts in ``[now, window end)``: each
counts with the rule's weights for its profile, as it would if it aired as
planned. Time the plan does not cover adds nothing. All times are µs UTC.

The **fix** of a ``min_share`` window that the plan fails: the fewest
planned items in the rest of the window that count in the base but not (or
not fully) in the numerator, whose replacement by qualifying items of the
same length meets the threshold. Taking the largest gains first gives the
fewest items; between equal gains the latest is taken, so the fix leaves
the decision as long as possible. The fix is listed by time.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from efir.core.rules import RuleType
from efir.core.status import Status

if TYPE_CHECKING:
    from collections.abc import Sequence

    from efir.core.profile import Profile
    from efir.core.rules import Rule


@dataclass(frozen=True, slots=True)
class Planned:
    """A planned item: ``[start, end)`` and what it is."""

    event_id: str
    start: int
    end: int
    title: str | None
    profile: Profile


@dataclass(frozen=True, slots=True)
class Swap:
    """A planned item to replace by a qualifying one of the same length."""

    event_id: str
    title: str | None
    start: int
    end: int
    gain_us: float


@dataclass(frozen=True, slots=True)
class Forecast:
    """The window's share if the rest airs as planned, its status, and the fix.

    ``fix`` is empty when the plan meets the threshold; ``fixable`` is false
    when even replacing every candidate would not (``fix`` then lists them all).
    """

    share: float | None
    status: Status
    fix: tuple[Swap, ...] = ()
    fixable: bool = True


@dataclass
class PlanBook:
    """A channel's current plan: the latest version over each span (items by start).

    A version replaces the plan over the span it covers: items starting in
    it are dropped and its own take their place.
    """

    items: list[Planned] = field(default_factory=list)
    versions: int = 0
    #: The items' starts, for bisection (the status asks per window, every tick).
    _starts: list[int] = field(default_factory=list, repr=False)

    def replace(self, lo: int, hi: int, items: Sequence[Planned]) -> None:
        """Apply a version covering ``[lo, hi)``."""
        kept = [p for p in self.items if not lo <= p.start < hi]
        self._set(sorted([*kept, *items], key=lambda p: (p.start, p.event_id)))
        self.versions += 1

    def _set(self, items: list[Planned]) -> None:
        self.items = items
        self._starts = [p.start for p in items]

    def overlapping(self, lo: int, hi: int) -> list[Planned]:
        """Items overlapping ``[lo, hi)``, by start."""
        i = max(bisect_left(self._starts, lo) - 1, 0)
        out = []
        for p in self.items[i:]:
            if p.start >= hi:
                break
            if p.end > lo:
                out.append(p)
        return out

    def prune(self, before: int) -> None:
        """Forget items that ended before ``before``."""
        self._set([p for p in self.items if p.end >= before])


def forecast(  # noqa: PLR0917 - the window's figures and the plan
    rule: Rule,
    threshold: float | None,
    numerator_us: float,
    base_us: float,
    now: int,
    window_end: int,
    planned: Sequence[Planned],
) -> Forecast:
    """The forecast of a share window from its figures so far and the plan's rest."""
    num, base = numerator_us, base_us
    candidates: list[Swap] = []
    for p in planned:
        lo, hi = max(p.start, now), min(p.end, window_end)
        if hi <= lo:
            continue
        w = rule.share_weights(p.profile)
        length = hi - lo
        num += w.numerator * length
        base += w.base * length
        gain = (w.base - w.numerator) * length
        if gain > 0:
            candidates.append(Swap(p.event_id, p.title, lo, hi, gain))
    share = num / base if base > 0 else None
    if threshold is None or share is None:
        return Forecast(share, Status.NOT_APPLICABLE)
    if rule.type is RuleType.MAX_SHARE:
        return Forecast(share, Status.COMPLIES if share <= threshold else Status.VIOLATION)
    if share >= threshold:
        return Forecast(share, Status.COMPLIES)
    missing = threshold * base - num
    chosen: list[Swap] = []
    gained = 0.0
    for swap in sorted(candidates, key=lambda s: (-s.gain_us, -s.start)):
        if gained >= missing:
            break
        chosen.append(swap)
        gained += swap.gain_us
    chosen.sort(key=lambda s: s.start)
    return Forecast(share, Status.VIOLATION, tuple(chosen), fixable=gained >= missing)
