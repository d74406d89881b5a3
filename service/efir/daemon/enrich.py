"""Live enrichment: the catalogue and the channels' ``classify:`` rules, as events are read.

The catalogue (:mod:`efir.core.catalogue`) fills in first, by house number
or ISRC; the channel's rules then fill in what is still missing. The same
apply when a payload arrives (ingest) and when a stored one is read back
(restart, a rebuild after a catalogue change), so a restart counts exactly
what was counted before. The payload stored is the one that arrived; only
the event counted is enriched. A change of the rules applies to what is read
after it; a change of the catalogue rebuilds the channels it touches
(:meth:`efir.daemon.service.Service.recount`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efir.core.catalogue import Catalogue
from efir.readers.classify import enrich_payload
from efir.schema.asrun import parse_event

if TYPE_CHECKING:
    from collections.abc import Mapping

    from efir.config.settings import Settings
    from efir.core.event import AsRunEvent
    from efir.readers.classify import Classifier


class Enrichment:
    """The channels' classifications, and the parse that applies them."""

    def __init__(
        self, classifiers: Mapping[str, Classifier], catalogue: Catalogue | None = None
    ) -> None:
        """Classify the events of the channels in ``classifiers`` (by channel id)."""
        self.classifiers = dict(classifiers)
        self.catalogue = catalogue if catalogue is not None else Catalogue()
        #: Events each entry filled in since the start: ``(field, key, channel)`` -> count.
        self.used: dict[tuple[str, str, str | None], int] = {}

    @classmethod
    def of(cls, settings: Settings) -> Enrichment:
        """The classifications the configured channels name."""
        found = {c.id: c.classifier() for c in settings.channels}
        return cls({cid: clf for cid, clf in found.items() if clf is not None})

    def parse(
        self, payload: bytes, *, now_us: int, expect_channel: str | None = None
    ) -> AsRunEvent:
        """Validate ``payload`` as :func:`~efir.schema.asrun.parse_event`, classified first.

        Raises:
            EventError: as ``parse_event`` (a classified payload is checked the same way).
        """
        got = enrich_payload(payload, catalogue=self.catalogue, classifiers=self.classifiers)
        if got.entry is not None and got.filled:
            self.used[got.entry.ident] = self.used.get(got.entry.ident, 0) + 1
        return parse_event(got.payload, now_us=now_us, expect_channel=expect_channel)
