"""Prometheus metrics on Efir's own registry (never the global one).

Counters and gauges of the ingest path are updated as things happen; the
per-channel, per-rule figures are computed from the live state at scrape
time, so a scrape always shows the status as of that instant.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)

from efir import __version__
from efir.core.calendar import Grid
from efir.core.feed import FeedState
from efir.core.status import Status

# The text format's ``*_created`` series (one per counter and histogram child)
# double what Prometheus stores and no dashboard or rule of Efir reads them.
disable_created_metrics()  # type: ignore[no-untyped-call] # prometheus-client leaves it unannotated


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
    "foreign_channel",
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
        # The fleet (docs/scaling.md): every instance says which shard it serves and
        # what it sees of the others, so Prometheus has the whole fleet from any one.
        self.shard = Info(
            "efir_shard",
            "The shard this instance serves ('' without shards) and its client id.",
            registry=r,
        )
        self.fleet_instances = Gauge(
            "efir_fleet_instances",
            "Instances of each shard ('': no shards) heard from in the last 10 s, seen from here.",
            ["shard"],
            registry=r,
        )
        self.fleet_leaders = Gauge(
            "efir_fleet_leaders",
            "Instances of each shard holding its sender lease, as this one sees them.",
            ["shard"],
            registry=r,
        )
        self.fleet_consistent = Gauge(
            "efir_fleet_config_consistent",
            "1 while every running instance reports the channel list and shards this one runs.",
            registry=r,
        )
        self.fleet_consistent.set(1)
        self.foreign = Counter(
            "efir_events_foreign",
            "Messages for channels another shard serves, acknowledged and left to it.",
            ["shard"],
            registry=r,
        )

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
