"""The alerter: live figures → conditions → alert states → outbox, on the leader.

Runs as one task. It re-evaluates the channels the ingest writer applied
events to (within milliseconds of the commit) and those whose windows the
ticker stored closed; every channel when a group or reminder falls due, after
an operator's action, and at least every ``tick_s`` (so ``slack``, deadlines
and silent feeds move without events). Evaluating only what changed keeps a
busy channel from costing the evaluation of hundreds of quiet ones per batch.
Each evaluation is planned on copies and committed in one transaction (alert
states, receiver bookkeeping, outbox rows, journal) before memory is updated:
a failed commit changes nothing, and the next evaluation plans it again.

Only the leader (see :mod:`efir.daemon.leader`) evaluates and sends; a standby
keeps its live figures current and loads the alert state when it takes over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, TypeVar
from zoneinfo import ZoneInfo

from efir.config.shards import SYSTEM_SCOPE
from efir.core.alerting.alert import Severity, State
from efir.core.alerting.conditions import (
    ChannelRef,
    closed_conditions,
    feed_conditions,
    gap_condition,
    in_languages,
    open_item_condition,
    plan_condition,
    receiver_condition,
    rule_conditions,
)
from efir.core.alerting.dispatch import owed, plan
from efir.core.alerting.lifecycle import apply, step
from efir.core.alerting.silence import Matcher, Silence
from efir.core.errors import ServiceError
from efir.core.feed import FeedState
from efir.core.rules import RuleType
from efir.core.timebase import US_PER_S
from efir.i18n import phrasebook
from efir.notify.render import Context, render
from efir.store.database import StoreError
from efir.store.journal import JournalEntry
from efir.store.lease import FencedError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable

    from efir.config.settings import Settings
    from efir.core.alerting.alert import Alert, Condition
    from efir.core.alerting.lifecycle import Changes
    from efir.core.result import WindowResult
    from efir.daemon.monitor import Channel, Monitor
    from efir.metrics import Metrics
    from efir.store.alerts import AlertState, AlertStore
    from efir.store.outbox import OutboxRow

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Shortest time between the starts of two evaluations, in seconds.
MIN_GAP_S = 0.02


class NotLeaderError(ServiceError):
    """This instance is the standby: alert changes go to the active instance."""


class Alerter:
    """Alert evaluation and its persistence for one process."""

    def __init__(
        self,
        settings: Settings,
        monitor: Monitor,
        store: AlertStore,
        metrics: Metrics,
        *,
        now_us: Callable[[], int],
        wake_delivery: Callable[[], None],
        system: bool = True,
        shared_state: bool = False,
    ) -> None:
        """Wire the alerter; state is loaded when this instance becomes the leader.

        ``system``: this instance raises Efir's own alerts (a disabled receiver);
        with shards only the first shard's leader does. ``shared_state``:
        other shards' instances create silences and disable or enable receivers
        too, so the leader re-reads both every ``tick_s`` (docs/scaling.md).
        """
        self.system = system
        self.shared_state = shared_state
        self.config = settings.alerts
        self.stale_after_s = settings.stale_after_s
        self.tick_s = settings.tick_s
        self.monitor = monitor
        self.store = store
        self.metrics = metrics
        self.now_us = now_us
        self.wake_delivery = wake_delivery
        self.timing = self.config.timing()
        self.policy = self.config.policy()
        self.thresholds = self.config.thresholds()
        #: The languages receivers read besides English: each condition's texts are
        #: written in each of them too.
        self.languages = {lang: phrasebook(lang) for lang in sorted(self.config.languages)}
        self.context = Context(self.config.external_url)
        self.state: AlertState | None = None
        self.next_due: int | None = None
        #: Set once the ticker has offered the closed windows of the live horizon.
        self.primed = False
        #: Closed windows that are violations, per (channel, rule, window start).
        self._violations: dict[tuple[str, str, int], tuple[Condition, int]] = {}
        #: One-shot conditions (all-clear texts of windows that just closed).
        self._closing: dict[str, list[Condition]] = {}
        #: Closed windows held back while their channel's feed catches up.
        self._held: dict[str, dict[tuple[str, int], int]] = {}
        self._refs: dict[str, ChannelRef] = {}
        self._names = {c.id: c.name or c.id for c in settings.channels}
        # Every channel, state and severity, zero included: "no alert" is a
        # value a dashboard shows and an alert rule compares, not a gap.
        self._exported: dict[tuple[str, str, str], int] = {}
        for channel in settings.channels:
            for state in (State.PENDING.value, State.FIRING.value):
                for severity in Severity:
                    key = (channel.id, state, severity.value)
                    self._exported[key] = 0
                    metrics.alerts.labels(*key).set(0)
        self._export_due = True
        self._kick = asyncio.Event()
        #: Channels to evaluate at the next kick; every channel when ``_all``.
        self._dirty: set[str] = set()
        self._all = True
        self._last_all: float = 0.0
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------ control
    @property
    def active(self) -> bool:
        """True on the leader once its state is loaded."""
        return self.state is not None

    @property
    def disabled(self) -> dict[str, str]:
        """Receivers disabled after ``410 Gone`` (none on a standby)."""
        return {} if self.state is None else self.state.disabled

    def kick(self, channels: Iterable[str] | None = None) -> None:
        """Re-evaluate ``channels`` soon, or every channel (coalesced)."""
        if channels is None:
            self._all = True
        else:
            self._dirty.update(channels)
        self._kick.set()

    async def lead(self, leader: bool) -> None:
        """Become the leader (load the state) or the standby (drop it)."""
        async with self._lock:
            if leader:
                self.state = await self.store.load()
                log.info(
                    "alert state loaded: %d alerts, %d silences",
                    len(self.state.alerts),
                    len(self.state.silences),
                )
            else:
                self.state = None
            self._export_due = True
        self.metrics.leader.set(1 if leader else 0)
        self.kick()

    async def run(self) -> None:
        """Evaluate on kicks, due times and every ``tick_s`` until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            timeout = self.tick_s - (loop.time() - self._last_all)
            if self.next_due is not None:
                timeout = min(timeout, (self.next_due - self.now_us()) / US_PER_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), max(timeout, 0.001))
            self._kick.clear()
            due = self.next_due is not None and self.next_due <= self.now_us()
            everything = self._all or due or loop.time() - self._last_all >= self.tick_s
            only = None if everything else self._dirty
            self._dirty, self._all = set(), False
            if everything:
                self._last_all = loop.time()
            started = loop.time()
            try:
                if everything and self.shared_state:
                    await self.reload_shared()
                await self.evaluate(only)
            except StoreError as exc:
                log.warning("alerts: store unavailable, retrying: %s", exc)
                await asyncio.sleep(1.0)
            except NotLeaderError:
                pass  # fenced off (logged); the lease check steps this instance down
            except Exception:
                log.exception("alert evaluation failed; retrying at the next tick")
                await asyncio.sleep(1.0)
            # Under a burst of batches, kicks arriving meanwhile are served together
            # at most every MIN_GAP_S: each evaluation commits, and one per batch
            # took CPU from the ingest writer.
            await asyncio.sleep(max(0.0, MIN_GAP_S - (loop.time() - started)))

    # ------------------------------------------------------------ inputs
    def on_closed(self, ch: Channel, results: list[WindowResult], now: int) -> None:
        """Closed (or revised) windows from the ticker: violations and all-clear texts.

        While the channel's feed catches up (:meth:`Channel.catching_up`) the
        windows are judged later, on the figures the whole replay gives.
        """
        if ch.catching_up(now):
            held = self._held.setdefault(ch.profile.id, {})
            for w in results:
                held[w.rule, w.window_start] = w.window_end
            return
        ref = self._ref(ch)
        for w in results:
            bound = ch.engine.rules.get(w.rule)
            if bound is None or w.verdict is None:
                continue
            live, violation = in_languages(
                partial(closed_conditions, ref, bound.rule, w), self.languages
            )
            key = (ref.id, w.rule, w.window_start)
            closing = self._closing.setdefault(ref.id, [])
            if w.window_end > now - 2 * round(self.tick_s * US_PER_S) - US_PER_S * 60:
                closing.append(live)  # only windows that just closed get an all-clear text
            if violation.active:
                self._violations[key] = (violation, w.window_end)
            elif key in self._violations:
                del self._violations[key]
                closing.append(violation)  # revised: the violation's all-clear
        self.kick((ch.profile.id,))

    # -------------------------------------------------------- evaluation
    def _release(self, ch: Channel, now: int) -> None:
        """Judge the closed windows held during a catch-up that is over."""
        held = self._held.get(ch.profile.id)
        if not held or ch.catching_up(now):
            return
        del self._held[ch.profile.id]
        results: list[WindowResult] = []
        for (rule, start), end in sorted(held.items()):
            if rule in ch.engine.rules:
                found = ch.engine.windows(start, end, now=now, rules=[rule])
                results.extend(w for w in found if w.window_start == start)
        self.on_closed(ch, results, now)

    def conditions(self, ch: Channel, now: int) -> list[Condition]:
        """Everything the alerts of ``ch`` depend on at ``now``."""
        self._release(ch, now)
        ref = self._ref(ch)
        state = self.monitor.feed_state(ch, now)
        langs = self.languages
        feed = partial(
            feed_conditions, ref, state.value, ch.feed.last_heard_us, now, self.stale_after_s
        )
        out = in_languages(feed, langs)
        if state is FeedState.UNKNOWN or ch.feed.last_heard_us is None:
            # Never heard from: empty windows say nothing yet (a fresh install must not
            # open with a "4 h gap" or a quota alarm); the feed alert speaks for the
            # channel once Efir has listened long enough on air. Recorded violations count.
            out.extend(self._recorded(ref, now))
            return out
        finest: WindowResult | None = None
        results = ch.status(now)
        forecasts = ch.forecasts(now, results)
        for w in results:
            if w.window_start > now:
                continue  # the next window of today, not started yet
            rule = ch.engine.rules[w.rule].rule
            out.extend(
                in_languages(partial(rule_conditions, ref, rule, w, now, self.thresholds), langs)
            )
            planned = forecasts.get(w.rule)
            if planned is not None and rule.type is RuleType.MIN_SHARE:
                out.extend(in_languages(partial(plan_condition, ref, rule, w, planned, now), langs))
            if rule.is_share and (
                finest is None
                or w.window_end - w.window_start < finest.window_end - finest.window_start
            ):
                finest = w
        if finest is not None and not ch.catching_up(now):
            # While the feed catches up, the gap is the part not replayed yet.
            gap = ch.on_air_gap_s(finest, now)
            out.extend(
                in_languages(partial(gap_condition, ref, finest, self.thresholds, gap), langs)
            )
        overdue = ch.engine.overdue(now)
        out.extend(in_languages(partial(open_item_condition, ref, overdue, now), langs))
        out.extend(self._recorded(ref, now))
        return out

    def _recorded(self, ref: ChannelRef, now: int) -> list[Condition]:
        """Held violations of closed windows, and all-clear texts of windows that just closed."""
        out: list[Condition] = []
        hold = round(self.config.violation_hold_s * US_PER_S)
        for key, (cond, window_end) in list(self._violations.items()):
            if key[0] != ref.id:
                continue
            if window_end + hold < now:
                del self._violations[key]  # archived: absent from now on
                continue
            out.append(cond)
        out.extend(self._closing.pop(ref.id, []))
        return out

    async def evaluate(self, channels: Iterable[str] | None = None) -> int:
        """Evaluate ``channels`` (default: every channel); return the notifications queued.

        The alerts of channels left out keep their state until their next evaluation.
        """
        async with self._lock:
            st = self.state
            if st is None or not self.primed:
                return 0
            now = self.now_us()
            working = dict(st.alerts)
            unresolved = owed(st.sent)
            changes: Changes = {}
            every = self.monitor.channels
            chosen = (
                every.values() if channels is None else [every[c] for c in channels if c in every]
            )
            for ch in chosen:
                conds = self.conditions(ch, now)
                ch_changes = step(working, ch.profile.id, conds, now, self.timing, owed=unresolved)
                apply(working, ch_changes)
                changes.update(ch_changes)
            sys_changes = self._system_step(working, st, now, unresolved)
            apply(working, sys_changes)
            changes.update(sys_changes)
            p = plan(
                working,
                silences=st.silences,
                sent=st.sent,
                groups=st.groups,
                policy=self.policy,
                now=now,
                disabled=frozenset(st.disabled),
            )
            rows: list[OutboxRow] = []
            for n in p.notifications:
                receiver = self.config.receiver(n.receiver)
                if receiver is not None:
                    rows.extend(render(n, receiver, self.context))
            journal = _transitions(st.alerts, changes, now)
            await self._fenced(
                self.store.commit(
                    changes=changes,
                    sent=p.sent,
                    groups=p.groups,
                    rows=rows,
                    journal=journal,
                    now=now,
                )
            )
            st.alerts = working
            for key, told in p.sent.items():
                if told is None:
                    st.sent.pop(key, None)
                else:
                    st.sent[key] = told
            for gkey, g in p.groups.items():
                if g is None:
                    st.groups.pop(gkey, None)
                else:
                    st.groups[gkey] = g
            self.next_due = p.next_due
            if changes or self._export_due:  # the counts follow the alerts' states alone
                self._export(working)
                self._export_due = False
        if rows:
            self.wake_delivery()
        return len(rows)

    def _system_step(
        self, working: dict[str, Alert], st: AlertState, now: int, unresolved: frozenset[str]
    ) -> Changes:
        """The changes of Efir's own alerts (a receiver disabled after ``410 Gone``).

        None but on the instance that raises them (:attr:`system`).
        """
        if not self.system:
            return {}
        receivers = [
            c
            for r in self.config.receivers
            for c in in_languages(
                partial(receiver_condition, r.name, st.disabled.get(r.name)), self.languages
            )
        ]
        return step(working, SYSTEM_SCOPE, receivers, now, self.timing, owed=unresolved)

    async def reload_shared(self) -> None:
        """Take the silences and disabled receivers from the store.

        Another shard's instance may have changed them (docs/scaling.md).
        """
        if self.state is None:
            return
        found, disabled = await self.store.shared()
        async with self._lock:
            if self.state is not None:
                self.state.silences = found
                self.state.disabled = disabled

    # ------------------------------------------------------- API actions
    async def _fenced(self, write: Awaitable[T]) -> T:
        """Run a state write; if another instance took the lease meanwhile, stand by."""
        try:
            return await write
        except FencedError as exc:
            self.state = None
            self.metrics.leader.set(0)
            log.warning("alerts: %s; this instance stands by", exc)
            raise NotLeaderError(str(exc)) from None

    def _require(self) -> AlertState:
        if self.state is None:
            msg = "this instance is the standby; send alert changes to the active instance"
            raise NotLeaderError(msg)
        return self.state

    async def acknowledge(self, fingerprint: str, by: str, comment: str) -> Alert | None:
        """Acknowledge a firing alert (stops reminders for this episode)."""
        async with self._lock:
            st = self._require()
            alert = st.alerts.get(fingerprint)
            if alert is None:
                return None
            now = self.now_us()
            acked = alert.acknowledge(by, comment, now)
            entry = JournalEntry(now, "ack", fingerprint, by, {"comment": comment})
            await self._fenced(
                self.store.commit(
                    changes={fingerprint: acked},
                    sent={},
                    groups={},
                    rows=(),
                    journal=[entry],
                    now=now,
                )
            )
            st.alerts[fingerprint] = acked
            return acked

    async def add_silence(
        self,
        matchers: tuple[Matcher, ...],
        *,
        starts_at: int,
        ends_at: int,
        created_by: str,
        comment: str,
    ) -> Silence:
        """Create a silence (journaled)."""
        async with self._lock:
            st = self._require()
            now = self.now_us()
            silence = Silence(
                f"sil_{uuid.uuid4().hex}", matchers, starts_at, ends_at, created_by, comment, now
            )
            await self._fenced(
                self.store.save_silence(
                    silence,
                    JournalEntry(
                        now, "silence_created", None, created_by, _silence_detail(silence)
                    ),
                )
            )
            st.silences.append(silence)
        self.kick()
        return silence

    async def expire_silence(self, silence_id: str, by: str) -> Silence | None:
        """End a silence now (journaled)."""
        async with self._lock:
            st = self._require()
            found = next((s for s in st.silences if s.id == silence_id), None)
            if found is None:
                return None
            now = self.now_us()
            ended = replace(found, ends_at=min(found.ends_at, now))
            await self._fenced(
                self.store.save_silence(
                    ended, JournalEntry(now, "silence_expired", None, by, {"id": silence_id})
                )
            )
            st.silences = [ended if s.id == silence_id else s for s in st.silences]
        self.kick()
        return ended

    def receiver_disabled(self, name: str, reason: str) -> None:
        """The delivery worker disabled ``name`` (410): alert the other receivers."""
        if self.state is not None:
            self.state.disabled[name] = reason
        self.metrics.receiver_up.labels(name).set(0)
        self.kick()

    async def enable_receiver(self, name: str, by: str) -> bool:
        """Enable a receiver again; its held notifications go out."""
        st = self._require()
        changed = await self._fenced(self.store.enable_receiver(name, by, self.now_us()))
        st.disabled.pop(name, None)
        self.metrics.receiver_up.labels(name).set(1)
        self.kick()
        return changed

    # ------------------------------------------------------------ helpers
    def _ref(self, ch: Channel) -> ChannelRef:
        ref = self._refs.get(ch.profile.id)
        if ref is None:
            name = self._names.get(ch.profile.id, ch.profile.id)
            ref = self._refs[ch.profile.id] = ChannelRef(
                ch.profile.id, name, ZoneInfo(ch.profile.timezone)
            )
        return ref

    def _export(self, alerts: dict[str, Alert]) -> None:
        """Set the alert counts per channel, state and severity (only those that changed)."""
        # Zero for every count exported before: it fell back (e.g. Efir's own alerts).
        counts = dict.fromkeys(self._exported, 0)
        for a in alerts.values():
            if a.state is not State.RESOLVED:
                key = (a.channel, a.state.value, a.severity.value)
                counts[key] = counts.get(key, 0) + 1
        # Only what changed: creating a labelled child is the costly part of
        # the client library, and this runs after every batch that changes an alert.
        for key, n in counts.items():
            if self._exported.get(key) != n:
                self.metrics.alerts.labels(*key).set(n)
                self._exported[key] = n


def _silence_detail(s: Silence) -> dict[str, object]:
    return {
        "id": s.id,
        "matchers": [f"{m.name}{m.op.value}{m.value!r}" for m in s.matchers],
        "starts_us": s.starts_at,
        "ends_us": s.ends_at,
        "comment": s.comment,
    }


def _transitions(before: dict[str, Alert], changes: Changes, now: int) -> list[JournalEntry]:
    out: list[JournalEntry] = []
    for fp, new in changes.items():
        old = before.get(fp)
        old_state = None if old is None else old.state.value
        new_state = None if new is None else new.state.value
        if old_state == new_state and (old is None or new is None or old.severity == new.severity):
            continue
        a = new or old
        assert a is not None  # noqa: S101 - one of them exists
        out.append(
            JournalEntry(
                now,
                "transition",
                fp,
                "efir",
                {
                    "from": old_state,
                    "to": new_state or "archived",
                    "severity": a.severity.value,
                    "alertname": a.alertname,
                    "channel": a.channel,
                    "rule": a.rule,
                    "window": a.window,
                    "summary": a.summary,
                },
            )
        )
    return out
