"""Item rules: occurrences of forbidden items in a window.

An item matching a ``forbidden`` rule's selector, starting inside the window
(and on one of its dates, when the rule has dates) is an occurrence the
moment it airs. An item matching the rule's ``unknown`` selector instead
(an advertisement of unknown language, for the ads-in-Kazakh rule) is not an
occurrence: its aired seconds are reported apart, as unknown. With
``between_parts_of`` it must also sit between two parts of the same
protected programme: the nearest programme items before and after it share
``house_id`` (or, without house ids, the title).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from efir.core.result import Occurrence
from efir.core.timebase import local_date

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from efir.core.book import Item
    from efir.core.bound_rule import BoundRule
    from efir.core.calendar import Calendar
    from efir.core.ledger import Ledger
    from efir.core.profile import Profile

PROGRAMME_KINDS = frozenset({"program", "music"})


class ItemRuleScanner:
    """Finds occurrences of forbidden items in a channel's ledger."""

    __slots__ = ("calendar", "ledger", "profiles", "tz")

    def __init__(
        self, ledger: Ledger, profiles: list[Profile], calendar: Calendar, tz: ZoneInfo
    ) -> None:
        """Scan ``ledger``; ``profiles`` is the channel's (growing) profile list."""
        self.ledger = ledger
        self.profiles = profiles
        self.calendar = calendar
        self.tz = tz

    def scan(
        self, br: BoundRule, ws: int, we: int, now: int | None
    ) -> tuple[list[Occurrence], int]:
        """Occurrences of ``br`` in ``[ws, we)``, and the aired µs of its unknown items there."""
        rule = br.rule
        if rule.dates and not br.dates:
            return [], 0  # date-bound rule with no configured dates
        if not self._may_have_occurrences(br, ws, we, now):
            return [], 0
        clip = self.ledger.clip
        profiles = self.profiles
        out: list[Occurrence] = []
        unknown_us = 0
        for item, s, e in self.ledger.aired(ws, we, now):
            if not ws <= item.start < we:
                continue
            selected = br.selected(item.pid, profiles)
            if not selected and not br.doubtful(item.pid, profiles):
                continue
            if clip is not None and not clip[0] <= item.start < clip[1]:
                continue
            if br.dates and local_date(item.start, self.tz) not in br.dates:
                continue
            if not selected:
                unknown_us += e - s
                continue
            reason = rule.title
            if rule.between_parts_of is not None:
                programme = self._interrupted_programme(br, item, now)
                if programme is None:
                    continue
                reason = f"interrupts {programme.event.title or programme.event_id}"
            out.append(Occurrence(item.event_id, s, e, item.event.title, reason))
        return out, unknown_us

    def _may_have_occurrences(self, br: BoundRule, ws: int, we: int, now: int | None) -> bool:
        """Cheap pre-check from the window's per-profile counts (skips most scans)."""
        if br.rule.dates:
            days = self.calendar.days_between(ws, we)
            if not any(day in br.dates for day in days):
                return False
        counts = self.ledger.counts(br.scheme, ws, now)
        profiles = self.profiles
        if not any(
            n and (br.selected(pid, profiles) or br.doubtful(pid, profiles))
            for pid, n in counts.items()
        ):
            return False
        if br.rule.between_parts_of is None:
            return True
        # An interruption needs a protected programme in the window, or on air at its start.
        if any(n and br.protected(pid, profiles) for pid, n in counts.items()):
            return True
        first = self.ledger.profile_on_air(ws)
        return first is not None and br.protected(first, profiles)

    def _interrupted_programme(self, br: BoundRule, item: Item, now: int | None) -> Item | None:
        """Return the protected programme ``item`` sits between two parts of, if any."""

        def is_programme(other: Item) -> bool:
            return other.event.kind in PROGRAMME_KINDS

        prev = self.ledger.neighbour(item, -1, is_programme, now)
        nxt = self.ledger.neighbour(item, 1, is_programme, now)
        if prev is None or nxt is None or prev is item:
            return None
        if not br.protected(prev.pid, self.profiles) or not br.protected(nxt.pid, self.profiles):
            return None
        a, c = prev.event, nxt.event
        same = (a.house_id is not None and a.house_id == c.house_id) or (
            (a.house_id is None or c.house_id is None)
            and a.title is not None
            and a.title == c.title
        )
        return prev if same else None
