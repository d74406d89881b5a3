"""The as-run event ``efir.asrun/1`` as the core sees it (DESIGN section 2).

Wire validation (JSON, field formats, precise error messages) lives in
:mod:`efir.schema.asrun`; this module holds the validated, typed domain value.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

SCHEMA = "efir.asrun/1"


class Phase(StrEnum):
    """Lifecycle step an event reports."""

    START = "start"
    END = "end"
    COMPLETE = "complete"
    CORRECTION = "correction"
    CANCEL = "cancel"


class Kind(StrEnum):
    """What an item is, for the purpose of counting."""

    PROGRAM = "program"
    MUSIC = "music"
    ADVERTISING = "advertising"
    TELESHOPPING = "teleshopping"
    SOCIAL_ADVERTISING = "social_advertising"
    PROMO = "promo"
    IDENT = "ident"
    FILLER = "filler"


class Layer(StrEnum):
    """Primary items are airtime; secondary (overlays, crawls, logos) never are."""

    PRIMARY = "primary"
    SECONDARY = "secondary"


AD_KINDS = frozenset({Kind.ADVERTISING, Kind.TELESHOPPING, Kind.SOCIAL_ADVERTISING})

#: Attribute fields an ``end`` or ``correction`` may omit and inherit from an
#: earlier version of the same ``event_id`` (absent, not explicitly null).
INHERITABLE = (
    "kind",
    "layer",
    "language",
    "kk_fraction",
    "origin",
    "retransmission",
    "tags",
    "ad_category",
    "house_id",
    "title",
    "artist",
    "isrc",
)


class AsRunEvent(NamedTuple):
    """One validated as-run event (immutable; equal versions compare equal).

    Attributes:
        channel: channel id.
        event_id: unique per channel; all phases of one item share it.
        phase: lifecycle step.
        start: item start, microseconds since the epoch (UTC); ``None`` only for ``cancel``.
        duration: length in microseconds (actual for end/complete/correction,
            planned for start); ``None`` when not given.
        kind: item kind, ``None`` when not given (inherited from another version).
        layer: primary or secondary.
        language: ISO 639-1 code, ``"zxx"`` (no linguistic content) or ``None`` (unknown).
        kk_fraction: share of Kazakh in a bilingual item (0..1), overrides ``language``.
        origin: ``"domestic"``, ``"foreign"`` or ``None`` (unknown).
        retransmission: part of a retransmitted foreign channel.
        tags: free tags (``news``, ``sign_language``, ``age_18`` ...).
        ad_category: advertising category (``alcohol``, ``casino`` ...).
        seq: publisher's per-channel counter, if any.
        given: names of the attribute fields present in the message; the others
            may be inherited from earlier versions (see :data:`INHERITABLE`).
            Invariant: a field not in ``given`` holds its default (an absent
            field *is* its default), which the lifecycle relies on.
    """

    channel: str
    event_id: str
    phase: Phase = Phase.COMPLETE
    start: int | None = None
    duration: int | None = None
    kind: Kind | None = None
    layer: Layer = Layer.PRIMARY
    language: str | None = None
    kk_fraction: float | None = None
    origin: str | None = None
    retransmission: bool = False
    tags: frozenset[str] = frozenset()
    ad_category: str | None = None
    house_id: str | None = None
    title: str | None = None
    artist: str | None = None
    isrc: str | None = None
    seq: int | None = None
    given: frozenset[str] = frozenset(INHERITABLE)
