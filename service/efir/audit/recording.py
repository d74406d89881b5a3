"""Recording read events into per-channel event books, with the audit's input counts."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from efir.audit.readers import LineError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from efir.core.book import EventBook
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

    def add(self, later: InputStats) -> None:
        """Add the counts of input read after this one's (errors kept in order)."""
        self.applied += later.applied
        self.unchanged += later.unchanged
        self.other_channels.update(later.other_channels)
        self.rejected += later.rejected
        self.errors.extend(later.errors[: MAX_ERRORS_KEPT - len(self.errors)])
        self.reasons.update(later.reasons)


@dataclass
class Recorder:
    """Where read events go: each channel's event book (made when first seen) and the counts.

    With ``only``, events of other channels are counted and skipped.
    """

    stats: InputStats
    new_book: Callable[[str], EventBook]
    only: str | None = None
    books: dict[str, EventBook] = field(default_factory=dict)

    def book(self, channel_id: str) -> EventBook:
        """The book of ``channel_id``, made if new."""
        book = self.books.get(channel_id)
        if book is None:
            book = self.books[channel_id] = self.new_book(channel_id)
        return book

    def record(
        self, stream: Iterable[AsRunEvent | LineError], arrival: int | None = None
    ) -> int | None:
        """Record every event of ``stream`` in its channel's book; count what was read.

        ``arrival`` numbers the versions explicitly from the number after it
        (see :meth:`~efir.core.book.EventBook.record`); returns the last
        number used.
        """
        stats, books, only = self.stats, self.books, self.only
        for got in stream:
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
            book = books.get(event.channel)
            if book is None:
                book = self.book(event.channel)
            if arrival is None:
                recorded = book.record(event)
            else:
                arrival += 1
                recorded = book.record(event, arrival)
            if recorded:
                stats.applied += 1
            else:
                stats.unchanged += 1
        return arrival
