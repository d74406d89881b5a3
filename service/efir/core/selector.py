"""Selectors: data-driven predicates over item profiles (rule numerators, bases, items).

A selector is a conjunction of conditions; every condition left ``None`` is
not checked. Language conditions see the *effective* language: an item with a
``kk_fraction`` is bilingual linguistic content (``"mul"``), so it is neither
``zxx`` nor unknown. In a value set, ``None`` matches an unknown attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from efir.core.profile import Profile


class Weight(StrEnum):
    """How much of a matching item's airtime a numerator counts."""

    ONE = "one"
    KAZAKH_SHARE = "kazakh_share"


@dataclass(frozen=True, slots=True)
class Selector:
    """Conjunction of attribute conditions on a :class:`~efir.core.profile.Profile`."""

    kind: frozenset[str | None] | None = None
    not_kind: frozenset[str | None] | None = None
    layer: frozenset[str] | None = None
    language: frozenset[str | None] | None = None
    not_language: frozenset[str | None] | None = None
    origin: frozenset[str | None] | None = None
    not_origin: frozenset[str | None] | None = None
    retransmission: bool | None = None
    tags_any: frozenset[str] | None = None
    tags_all: frozenset[str] | None = None
    not_tags: frozenset[str] | None = None
    ad_category: frozenset[str | None] | None = None
    any_of: tuple[Selector, ...] | None = None
    none_of: tuple[Selector, ...] | None = None

    def matches(self, p: Profile) -> bool:
        """Return whether profile ``p`` satisfies every condition."""
        lang = p.effective_language
        checks = (
            self.kind is None or p.kind in self.kind,
            self.not_kind is None or p.kind not in self.not_kind,
            self.layer is None or p.layer in self.layer,
            self.language is None or lang in self.language,
            self.not_language is None or lang not in self.not_language,
            self.origin is None or p.origin in self.origin,
            self.not_origin is None or p.origin not in self.not_origin,
            self.retransmission is None or p.retransmission is self.retransmission,
            self.tags_any is None or not self.tags_any.isdisjoint(p.tags),
            self.tags_all is None or self.tags_all <= p.tags,
            self.not_tags is None or self.not_tags.isdisjoint(p.tags),
            self.ad_category is None or p.ad_category in self.ad_category,
            self.any_of is None or any(s.matches(p) for s in self.any_of),
            self.none_of is None or not any(s.matches(p) for s in self.none_of),
        )
        return all(checks)


#: Matches everything.
ANY = Selector()


def weight_of(weight: Weight, p: Profile) -> float:
    """Return the numerator weight (0..1) of profile ``p``."""
    if weight is Weight.KAZAKH_SHARE:
        return p.kazakh_share
    return 1.0
