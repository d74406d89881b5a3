"""Recording read events into per-channel engines (a bulk load), with the audit's input counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from efir.readers.base import LineError, Skipped

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from efir.core.engine import ChannelEngine
    from efir.core.event import AsRunEvent

#: Line errors kept in the report (all are counted).
MAX_ERRORS_KEPT = 1000


@dataclass
class InputStats:
    """What the audit read."""

    files: list[str] = field(default_factory=list)
    lines_ok: int = 0
    applied: int = 0
    unchanged: int = 0
    other_channels: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    errors: list[LineError] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    #: Records rightly not airtime (did not air, headers), by reason.
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, later: InputStats) -> None:
        """Add the counts of input read after this one's (errors kept in order)."""
        self.applied += later.applied
        self.unchanged += later.unchanged
        self.other_channels.update(later.other_channels)
        self.rejected += later.rejected
        self.errors.extend(later.errors[: MAX_ERRORS_KEPT - len(self.errors)])
        self.reasons.update(later.reasons)
        self.skipped.update(later.skipped)


@dataclass
class Recorder:
    """Where read events go: each channel's engine (made when first seen) and the counts.

    Events are recorded (:meth:`~efir.core.engine.ChannelEngine.record`), not
    applied: the caller settles each engine once everything is read.

    With ``only``, events of other channels are counted and skipped.
    """

    stats: InputStats
    new_engine: Callable[[str], ChannelEngine]
    only: str | None = None
    engines: dict[str, ChannelEngine] = field(default_factory=dict)

    def engine(self, channel_id: str) -> ChannelEngine:
        """The engine of ``channel_id``, made if new."""
        engine = self.engines.get(channel_id)
        if engine is None:
            engine = self.engines[channel_id] = self.new_engine(channel_id)
        return engine

    def record(
        self, stream: Iterable[AsRunEvent | LineError | Skipped], arrival: int | None = None
    ) -> int | None:
        """Record every event of ``stream`` in its channel's engine; count what was read.

        ``arrival`` numbers the versions explicitly from the number after it
        (see :meth:`~efir.core.book.EventBook.record`); returns the last
        number used.
        """
        stats, engines, only = self.stats, self.engines, self.only
        for got in stream:
            if type(got) is Skipped:
                stats.skipped[got.reason] += 1
                continue
            if type(got) is LineError:
                stats.rejected += 1
                stats.reasons[got.code] += 1
                if len(stats.errors) < MAX_ERRORS_KEPT:
                    stats.errors.append(got)
                continue
            event: AsRunEvent = got  # type: ignore[assignment]
            if only is not None and event.channel != only:
                stats.other_channels[event.channel] += 1
                continue
            engine = engines.get(event.channel)
            if engine is None:
                engine = self.engine(event.channel)
            if arrival is None:
                recorded = engine.record(event)
            else:
                arrival += 1
                recorded = engine.record(event, arrival)
            if recorded:
                stats.applied += 1
            else:
                stats.unchanged += 1
        return arrival
