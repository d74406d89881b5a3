"""The alert lifecycle: ``pending`` → ``firing`` → ``resolved``, with hysteresis.

* A condition that starts to hold makes the alert ``pending``; it fires once the
  condition has held for ``for`` of its severity without a break (a condition
  that flaps faster than ``for`` never fires, so never notifies). ``for`` of 0
  fires at once.
* A firing alert whose condition stops holding resolves after ``keep_firing``
  (a short dip does not end the situation), or at once when its window has
  ended (the condition can never come back).
* A pending alert whose condition stops holding is dropped (nobody was told),
  or goes back to the resolved alert it would have replaced.
* A sticky alert (a recorded violation) that is no longer reported is archived.
* A resolved alert whose condition holds again starts a new episode.
* A resolved alert is forgotten ``keep_resolved`` after it resolved, unless a
  receiver is still owed its all-clear (held by a silence longer than that,
  or queued for a disabled receiver): then it is kept up to ``keep_owed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from efir.core.alerting.alert import Alert, Condition, Severity, State

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping


@dataclass(frozen=True, slots=True)
class Timing:
    """Hysteresis in µs: ``for`` per severity, and ``keep_firing``."""

    for_us: dict[Severity, int] = field(
        default_factory=lambda: {
            Severity.WARNING: 60_000_000,
            Severity.ERROR: 60_000_000,
            Severity.CRITICAL: 0,
        }
    )
    keep_firing_us: int = 120_000_000
    #: Resolved alerts stay visible (API, history) this long before being forgotten.
    keep_resolved_us: int = 24 * 3600 * 1_000_000
    #: ... and at most this long while a receiver is still owed its all-clear.
    #: (Longer than the longest silence the API accepts, 90 days.)
    keep_owed_us: int = 92 * 24 * 3600 * 1_000_000


#: A change to the alert book: the new alert, or ``None`` when it is forgotten.
Changes = dict[str, Alert | None]


def step(
    alerts: Mapping[str, Alert],
    scope: str,
    conditions: Iterable[Condition],
    now: int,
    timing: Timing,
    *,
    owed: frozenset[str] = frozenset(),
) -> Changes:
    """Advance every alert of channel ``scope`` to ``now``; return what changed.

    ``conditions`` is everything the evaluation reports for ``scope`` now:
    alerts of ``scope`` it does not mention are treated as no longer holding.
    ``owed``: fingerprints of resolved alerts whose all-clear some receiver
    has not been sent yet (they are not forgotten after ``keep_resolved``).
    The input is not modified; apply the result with :func:`apply`.
    """
    changes: Changes = {}
    seen: set[str] = set()
    for cond in conditions:
        fp = cond.fingerprint
        seen.add(fp)
        new = _advance(alerts.get(fp), cond, now, timing, owed=fp in owed)
        if new is not alerts.get(fp):
            changes[fp] = new
    for fp, alert in alerts.items():
        if alert.channel != scope or fp in seen:
            continue
        new = _absent(alert, now, timing, owed=fp in owed)
        if new is not alert:
            changes[fp] = new
    return changes


def apply(alerts: dict[str, Alert], changes: Changes) -> None:
    """Apply :func:`step`'s result to ``alerts`` in place."""
    for fp, alert in changes.items():
        if alert is None:
            alerts.pop(fp, None)
        else:
            alerts[fp] = alert


def _advance(
    old: Alert | None, cond: Condition, now: int, timing: Timing, *, owed: bool
) -> Alert | None:
    if not cond.active:
        if old is None:
            return None
        return _gone(old, now, timing, window_end=cond.window_end, resolution=cond, owed=owed)
    if old is None or old.state is State.RESOLVED:
        fresh = Alert(
            fingerprint=cond.fingerprint,
            alertname=cond.alertname,
            channel=cond.channel,
            rule=cond.rule,
            window=cond.window,
            state=State.PENDING,
            severity=cond.severity,
            summary=cond.summary,
            description=cond.description,
            active_since=now,
            episode=now,
            window_end=cond.window_end,
            sticky=cond.sticky,
            values=cond.values,
            texts=cond.texts,
            resumes=old,
        )
        return _promote(fresh, now, timing)
    current = replace(
        old,
        severity=cond.severity,
        summary=cond.summary,
        description=cond.description,
        values=cond.values,
        texts=cond.texts,
        window_end=cond.window_end,
        clear_since=None,
    )
    if old.state is State.PENDING:
        return _promote(current, now, timing)
    return old if current == old else current


def _promote(alert: Alert, now: int, timing: Timing) -> Alert:
    if now - alert.active_since >= timing.for_us.get(alert.severity, 0):
        return replace(alert, state=State.FIRING, starts_at=now, resumes=None)
    return alert


def _absent(alert: Alert, now: int, timing: Timing, *, owed: bool) -> Alert | None:
    """An alert the evaluation no longer mentions."""
    if alert.sticky and alert.state is not State.RESOLVED:
        return None  # archived: the hold period is over
    return _gone(alert, now, timing, window_end=alert.window_end, resolution=None, owed=owed)


def _gone(
    alert: Alert,
    now: int,
    timing: Timing,
    *,
    window_end: int | None,
    resolution: Condition | None,
    owed: bool,
) -> Alert | None:
    """The condition no longer holds: a pending alert goes back, a firing one clears.

    ``window_end``: the end of the condition's window (a firing alert resolves
    at once once it has passed); ``resolution``: the all-clear's text, if the
    evaluation gave one.
    """
    if alert.state is State.PENDING:
        return alert.resumes
    if alert.state is State.FIRING:
        ended = window_end is not None and now >= window_end
        return _clear(alert, now, timing, ended=ended, resolution=resolution)
    return _forget_if_old(alert, now, timing, owed=owed)


def _clear(
    alert: Alert, now: int, timing: Timing, *, ended: bool, resolution: Condition | None
) -> Alert:
    """A firing alert whose condition does not hold at ``now``.

    It keeps its firing text while it waits out ``keep_firing``; when it
    resolves it takes the text of ``resolution`` (the all-clear), if given.
    """
    since = alert.clear_since if alert.clear_since is not None else now
    if ended or now - since >= timing.keep_firing_us:
        resolved = replace(alert, state=State.RESOLVED, ends_at=now, clear_since=since)
        if resolution is not None:
            resolved = replace(
                resolved,
                summary=resolution.summary,
                description=resolution.description,
                values=resolution.values,
                texts=resolution.texts,
            )
        return resolved
    if alert.clear_since is not None:
        return alert
    return replace(alert, clear_since=since)


def _forget_if_old(alert: Alert, now: int, timing: Timing, *, owed: bool) -> Alert | None:
    keep = timing.keep_owed_us if owed else timing.keep_resolved_us
    if alert.ends_at is not None and now - alert.ends_at >= keep:
        return None
    return alert
