"""A rule bound to one channel: its scheme, resolved dates and per-profile caches.

Rules look at item *profiles*; a channel airs few distinct profiles, so each
rule decides once per profile (its share weights, whether its selector or its
protected-programme selector matches) and reuses the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import date

    from efir.core.profile import Profile
    from efir.core.rules import Rule, ShareWeights


class BoundRule:
    """``rule`` evaluated on scheme index ``scheme`` with its dates resolved for the channel."""

    __slots__ = ("_doubtful", "_protected", "_selected", "_weights", "dates", "rule", "scheme")

    def __init__(self, rule: Rule, scheme: int, dates: frozenset[date]) -> None:
        """Bind ``rule``; ``dates`` are its forbidden dates (mourning days resolved)."""
        self.rule = rule
        self.scheme = scheme
        self.dates = dates
        self._weights: list[ShareWeights] = []
        self._selected: list[bool] = []
        self._protected: list[bool] = []
        self._doubtful: list[bool] = []

    def weights(self, profiles: list[Profile]) -> list[ShareWeights]:
        """Share weights indexed by profile id (extended as new profiles appear)."""
        cache = self._weights
        while len(cache) < len(profiles):
            cache.append(self.rule.share_weights(profiles[len(cache)]))
        return cache

    def selected(self, pid: int, profiles: list[Profile]) -> bool:
        """Whether profile ``pid`` matches the rule's item selector."""
        cache = self._selected
        while len(cache) < len(profiles):
            cache.append(self.rule.select.matches(profiles[len(cache)]))
        return cache[pid]

    def doubtful(self, pid: int, profiles: list[Profile]) -> bool:
        """Whether profile ``pid`` matches an item rule's ``unknown`` selector (reported apart)."""
        cache = self._doubtful
        selector = self.rule.unknown
        while len(cache) < len(profiles):
            cache.append(selector is not None and selector.matches(profiles[len(cache)]))
        return cache[pid]

    def protected(self, pid: int, profiles: list[Profile]) -> bool:
        """Whether profile ``pid`` is a protected programme (``between_parts_of``)."""
        cache = self._protected
        selector = self.rule.between_parts_of
        while len(cache) < len(profiles):
            cache.append(selector is not None and selector.matches(profiles[len(cache)]))
        return cache[pid]
