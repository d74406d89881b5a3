"""Silences: label matchers over a time span, as in Alertmanager.

A silenced alert is not notified (neither firing nor reminders); it still
exists, shows in the API and keeps its state. When the silence ends and the
alert is still firing, its receivers are told then. The all-clear of an alert
that was told before the silence is held until the silence ends, never
dropped (a lost all-clear is a known complaint about Alertmanager): a resolved
alert whose all-clear is still owed is kept up to ``Timing.keep_owed_us``
(92 days, longer than the longest silence), not only the day others are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property


class MatchOp(StrEnum):
    """Matcher operators: equal, not equal, regex (full match), negated regex."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


@dataclass(frozen=True)
class Matcher:
    """``name op value`` over an alert's labels (a missing label reads as ``""``)."""

    name: str
    value: str
    op: MatchOp = MatchOp.EQ

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        return re.compile(self.value)

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher."""
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NE:
            return actual != self.value
        hit = self._pattern.fullmatch(actual) is not None
        return hit if self.op is MatchOp.RE else not hit


@dataclass(frozen=True)
class Silence:
    """Mute alerts matching every matcher during ``[starts_at, ends_at)`` (µs UTC)."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: int
    ends_at: int
    created_by: str
    comment: str
    created_at: int

    def active(self, now: int) -> bool:
        """Whether the silence is in force at ``now``."""
        return self.starts_at <= now < self.ends_at

    def mutes(self, labels: dict[str, str], now: int) -> bool:
        """Whether the silence is in force and matches ``labels``."""
        return self.active(now) and all(m.matches(labels) for m in self.matchers)
