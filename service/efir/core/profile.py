"""Profiles: the counting-relevant attributes of an item, interned to small ints.

Rules never look at individual items' metadata when counting seconds; they
look at the item's *profile* (kind, layer, language, Kazakh share, origin,
retransmission, tags, ad category). A channel airs few distinct profiles, so
accumulators keep seconds per profile id and each rule weighs a profile once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from efir.core.event import AsRunEvent

#: Effective language of a bilingual item that carries ``kk_fraction``
#: (ISO 639-2 "multiple languages"): linguistic content, neither unknown nor ``zxx``.
MIXED_LANGUAGE = "mul"
KAZAKH = "kk"


class Profile(NamedTuple):
    """Counting attributes of an item. Hashable; equal profiles count alike."""

    kind: str | None
    layer: str
    language: str | None
    kk_fraction: float | None
    origin: str | None
    retransmission: bool
    tags: frozenset[str]
    ad_category: str | None

    @property
    def effective_language(self) -> str | None:
        """Language used by selectors: ``kk_fraction`` overrides ``language``."""
        return MIXED_LANGUAGE if self.kk_fraction is not None else self.language

    @property
    def kazakh_share(self) -> float:
        """Share of the item's airtime that counts as Kazakh (0..1)."""
        if self.kk_fraction is not None:
            return self.kk_fraction
        return 1.0 if self.language == KAZAKH else 0.0

    @classmethod
    def of(cls, event: AsRunEvent) -> Profile:
        """Return the profile of an event."""
        return cls(
            event.kind,
            event.layer,
            event.language,
            event.kk_fraction,
            event.origin,
            event.retransmission,
            event.tags,
            event.ad_category,
        )


#: Slice of :class:`~efir.core.event.AsRunEvent` holding exactly the profile's
#: fields, in order (kind .. ad_category); a test pins the correspondence.
EVENT_PROFILE_SLICE = slice(5, 13)


class ProfileTable:
    """Interns profiles to dense ids (0, 1, 2 ...), stable for the table's life."""

    __slots__ = ("_ids", "profiles")

    def __init__(self) -> None:
        """Create an empty table."""
        self._ids: dict[tuple[object, ...], int] = {}
        self.profiles: list[Profile] = []

    def of_event(self, event: AsRunEvent) -> int:
        """Return the profile id of ``event`` (hot path: keyed by a tuple slice)."""
        key: tuple[object, ...] = event[5:13]  # == EVENT_PROFILE_SLICE (literal for typing)
        pid = self._ids.get(key)
        if pid is None:
            pid = self.intern(Profile.of(event))
            self._ids[key] = pid
        return pid

    def intern(self, profile: Profile) -> int:
        """Return the id of ``profile``, assigning the next id when new."""
        key = tuple(profile)
        pid = self._ids.get(key)
        if pid is None:
            pid = len(self.profiles)
            self._ids[key] = pid
            self.profiles.append(profile)
        return pid

    def __len__(self) -> int:
        """Return the number of distinct profiles."""
        return len(self.profiles)
