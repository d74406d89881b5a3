"""Live classification: each channel's ``classify:`` rules applied as events are read.

The same rules apply when a payload arrives (ingest) and when a stored one
is read back (restart), so a restart counts exactly what was counted before.
The payload stored is the one that arrived; only the event counted is
classified. A change of the rules applies to what is read after it: events
restored from a checkpoint keep the classification they were counted with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efir.readers.classify import classify_payload
from efir.schema.asrun import parse_event

if TYPE_CHECKING:
    from collections.abc import Mapping

    from efir.config.settings import Settings
    from efir.core.event import AsRunEvent
    from efir.readers.classify import Classifier


class Enrichment:
    """The channels' classifications, and the parse that applies them."""

    def __init__(self, classifiers: Mapping[str, Classifier]) -> None:
        """Classify the events of the channels in ``classifiers`` (by channel id)."""
        self.classifiers = dict(classifiers)

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
        if self.classifiers:
            payload = classify_payload(self.classifiers, payload)
        return parse_event(payload, now_us=now_us, expect_channel=expect_channel)
