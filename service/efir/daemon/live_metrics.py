"""The live figures as Prometheus series: rules, windows of the week, feeds.

Registered on the process's registry (:class:`efir.metrics.Metrics`) by the
composition root; computed from the monitor at scrape time, so a scrape
always shows the status as of that instant.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from efir.core.status import LIVE_ORDER
from efir.core.timebase import US_PER_S, from_us, local_date, local_midnight_us
from efir.metrics import FEED_STATES, STATUSES, SUB_DAY_GRIDS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from efir.core.result import WindowResult
    from efir.daemon.cataloguing import Worklists
    from efir.daemon.monitor import Channel, Monitor


class LiveCollector(Collector):
    """The live per-channel and per-rule figures, computed from the monitor at scrape time."""

    def __init__(
        self, monitor: Monitor, now_us: Callable[[], int], worklists: Worklists | None = None
    ) -> None:
        """Export ``monitor``'s figures as of ``now_us()`` at each scrape."""
        self.monitor = monitor
        self.now_us = now_us
        self.worklists = worklists

    def describe(self) -> list[Metric]:
        """Nothing in advance: the series depend on the channels and rules."""
        return []

    def collect(self) -> Iterator[Metric]:
        """Every live series, one family at a time."""
        now = self.now_us()
        labels = ["channel", "rule"]
        share = GaugeMetricFamily(
            "efir_rule_share", "Share so far in the current window (0..1).", labels=labels
        )
        threshold = GaugeMetricFamily(
            "efir_rule_threshold", "Threshold in force (0..1 or a count).", labels=labels
        )
        numerator = GaugeMetricFamily(
            "efir_rule_numerator_seconds", "Qualifying seconds so far.", labels=labels
        )
        base = GaugeMetricFamily("efir_rule_base_seconds", "Base seconds so far.", labels=labels)
        unknown = GaugeMetricFamily(
            "efir_rule_unknown_seconds",
            "Base seconds whose deciding attribute is unknown.",
            labels=labels,
        )
        needed = GaugeMetricFamily(
            "efir_rule_needed_seconds",
            "Qualifying seconds still required (min_share).",
            labels=labels,
        )
        slack = GaugeMetricFamily(
            "efir_rule_slack_seconds",
            "Seconds that may pass without qualifying content (min_share).",
            labels=labels,
        )
        deadline = GaugeMetricFamily(
            "efir_rule_deadline_timestamp_seconds",
            "Latest start of qualifying content (Unix time).",
            labels=labels,
        )
        budget = GaugeMetricFamily(
            "efir_rule_budget_seconds",
            "Seconds of numerator content still allowed (max_share).",
            labels=labels,
        )
        window_end = GaugeMetricFamily(
            "efir_rule_window_end_timestamp_seconds",
            "End of the current window (Unix time).",
            labels=labels,
        )
        status = GaugeMetricFamily(
            "efir_rule_status", "1 for the rule's current status.", labels=[*labels, "status"]
        )
        rank = GaugeMetricFamily(
            "efir_rule_status_rank",
            "The rule's status as a number, worse is higher: "
            + ", ".join(f"{i} {s}" for i, s in enumerate(LIVE_ORDER))
            + ".",
            labels=labels,
        )
        next_threshold = GaugeMetricFamily(
            "efir_rule_next_threshold",
            "The next scheduled threshold (0..1 or a count), while one lies ahead.",
            labels=labels,
        )
        next_from = GaugeMetricFamily(
            "efir_rule_next_threshold_timestamp_seconds",
            "When the next threshold takes effect: local midnight (Unix time).",
            labels=labels,
        )
        planned = GaugeMetricFamily(
            "efir_rule_forecast_share",
            "Share at the current window's end if the rest airs as planned (with a plan).",
            labels=labels,
        )
        w_labels = [*labels, "window_start"]
        w_share = GaugeMetricFamily(
            "efir_window_share",
            "Share of each window shorter than a day in the last seven local days "
            "(closed and current); window_start is local wall time.",
            labels=w_labels,
        )
        w_numerator = GaugeMetricFamily(
            "efir_window_numerator_seconds",
            "Numerator seconds of each window shorter than a day in the last seven local days.",
            labels=w_labels,
        )
        feed = GaugeMetricFamily(
            "efir_feed_state", "1 for the channel's feed state.", labels=["channel", "state"]
        )
        last_event = GaugeMetricFamily(
            "efir_feed_last_event_timestamp_seconds",
            "Receipt of the channel's last event (Unix time).",
            labels=["channel"],
        )
        last_heard = GaugeMetricFamily(
            "efir_feed_last_heard_timestamp_seconds",
            "Last event or heartbeat (Unix time).",
            labels=["channel"],
        )
        beyond = CounterMetricFamily(
            "efir_events_beyond_horizon",
            "Events stored but not counted live: their instant lies before the live horizon.",
            labels=["channel"],
        )
        for ch in self.monitor.channels.values():
            cid = ch.profile.id
            beyond.add_metric([cid], ch.beyond_horizon)
            state = self.monitor.feed_state(ch, now)
            for s in FEED_STATES:
                feed.add_metric([cid, s], 1.0 if s == state else 0.0)
            if ch.feed.last_event_us is not None:
                last_event.add_metric([cid], ch.feed.last_event_us / US_PER_S)
            if ch.feed.last_heard_us is not None:
                last_heard.add_metric([cid], ch.feed.last_heard_us / US_PER_S)
            _add_forecasts(ch, now, results := ch.status(now), planned)
            for w in results:
                key = [cid, w.rule]
                for family, value in (
                    (share, w.share),
                    (threshold, w.threshold),
                    (numerator, w.numerator_s),
                    (base, w.base_s),
                    (unknown, w.unknown_s),
                    (needed, w.needed_s),
                    (slack, w.slack_s),
                    (budget, w.budget_s),
                ):
                    if value is not None:
                        family.add_metric(key, float(value))
                if w.deadline is not None:
                    deadline.add_metric(key, w.deadline / US_PER_S)
                window_end.add_metric(key, w.window_end / US_PER_S)
                for s in STATUSES:
                    status.add_metric([*key, s], 1.0 if s == w.status else 0.0)
                rank.add_metric(key, float(LIVE_ORDER.index(w.status)))
                ahead = ch.engine.next_threshold(w.rule, now)
                if ahead is not None:
                    next_threshold.add_metric(key, ahead[0])
                    next_from.add_metric(key, ahead[1] / US_PER_S)
            _add_week(ch, now, w_share, w_numerator)
        yield from (share, threshold, numerator, base, unknown, needed, slack, deadline, budget)
        yield from (window_end, status, rank, next_threshold, next_from, w_share, w_numerator)
        yield from (feed, last_event, last_heard, beyond, planned, *self._unclassified(now))

    def _unclassified(self, now: int) -> Iterator[Metric]:
        if self.worklists is None:
            return
        family = GaugeMetricFamily(
            "efir_unclassified_seconds",
            "Airtime of the last seven days without a language (or, for programmes and "
            "music, an origin): what the catalogue should say (GET .../unclassified).",
            labels=["channel"],
        )
        for cid, ch in self.monitor.channels.items():
            family.add_metric([cid], sum(u.seconds for u in self.worklists.of(ch, now)))
        yield family


def _add_forecasts(
    ch: Channel, now: int, results: list[WindowResult], planned: GaugeMetricFamily
) -> None:
    for rule_id, f in ch.forecasts(now, results).items():
        if f.share is not None:
            planned.add_metric([ch.profile.id, rule_id], f.share)


def _add_week(
    ch: Channel, now: int, share: GaugeMetricFamily, numerator: GaugeMetricFamily
) -> None:
    for w in _last_seven_days(ch, now):
        start = from_us(w.window_start, ch.engine.tz).strftime("%Y-%m-%d %H:%M")
        key = [ch.profile.id, w.rule, start]
        if w.share is not None:
            share.add_metric(key, w.share)
        if w.numerator_s is not None:
            numerator.add_metric(key, w.numerator_s)


def _last_seven_days(ch: Channel, now: int) -> list[WindowResult]:
    """Windows shorter than a day, of share rules, from local midnight six days ago to ``now``.

    The history per interval (four six-hour intervals a day, the evening
    hours) is what a channel dashboard draws as bars. Seven days rather than
    "since Monday" so a Monday morning still shows a week of evening hours;
    windows that have not started are left out. Longer windows have one value
    at a time and are covered by ``efir_rule_*``.
    """
    tz = ch.engine.tz
    lo = local_midnight_us(local_date(now, tz) - timedelta(days=6), tz)
    rules = [
        rid
        for rid, bound in ch.engine.rules.items()
        if bound.rule.is_share and bound.rule.scheme.grid in SUB_DAY_GRIDS
    ]
    if not rules:
        return []
    return ch.engine.windows(lo, now, now=now, rules=rules)
