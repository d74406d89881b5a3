"""Alerts and the conditions that drive them.

An alert's identity is ``(alertname, channel, rule, window)``; its fingerprint
is a stable hash of those four labels, so the same situation keeps the same
fingerprint across restarts and instances. Severity is a label but not part of
the identity: an alert that escalates from ``warning`` to ``critical`` stays
the same alert (one situation, one identity). Each time a resolved alert comes
back it starts a new *episode*, numbered by the instant (µs) its condition
started to hold, so episode numbers never repeat even after an alert is
forgotten; notifications name the episode.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """Alert severities, mildest first."""

    WARNING = "warning"
    ERROR = "error"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """1 for warning, 2 for error, 3 for critical."""
        return _RANK[self]


_RANK = {Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}


class State(StrEnum):
    """Where an alert is in its lifecycle."""

    PENDING = "pending"  # condition true, not yet for long enough
    FIRING = "firing"
    RESOLVED = "resolved"


def fingerprint(alertname: str, channel: str, rule: str, window: str) -> str:
    """Stable 16-hex-digit identity of ``(alertname, channel, rule, window)``."""
    key = f"{alertname}\x1f{channel}\x1f{rule}\x1f{window}".encode()
    return hashlib.sha256(key).hexdigest()[:16]


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """What the evaluation says about one alert identity at one instant.

    Attributes:
        alertname, channel, rule, window: the identity labels.
        active: whether the alert's condition holds now. An inactive condition
            that is *present* resolves a firing alert with its own text (a window
            that closed compliant says so); an absent one resolves it with the
            last text it had.
        severity: severity while active.
        summary: one line, with the figures.
        description: what to do and by when, in plain words.
        window_end: µs UTC after which the condition can never hold again (the
            alert then resolves at once instead of waiting ``keep_firing``).
        sticky: absent means *archived*, not resolved: a recorded violation
            stops being an alert when it leaves the hold period, without an
            all-clear that would read as if it had been undone.
        values: figures for receivers (seconds, shares, instants as text).
        texts: ``summary`` and ``description`` in other languages, by language
            code (``kk``, ``ru``): each receiver reads its own.
    """

    alertname: str
    channel: str
    rule: str
    window: str
    active: bool
    severity: Severity
    summary: str
    description: str
    window_end: int | None = None
    sticky: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """The identity hash."""
        return fingerprint(self.alertname, self.channel, self.rule, self.window)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert identity's current state.

    Instants are µs UTC. ``active_since`` is when the condition started to hold
    in this episode; ``starts_at`` when the alert started firing; ``ends_at``
    when it resolved; ``clear_since`` when a firing alert's condition stopped
    holding (it resolves after ``keep_firing``).
    """

    fingerprint: str
    alertname: str
    channel: str
    rule: str
    window: str
    state: State
    severity: Severity
    summary: str
    description: str
    active_since: int
    episode: int = 0
    starts_at: int | None = None
    ends_at: int | None = None
    clear_since: int | None = None
    window_end: int | None = None
    sticky: bool = False
    values: dict[str, Any] = field(default_factory=dict)
    #: ``(summary, description)`` in other languages, by language code.
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)
    acked_by: str | None = None
    acked_at: int | None = None
    ack_comment: str | None = None
    #: A pending alert's resolved predecessor: it comes back if this episode never
    #: fires, so an all-clear still owed to a receiver is not lost.
    resumes: Alert | None = None

    @property
    def labels(self) -> dict[str, str]:
        """``alertname``, ``channel``, ``rule``, ``window``, ``severity``."""
        return {
            "alertname": self.alertname,
            "channel": self.channel,
            "rule": self.rule,
            "window": self.window,
            "severity": self.severity.value,
        }

    def words(self, lang: str) -> tuple[str, str]:
        """``(summary, description)`` in ``lang``, English when it has none in it."""
        return self.texts.get(lang, (self.summary, self.description))

    def acknowledge(self, by: str, comment: str, now: int) -> Alert:
        """The same alert, acknowledged by ``by`` (stops reminders for this episode)."""
        return replace(self, acked_by=by, acked_at=now, ack_comment=comment)


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    """A JSON-ready dict of ``alert`` (for the store)."""
    data = {f: getattr(alert, f) for f in Alert.__dataclass_fields__ if f != "resumes"}
    data["state"] = alert.state.value
    data["severity"] = alert.severity.value
    data["resumes"] = None if alert.resumes is None else alert_to_dict(alert.resumes)
    data["texts"] = {lang: list(t) for lang, t in alert.texts.items()}
    return data


def alert_from_dict(data: dict[str, Any]) -> Alert:
    """The inverse of :func:`alert_to_dict`."""
    fields = dict(data)
    fields["state"] = State(fields["state"])
    fields["severity"] = Severity(fields["severity"])
    resumes = fields.get("resumes")
    fields["resumes"] = None if resumes is None else alert_from_dict(resumes)
    fields["texts"] = {lang: (t[0], t[1]) for lang, t in (fields.get("texts") or {}).items()}
    known = Alert.__dataclass_fields__
    return Alert(**{k: v for k, v in fields.items() if k in known})
