"""The channel engine: events in, window results out, time passed in.

One :class:`ChannelEngine` per channel composes the event book (versions to
items), the ledger (accounting) and the channel's active rules. It is the
core's face: the daemon, the API, the audit and the console use only it, never
the book or the ledger behind it. ``apply`` costs O(atoms the changed items
touch); evaluating a window costs O(profiles) for share rules and O(items in
the window) for item rules.

Two ways in: :meth:`apply` one event at a time (live), or a bulk load
(restart, audit): :meth:`load` a whole stream, or :meth:`record` events as
they are read, then :meth:`resolve` and :meth:`settle` once. A split audit records in two
processes and joins the parts with :meth:`recorded_ids`, :meth:`arrivals`,
:meth:`encoded_items` and :meth:`merge`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from efir.core.book import Change, EventBook
from efir.core.bound_rule import BoundRule
from efir.core.calendar import Calendar, Scheme
from efir.core.checkpoint import capture, decode_items, encode_items
from efir.core.checkpoint import restore as restore_checkpoint
from efir.core.item_rules import ItemRuleScanner
from efir.core.ledger import Ledger, Totals
from efir.core.result import WindowResult
from efir.core.rules import Rule, RuleType
from efir.core.status import (
    EPSILON_S,
    Status,
    count_outlook,
    max_share_outlook,
    min_share_outlook,
)
from efir.core.timebase import US_PER_S, local_midnight_us

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, KeysView, Sequence
    from datetime import date

    from efir.core.book import Item
    from efir.core.channel import ChannelProfile
    from efir.core.event import AsRunEvent

ROLLING_US = 7 * 24 * 3600 * US_PER_S
#: Statuses that say a window is lost (locked in): they page as critical.
_LOCKED = frozenset({Status.UNAVOIDABLE, Status.EXHAUSTED, Status.VIOLATION})


@dataclass(frozen=True, slots=True)
class Period:
    """The audited period ``[start, end)`` (µs UTC): windows not inside it are ``partial``."""

    start: int
    end: int


class ChannelEngine:
    """Evaluates one channel's rules over its as-run events.

    Args:
        channel: the channel profile.
        rules: rules of the channel's pack; inactive ones (disabled, not
            applicable to the channel) are dropped here.
        clip: optional ``[lo, hi)`` (µs): count only airtime inside it (audits).
    """

    def __init__(
        self,
        channel: ChannelProfile,
        rules: Iterable[Rule],
        *,
        clip: tuple[int, int] | None = None,
    ) -> None:
        """Bind ``rules`` to ``channel``."""
        self.channel = channel
        self.tz = ZoneInfo(channel.timezone)
        active = [r for r in rules if is_active(r, channel)]
        schemes: list[Scheme] = []
        for rule in active:
            if rule.scheme not in schemes:
                schemes.append(rule.scheme)
        self.calendar = Calendar(self.tz, schemes)
        self.book = EventBook()
        self.ledger = Ledger(
            self.calendar,
            clip,
            open_grace_us=round(channel.open_grace_s * US_PER_S),
            open_cap_us=round(channel.open_cap_s * US_PER_S),
        )
        self.rules: dict[str, BoundRule] = {}
        for rule in active:
            dates = channel.mourning_dates if isinstance(rule.dates, str) else frozenset(rule.dates)
            self.rules[rule.id] = BoundRule(rule, schemes.index(rule.scheme), dates)
        self._midnights: dict[date, int] = {}
        self.scanner = ItemRuleScanner(
            self.ledger, self.book.profiles.profiles, self.calendar, self.tz
        )
        #: Record one version for a bulk load without resolving it (see
        #: :meth:`EventBook.record`); ``True`` if it is new. The book's own
        #: method, bound here: the audit calls it once per event read.
        self.record: Callable[..., bool] = self.book.record

    # ----------------------------------------------------------------- input
    def apply(self, event: AsRunEvent) -> Change | None:
        """Apply one validated event; return the item change (``None`` = no-op)."""
        change = self.book.apply(event)
        if change is not None:
            self.ledger.apply(change)
        return change

    def load(self, events: Iterable[AsRunEvent]) -> tuple[int, int]:
        """Bulk-load ``events`` into an empty engine; return ``(recorded, duplicates)``.

        Every version is recorded, each event id resolved once and the ledger
        filled in one sweep: :meth:`record` each, :meth:`resolve`, :meth:`settle`. The
        result equals applying the same events one by one with :meth:`apply`
        (a property test holds it to that).
        """
        recorded = duplicates = 0
        record = self.record
        for event in events:
            if record(event):
                recorded += 1
            else:
                duplicates += 1
        self.resolve()
        self.settle()
        return recorded, duplicates

    def resolve(self) -> None:
        """Resolve every recorded id to its item (a bulk load's items, before :meth:`settle`)."""
        self.book.resolve()

    def settle(self) -> None:
        """End a bulk load: fill the ledger with the resolved items in one sweep.

        Call :meth:`resolve` first (a split load resolves each part, then
        :meth:`merge` resolves the ids both held: resolving all again would
        cost as much as the first time).
        """
        self.ledger.load(self.book.items())

    def recorded_ids(self) -> KeysView[str]:
        """The event ids with recorded versions (a live view)."""
        return self.book.recorded()

    def arrivals(self, ids: Iterable[str]) -> list[tuple[int, AsRunEvent]]:
        """The recorded versions of ``ids`` with their arrival numbers, in arrival order."""
        out = [pair for event_id in ids for pair in self.book.arrivals(event_id)]
        out.sort(key=itemgetter(0))
        return out

    def encoded_items(self) -> tuple[list[list[Any]], list[list[Any]]]:
        """The resolved items and their profiles as plain lists (checkpoint layout)."""
        return encode_items(self.book.profiles, self.book.resolve())

    def merge(
        self,
        versions: Iterable[tuple[int, AsRunEvent]],
        shared: set[str],
        encoded: tuple[list[list[Any]], list[list[Any]]],
    ) -> tuple[int, int]:
        """Join the other part of a split bulk load; return ``(recorded, duplicates)``.

        ``versions``: the other part's versions of the ``shared`` ids (held by
        both parts), recorded here and resolved again; ``encoded``: the
        other part's :meth:`encoded_items`, of which those not shared are
        adopted as they are. Call :meth:`settle` afterwards (everything is resolved).
        """
        recorded = duplicates = 0
        for arrival, event in versions:
            if self.book.record(event, arrival):
                recorded += 1
            else:
                duplicates += 1
        self.book.resolve_ids(shared)
        profiles, rows = encoded
        kept = [row for row in rows if row[0] not in shared] if shared else rows
        self.book.adopt(decode_items(self.channel.id, self.book.profiles, profiles, kept))
        return recorded, duplicates

    def capture(self, now: int) -> dict[str, Any]:
        """The engine's items as checkpoint data (:func:`efir.core.checkpoint.capture`)."""
        return capture(self.channel.id, self.book, now)

    def restore(self, data: dict[str, Any], since: int) -> int:
        """Fill this empty engine from checkpoint ``data``; return how many items it holds.

        Items starting before ``since`` are left out. Raises
        :class:`~efir.core.checkpoint.CheckpointError` for another format or
        channel, or damaged data.
        """
        return restore_checkpoint(self.channel.id, self.book, self.ledger, data, since)

    def needs_history(self, event_id: str) -> bool:
        """Whether ``event_id`` was restored from a checkpoint without its versions.

        Its stored versions must be passed to :meth:`hydrate` before
        :meth:`apply` takes a new version of it.
        """
        return self.book.needs_history(event_id)

    def hydrate(self, event_id: str, versions: Sequence[AsRunEvent]) -> Change | None:
        """Give a restored id its stored versions (arrival order); account any change."""
        change = self.book.hydrate(event_id, versions)
        if change is not None:
            self.ledger.apply(change)
        return change

    # ----------------------------------------------------------------- reads
    def __len__(self) -> int:
        """Items held (the event book's ids with an item or a cancellation)."""
        return len(self.book)

    def span(self) -> tuple[int, int] | None:
        """``[first start, last end)`` over primary items (µs UTC), ``None`` when empty."""
        return self.ledger.span()

    def on_air(self, now: int) -> Item | None:
        """The primary item on air at ``now`` (``None`` in a gap)."""
        return self.ledger.on_air(now)

    def aired(self, lo: int, hi: int, now: int | None = None) -> list[tuple[Item, int, int]]:
        """``(item, start, end)`` of the primary items aired in ``[lo, hi)``, clipped to it.

        The evidence of a window (reports): each item with the µs of it inside
        the window, in air order; open items count to ``now``.
        """
        return [
            (item, max(s, lo), min(e, hi))
            for item, s, e in self.ledger.aired(lo, hi, now, secondary=False)
            if min(e, hi) > max(s, lo)
        ]

    def airtime(self, lo: int, hi: int, now: int) -> int:
        """µs of primary airtime inside ``[lo, hi)``, open items counted to ``now``."""
        return sum(self.ledger.span_seconds(lo, hi, now).values())

    def next_boundary(self, now: int) -> int | None:
        """The earliest end after ``now`` of a window holding ``now`` (µs UTC), if any."""
        ends = [
            window[1]
            for scheme in range(len(self.calendar.schemes))
            if (window := self.ledger.window_at(scheme, now)) is not None and now < window[1]
        ]
        return min(ends, default=None)

    def overdue(self, now: int) -> list[tuple[Item, int]]:
        """Open items past their bound at ``now``, each with the bound it stopped counting at."""
        ledger = self.ledger
        return [(item, ledger.open_bound(item)) for item in ledger.overdue(now)]

    def windows(
        self,
        lo: int,
        hi: int,
        *,
        now: int | None = None,
        period: Period | None = None,
        rules: Sequence[str] | None = None,
    ) -> list[WindowResult]:
        """Evaluate every window of the active (or named) rules intersecting ``[lo, hi)``.

        ``now`` = the present: open items air up to it and, in live use, windows
        starting after it are skipped and windows ending after it get a live
        status. With ``period`` (an audit) every window gets a verdict and those
        not inside the period are ``partial``; open items air up to ``now``
        (the audit passes the period end).
        """
        ids = rules if rules is not None else list(self.rules)
        return self._windows_of([self.rules[rule_id] for rule_id in ids], lo, hi, now, period)

    def _windows_of(
        self,
        bound: Iterable[BoundRule],
        lo: int,
        hi: int,
        now: int | None,
        period: Period | None,
    ) -> list[WindowResult]:
        """Evaluate the windows of ``bound`` rules intersecting ``[lo, hi)`` (see ``windows``)."""
        out: list[WindowResult] = []
        for rt in bound:
            for ws, we in self.ledger.windows(rt.scheme, lo, hi):
                if now is not None and ws > now and period is None:
                    continue
                out.append(self._evaluate(rt, ws, we, now, period))
        return out

    def windows_under(
        self, rules: Iterable[Rule], lo: int, hi: int, *, now: int | None = None
    ) -> list[WindowResult]:
        """Windows intersecting ``[lo, hi)`` judged under ``rules``: the what-if.

        ``rules`` carry the ids of active rules with other thresholds
        (:func:`efir.core.rules.what_if`); an id that is not active here, or
        an active rule left out of ``rules``, gives no window.
        """
        bound = [
            BoundRule(rule, active.scheme, active.dates)
            for rule in rules
            if (active := self.rules.get(rule.id)) is not None
        ]
        return self._windows_of(bound, lo, hi, now, None)

    def status(self, now: int) -> list[WindowResult]:
        """Evaluate, per active rule, the window holding ``now`` (or the next one today)."""
        out: list[WindowResult] = []
        for rt in self.rules.values():
            window = self.ledger.window_at(rt.scheme, now)
            if window is None:
                window = self.calendar.next_window(self.calendar.schemes[rt.scheme], now)
                if window is not None:  # it may lie on a day with no data yet
                    self.ledger.ensure_days(self.calendar.days_between(*window))
            if window is not None:
                out.append(self._evaluate(rt, window[0], window[1], now, None))
        return out

    def rolling(self, rule_id: str, now: int) -> WindowResult:
        """Evaluate a share rule over the trailing seven days ``[now - 7 d, now)`` (trend view)."""
        rt = self.rules[rule_id]
        lo = now - ROLLING_US
        self.ledger.ensure_days(self.calendar.days_between(lo, now))
        atoms = self.ledger.atom_starts(lo, now)
        totals: Totals = {}
        edges = [(lo, atoms[0] if atoms else now)]
        if atoms:
            edges.append((self.ledger.atom_end(atoms[-1]), now))
        for s, e in edges:
            for pid, us in self.ledger.span_seconds(s, e, now).items():
                totals[pid] = totals.get(pid, 0) + us
        for a in atoms:
            for pid, us in self.ledger.seconds(self.ledger.atom_scheme, a).items():
                totals[pid] = totals.get(pid, 0) + us
        q, b, u, air = self._share_sums(rt, totals)
        threshold, transitional = rt.rule.threshold_for(lo, now, self._midnight)
        base = _blank_result(rule_id, lo, now, (now - lo - air), air, threshold, transitional)
        # A trend view is judged like a closed window ending now.
        return self._share_result(rt, base, (q, b, u), 0.0, now, closed=True, cut=False)

    def next_threshold(self, rule_id: str, now: int) -> tuple[float, int] | None:
        """The next scheduled threshold of a rule after ``now``: ``(value, from_us)``.

        ``from_us`` is local midnight of its effective date in the channel's
        zone (µs UTC); ``None`` when the rule has no change ahead. Dashboards
        draw it beside the threshold in force (the 55 % → 60 % step of 2027).
        """
        for t in self.rules[rule_id].rule.thresholds:
            if t.effective_from is not None:
                begins = self._midnight(t.effective_from)
                if begins > now:
                    return t.value, begins
        return None

    # ------------------------------------------------------------ evaluation
    def _midnight(self, day: date) -> int:
        us = self._midnights.get(day)
        if us is None:
            us = self._midnights[day] = local_midnight_us(day, self.tz)
        return us

    def _share_sums(self, rt: BoundRule, totals: Totals) -> tuple[float, float, float, int]:
        weights = rt.weights(self.book.profiles.profiles)
        q = b = u = 0.0
        air = 0
        for pid, us in totals.items():
            w = weights[pid]
            q += w.numerator * us
            b += w.base * us
            u += w.unknown * us
            air += us
        return q, b, u, air

    def _evaluate(
        self, rt: BoundRule, ws: int, we: int, now: int | None, period: Period | None
    ) -> WindowResult:
        """Evaluate one window, marking a lost status that unreported airtime could undo.

        A live window is *locked in* (``unavoidable``, ``exhausted``) only if it
        is lost even when every elapsed second not covered by a closed item
        (an open item's time, a gap the feed has not reported yet) turns out to
        be favourable; a closed window's ``violation`` only if it stands
        without open items. Otherwise the status is ``provisional`` and
        ``settled_status`` says what closed items alone show (docs/engine.md,
        "Open items and provisional statuses").
        """
        result = self._evaluate_once(rt, ws, we, now, period, with_open=True)
        if result.status not in _LOCKED or not rt.rule.is_share or now is None:
            return result
        if result.verdict is None:
            settled = self._settled_live(rt, ws, we, now, result)
        elif self.ledger.has_open:
            settled = self._evaluate_once(rt, ws, we, now, period, with_open=False).status
        else:
            return result
        if settled in _LOCKED:
            return result
        return replace(result, provisional=True, settled_status=settled)

    def _settled_live(
        self, rt: BoundRule, ws: int, we: int, now: int, result: WindowResult
    ) -> Status:
        """The live status if every elapsed second without a closed item were favourable."""
        rule = rt.rule
        q, b, _, air = self._share_sums(rt, self.ledger.seconds(rt.scheme, ws, None))
        elapsed = round((result.gap_s + result.airtime_s) * US_PER_S)
        unreported = max(elapsed - air, 0)
        b += unreported
        if rule.type is RuleType.MIN_SHARE:
            q += unreported
        live_from = max(ws, self.ledger.reported_until(we, now))
        remaining = self._airtime_left(live_from, we) / US_PER_S
        threshold = result.threshold
        if threshold is None:
            return result.status
        qs, bs = q / US_PER_S, b / US_PER_S
        if rule.type is RuleType.MIN_SHARE:
            return min_share_outlook(qs, bs, remaining, threshold, rule.critical_ratio).status
        return max_share_outlook(qs, bs, remaining, threshold, rule.margin_s)[0]

    def _evaluate_once(  # noqa: PLR0917 - the one evaluation, called twice at most
        self,
        rt: BoundRule,
        ws: int,
        we: int,
        now: int | None,
        period: Period | None,
        with_open: bool,
    ) -> WindowResult:
        rule = rt.rule
        ledger = self.ledger
        secs = ledger.seconds(rt.scheme, ws, now if with_open else None)
        q, b, u, air = self._share_sums(rt, secs) if rule.is_share else (0.0, 0.0, 0.0, 0)
        if not rule.is_share:
            air = sum(secs.values())
        # Elapsed part of the window inside the audited period: what a gap is measured on.
        lo, hi = ws, we
        if period is not None:
            lo, hi = max(lo, period.start), min(hi, period.end)
        if now is not None:
            hi = min(hi, max(now, lo))
        clip = ledger.clip
        if clip is not None:
            lo, hi = max(lo, clip[0]), max(min(hi, clip[1]), lo, clip[0])
        gap_us = max(hi - lo - air, 0)
        threshold, transitional = rule.threshold_for(ws, we, self._midnight)
        closed = now is None or we <= now or period is not None
        cut = period is not None and (ws < period.start or we > period.end)
        # Live outlook runs from the later of now and the window start (an
        # upcoming daypart window has all of its time still ahead).
        live_from = ws if now is None else max(ws, self.ledger.reported_until(we, now))
        # Airtime still to come: the rest of the window, or only its on-air hours
        # for a channel that signs off (docs/engine.md, "On-air hours").
        remaining = 0.0 if closed else self._airtime_left(live_from, we) / US_PER_S
        base = _blank_result(rule.id, ws, we, gap_us, air, threshold, transitional)
        if rule.is_share:
            return self._share_result(
                rt, base, (q, b, u), remaining, live_from, closed=closed, cut=cut
            )
        if rule.type is RuleType.MIN_COUNT:
            counts = ledger.counts(rt.scheme, ws, now)
            profiles = self.book.profiles.profiles
            count = sum(n for pid, n in counts.items() if rt.selected(pid, profiles))
            needed = threshold if threshold is not None else 0.0
            if not closed:
                status = count_outlook(count, needed, remaining, rule.margin_s)
                return replace(base, status=status, count=count)
            if count >= needed:
                verdict = Status.COMPLIES
            else:
                verdict = Status.PARTIAL if cut else Status.VIOLATION
            return replace(base, verdict=verdict, status=verdict, count=count)
        found, unknown_us = self.scanner.scan(rt, ws, we, now)
        occurrences = tuple(found)
        forbidden_verdict: Status | None = None
        if occurrences:
            forbidden_verdict = Status.VIOLATION
        elif closed:
            forbidden_verdict = Status.PARTIAL if cut else Status.COMPLIES
        return replace(
            base,
            verdict=forbidden_verdict,
            status=forbidden_verdict or Status.ON_TRACK,
            count=len(occurrences),
            occurrences=occurrences,
            unknown_s=unknown_us / US_PER_S if rule.unknown is not None else None,
        )

    def _share_result(
        self,
        rt: BoundRule,
        base: WindowResult,
        sums: tuple[float, float, float],
        remaining: float,
        live_from: int,
        *,
        closed: bool,
        cut: bool,
    ) -> WindowResult:
        rule = rt.rule
        q, b, u = sums
        threshold = base.threshold
        share = q / b if b > 0 else None
        needed = slack = budget = None
        deadline = None
        verdict: Status | None = None
        if threshold is None or (closed and share is None):
            status = Status.NOT_APPLICABLE
            verdict = status if closed else None
        elif closed:
            verdict = Status.COMPLIES if _meets(rule, q, b, threshold) else Status.VIOLATION
            if cut:
                verdict = Status.PARTIAL
            status = verdict
        else:
            qs, bs = q / US_PER_S, b / US_PER_S
            if rule.type is RuleType.MIN_SHARE:
                outlook = min_share_outlook(qs, bs, remaining, threshold, rule.critical_ratio)
                status, needed, slack = outlook.status, outlook.needed_s, outlook.slack_s
                if status not in (Status.SECURED, Status.UNAVOIDABLE):
                    deadline = self._after_airtime(live_from, round(slack * US_PER_S), base)
            else:
                status, budget = max_share_outlook(qs, bs, remaining, threshold, rule.margin_s)
        return replace(
            base,
            numerator_s=q / US_PER_S,
            base_s=b / US_PER_S,
            unknown_s=u / US_PER_S,
            share=share,
            verdict=verdict,
            status=status,
            needed_s=needed,
            slack_s=slack,
            deadline=deadline,
            budget_s=budget,
        )

    def _airtime_left(self, start: int, end: int) -> int:
        """µs the channel is meant to be on air in ``[start, end)`` (all of it if 24/7)."""
        schedule = self.channel.on_air
        return end - start if schedule.always else schedule.on_air_us(start, end, self.tz)

    def _after_airtime(self, start: int, airtime_us: int, w: WindowResult) -> int:
        """The instant ``airtime_us`` of on-air time after ``start`` (plain addition if 24/7)."""
        schedule = self.channel.on_air
        if schedule.always:
            return start + airtime_us
        return schedule.advance(start, airtime_us, w.window_end, self.tz)


def is_active(rule: Rule, channel: ChannelProfile) -> bool:
    """Whether ``rule`` is evaluated for ``channel`` (enabled, applicable, not switched off)."""
    if rule.id in channel.disable:
        return False
    if not (rule.enabled or rule.id in channel.enable):
        return False
    return rule.applies_to.covers(channel.media, channel.flags)


def _blank_result(  # noqa: PLR0917 - a constructor shorthand
    rule_id: str,
    start: int,
    end: int,
    gap_us: float,
    airtime_us: float,
    threshold: float | None,
    transitional: bool,
) -> WindowResult:
    """A result with the window's common figures; the rule type fills in the rest."""
    return WindowResult(
        rule=rule_id,
        window_start=start,
        window_end=end,
        numerator_s=None,
        base_s=None,
        unknown_s=None,
        gap_s=gap_us / US_PER_S,
        airtime_s=airtime_us / US_PER_S,
        share=None,
        threshold=threshold,
        transitional=transitional,
        verdict=None,
        status=Status.ON_TRACK,
    )


def judge_closed(
    rule: Rule,
    threshold: float | None,
    numerator_s: float | None,
    base_s: float | None,
    count: int | None,
) -> Status:
    """The verdict of a closed window from its stored figures under ``threshold`` (seconds).

    What a stored window would have been under other thresholds; item rules
    (``forbidden``) do not depend on a threshold and are not judged here.
    """
    if threshold is None:
        return Status.NOT_APPLICABLE
    if rule.type is RuleType.MIN_COUNT:
        return Status.COMPLIES if (count or 0) >= threshold else Status.VIOLATION
    if not base_s:
        return Status.NOT_APPLICABLE
    q, b = (numerator_s or 0.0) * US_PER_S, base_s * US_PER_S
    return Status.COMPLIES if _meets(rule, q, b, threshold) else Status.VIOLATION


def _meets(rule: Rule, q: float, b: float, threshold: float) -> bool:
    """Closed-window comparison with a sub-microsecond tolerance."""
    tolerance = EPSILON_S * US_PER_S
    if rule.type is RuleType.MIN_SHARE:
        return q >= threshold * b - tolerance
    return q <= threshold * b + tolerance


__all__ = ["ROLLING_US", "ChannelEngine", "Period", "is_active", "judge_closed"]
