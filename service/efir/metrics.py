"""Prometheus metrics on Efir's own registry (never the global one).

Counters and gauges of the ingest path are updated as things happen; the
per-channel, per-rule figures are computed from the live state at scrape
time, so a scrape always shows the status as of that instant.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from efir import __version__
from efir.core.calendar import Grid
from efir.core.status import LIVE_ORDER, Status
from efir.core.timebase import US_PER_S, from_us, local_date, local_midnight_us
from efir.daemon.monitor import FeedState

# The text format's ``*_created`` series (one per counter and histogram child)
# double what Prometheus stores and no dashboard or rule of Efir reads them.
disable_created_metrics()  # type: ignore[no-untyped-call] # prometheus-client leaves it unannotated

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from efir.core.result import WindowResult
    from efir.daemon.monitor import Channel, Monitor

#: Every status a rule can be in; exported one-hot so alerts can match a value.
STATUSES = tuple(s.value for s in Status)
FEED_STATES = tuple(s.value for s in FeedState)
#: Dead-letter reason codes (``efir.schema.asrun`` and the ingest checks).
REJECT_REASONS = (
    "malformed_json",
    "missing_field",
    "invalid_field",
    "invalid",
    "oversized",
    "channel_mismatch",
    "unknown_channel",
)
#: Outcomes of a notification attempt (``efir.notify.send.classify``).
NOTIFY_OUTCOMES = ("delivered", "retry", "failed", "gone")
#: Grids whose windows of the week are exported one series per window.
SUB_DAY_GRIDS = frozenset({Grid.HOUR, Grid.SIX_HOUR})


class Metrics:
    """The daemon's metrics. One instance per process (or per test)."""

    def __init__(self) -> None:
        """Create every metric on a fresh registry."""
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.ingested = Counter(
            "efir_events_ingested",
            "Event versions committed to the store, per channel and source.",
            ["channel", "source"],
            registry=r,
        )
        self.rejected = Counter(
            "efir_events_rejected",
            "Payloads sent to dead letters, per reason code.",
            ["reason"],
            registry=r,
        )
        self.ingest_lag = Histogram(
            "efir_ingest_lag_seconds",
            "From receipt of an event to its commit and counter update.",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=r,
        )
        self.queue_depth = Gauge(
            "efir_ingest_queue_depth", "Events waiting for the store.", registry=r
        )
        self.queue_capacity = Gauge(
            "efir_ingest_queue_capacity", "Size of the ingest queue.", registry=r
        )
        self.batches = Counter("efir_store_batches", "Committed write batches.", registry=r)
        self.store_errors = Counter(
            "efir_store_errors", "Failed store operations (retried).", registry=r
        )
        self.store_up = Gauge("efir_store_up", "1 when the database accepts writes.", registry=r)
        self.mqtt_connected = Gauge(
            "efir_mqtt_connected", "1 while connected to the MQTT broker.", registry=r
        )
        self.mqtt_connects = Counter(
            "efir_mqtt_connects", "Successful MQTT connections (including reconnects).", registry=r
        )
        self.mqtt_sessions_lost = Counter(
            "efir_mqtt_sessions_lost",
            "Reconnections on which the broker no longer held Efir's session: events "
            "published while Efir was away (or queued for it) may be missing.",
            registry=r,
        )
        self.checkpoint_seconds = Histogram(
            "efir_checkpoint_duration_seconds",
            "Taking and storing one channel's checkpoint.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.checkpoint_bytes = Gauge(
            "efir_checkpoint_bytes",
            "Size of the channel's latest checkpoint.",
            ["channel"],
            registry=r,
        )
        self.checkpoint_time = Gauge(
            "efir_checkpoint_time_seconds",
            "When the channel's latest checkpoint was taken (Unix time).",
            ["channel"],
            registry=r,
        )
        self.hydrated = Counter(
            "efir_checkpoint_hydrations",
            "Restored event ids given their stored versions because a new version arrived.",
            registry=r,
        )
        self.compaction_seconds = Histogram(
            "efir_compaction_duration_seconds",
            "Compacting one channel's live state (events wait meanwhile).",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.restart_seconds = Gauge(
            "efir_restart_duration_seconds",
            "From opening the store to a ready live state, at this start.",
            registry=r,
        )
        self.window_revisions = Counter(
            "efir_window_revisions",
            "Closed windows whose figures changed after a late event.",
            ["channel", "rule"],
            registry=r,
        )
        self.notifications = Counter(
            "efir_notification_attempts",
            "Notification delivery attempts, per receiver and outcome "
            "(delivered, retry, failed, gone).",
            ["receiver", "outcome"],
            registry=r,
        )
        self.am_refreshes = Counter(
            "efir_alertmanager_refreshes",
            "Re-pushes of firing alerts to Alertmanager receivers, per outcome.",
            ["receiver", "outcome"],
            registry=r,
        )
        self.notify_latency = Histogram(
            "efir_notification_latency_seconds",
            "From planning a notification to its delivery (includes retries).",
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 60, 300, 1800, 3600),
            registry=r,
        )
        self.outbox_pending = Gauge(
            "efir_outbox_pending",
            "Notifications waiting in the outbox for delivery, per receiver.",
            ["receiver"],
            registry=r,
        )
        self.alerts = Gauge(
            "efir_alerts",
            "Alerts per channel, state (pending, firing) and severity.",
            ["channel", "state", "severity"],
            registry=r,
        )
        self.leader = Gauge(
            "efir_leader",
            "1 while this instance is the one that sends notifications.",
            registry=r,
        )
        self.receiver_up = Gauge(
            "efir_receiver_enabled",
            "1 while a receiver is enabled, 0 after it answered 410 Gone.",
            ["receiver"],
            registry=r,
        )
        self.ready = Gauge(
            "efir_ready", "1 while /readyz answers ready (state, store, broker, queue).", registry=r
        )
        self.build = Info("efir_build", "The running Efir version.", registry=r)
        self.build.info({"version": __version__})
        self.up_since = Gauge(
            "efir_start_time_seconds", "When this Efir process started (Unix time).", registry=r
        )
        self.up_since.set(time.time())

    def known_labels(self, receivers: list[str]) -> None:
        """Create the labelled series known in advance at zero.

        A counter that has never moved has no series at all, so a dashboard
        panel or an ``increase()`` alert on it would see nothing rather than
        0 on a healthy install.
        """
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        for receiver in receivers:
            self.outbox_pending.labels(receiver).set(0)
            for outcome in NOTIFY_OUTCOMES:
                self.notifications.labels(receiver, outcome)

    def watch(self, monitor: Monitor, now_us: Callable[[], int]) -> None:
        """Export the live per-channel and per-rule figures of ``monitor``."""
        self.registry.register(_LiveCollector(monitor, now_us))


class _LiveCollector(Collector):
    def __init__(self, monitor: Monitor, now_us: Callable[[], int]) -> None:
        self.monitor = monitor
        self.now_us = now_us

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
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
            for w in ch.status(now):
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
        yield from (feed, last_event, last_heard, beyond)


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
