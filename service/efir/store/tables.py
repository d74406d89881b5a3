"""Table definitions (Alembic migrations in ``migrations/`` own the schema).

These definitions must match the migrations; a test compares them.

Instants are integer microseconds since the epoch (UTC), like the core.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

#: SQLite only auto-increments an ``INTEGER PRIMARY KEY``.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

channels = Table(
    "channels",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("media", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("rule_pack", String(255), nullable=False),
    Column("config", JSON, nullable=False),
    Column("adapter_status", String(16), nullable=True),
    Column("last_event_us", BigInteger, nullable=True),
    Column("last_heartbeat_us", BigInteger, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
)

#: Append-only: every version of every event, with when and how it arrived.
events = Table(
    "events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel_id", String(64), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("phase", String(16), nullable=False),
    # The item start, or for a cancel the receipt time: what restart loads by.
    Column("at_us", BigInteger, nullable=False),
    # SHA-256 of the canonical event: an identical re-delivery is stored once.
    Column("digest", String(64), nullable=False),
    Column("received_us", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    UniqueConstraint("channel_id", "event_id", "digest"),
    Index(None, "channel_id", "at_us"),
    Index(None, "received_us"),
)

#: Planned schedules, every version kept: each replaces the plan over its span.
plans = Table(
    "plans",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel_id", String(64), nullable=False),
    Column("received_us", BigInteger, nullable=False),
    # [span_start_us, span_end_us): what this version replaces.
    Column("span_start_us", BigInteger, nullable=False),
    Column("span_end_us", BigInteger, nullable=False),
    Column("source", String(200), nullable=False),
    # The planned items as efir.asrun/1 JSON lines (what the readers understood).
    Column("events", LargeBinary, nullable=False),
    Index(None, "channel_id", "span_end_us"),
)

#: Payloads that could not be accepted, with the reason; replayable.
dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("received_us", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("topic", String(512), nullable=True),
    Column("channel_id", String(64), nullable=True),
    Column("code", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    # The payload as received, or its first DEAD_LETTER_PREFIX bytes when it
    # was larger than an event may be (then its size and SHA-256 are kept).
    Column("payload", LargeBinary, nullable=False),
    Column("replayed_us", BigInteger, nullable=True),
    Column("payload_size", BigInteger, nullable=True),
    Column("payload_sha256", String(64), nullable=True),
    Column("replay_attempts", Integer, nullable=True),
    Column("last_replay_us", BigInteger, nullable=True),
    Index(None, "received_us"),
)

#: Figures of windows that have closed (history without replay; revisions kept).
window_results = Table(
    "window_results",
    metadata,
    Column("channel_id", String(64), primary_key=True),
    Column("rule", String(64), primary_key=True),
    Column("window_start_us", BigInteger, primary_key=True),
    Column("window_end_us", BigInteger, nullable=False),
    Column("verdict", String(16), nullable=False),
    Column("figures", JSON, nullable=False),
    # 0 for the first verdict; +1 each time a late event changes the figures.
    Column("revision", Integer, nullable=False),
    Column("revised_from", String(16), nullable=True),
    Column("updated_us", BigInteger, nullable=False),
)

#: Each instance's latest engine checkpoint per channel (efir.core.checkpoint,
#: JSON, zlib-compressed): restart restores it and replays only later rows.
checkpoints = Table(
    "checkpoints",
    metadata,
    Column("channel_id", String(64), primary_key=True),
    # The instance (MQTT client id): each restores what it had itself.
    Column("holder", String(64), primary_key=True),
    # Every own event row up to this id was applied when the checkpoint was taken.
    Column("upto_id", BigInteger, nullable=False),
    Column("taken_us", BigInteger, nullable=False),
    Column("format", String(32), nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# ------------------------------------------------------------------ alerts
#: Current alert states (the core's Alert as JSON), one row per fingerprint.
alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(16), primary_key=True),
    Column("channel_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("data", JSON, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

#: What each receiver was last told about each alert (the planner's ``Sent``).
alert_sent = Table(
    "alert_sent",
    metadata,
    Column("receiver", String(64), primary_key=True),
    Column("fingerprint", String(16), primary_key=True),
    Column("episode", BigInteger, nullable=False),
    Column("severity", String(16), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("resolved", Integer, nullable=False),
)

#: Notification groups (receiver, channel): last sent, and since when changes wait.
alert_groups = Table(
    "alert_groups",
    metadata,
    Column("receiver", String(64), primary_key=True),
    Column("channel_id", String(64), primary_key=True),
    Column("last_sent_us", BigInteger, nullable=True),
    Column("waiting_since_us", BigInteger, nullable=True),
)

silences = Table(
    "silences",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("matchers", JSON, nullable=False),
    Column("starts_us", BigInteger, nullable=False),
    Column("ends_us", BigInteger, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_us", BigInteger, nullable=False),
)

#: Audit trail: acknowledgements, silences, re-sends, receiver changes, transitions.
alert_journal = Table(
    "alert_journal",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("fingerprint", String(16), nullable=True),
    Column("actor", String(255), nullable=True),
    Column("detail", JSON, nullable=False),
    Index(None, "at_us"),
)

#: The durable outbox: one row per notification to one receiver. ``id`` is the
#: ``webhook-id``, the same on every attempt; ``body`` the exact bytes sent.
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("receiver", String(64), nullable=False),
    Column("channel_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # pending | delivered | failed
    Column("summary", Text, nullable=False),
    Column("body", JSON, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("delivered_us", BigInteger, nullable=True),
    Column("updated_us", BigInteger, nullable=False),
    Index(None, "status", "next_attempt_us"),
)

#: Every delivery attempt.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("outbox_id", String(40), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered | retry | failed | gone
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
    Index(None, "outbox_id"),
)

#: Receivers disabled at run time (``410 Gone``), until enabled through the API.
receiver_state = Table(
    "receiver_state",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("disabled_us", BigInteger, nullable=True),
    Column("reason", Text, nullable=True),
)

#: The sender lease's fencing token (active/standby on PostgreSQL): each instance
#: that takes the advisory lock bumps ``epoch``; alert commits check it, so an
#: instance that lost the lock without noticing yet cannot commit a plan.
sender_lease = Table(
    "sender_lease",
    metadata,
    Column("lock_id", BigInteger, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
    Column("holder", String(255), nullable=True),
    Column("since_us", BigInteger, nullable=True),
)


#: The catalogue: one row per key and channel (``channel_id`` ``""``: every channel);
#: ``data`` the entry's fields (efir.core.catalogue.Entry).
catalogue = Table(
    "catalogue",
    metadata,
    Column("channel_id", String(64), primary_key=True),
    Column("key_field", String(16), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("data", JSON, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

#: Who changed which catalogue entry, when, from what to what.
catalogue_journal = Table(
    "catalogue_journal",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at_us", BigInteger, nullable=False),
    Column("actor", String(255), nullable=True),
    Column("action", String(16), nullable=False),  # put | delete
    Column("channel_id", String(64), nullable=False),
    Column("key_field", String(16), nullable=False),
    Column("key", String(128), nullable=False),
    Column("before", JSON, nullable=True),
    Column("after", JSON, nullable=True),
    Index(None, "at_us"),
)


#: The fleet (docs/scaling.md): one row per running instance (``mqtt.client_id``),
#: refreshed every few seconds, so that any instance can say which one serves a
#: channel of another shard. ``leader`` 1 while it holds its shard's sender lease.
instances = Table(
    "instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shard", String(64), nullable=True),
    Column("url", String(500), nullable=True),
    Column("leader", Integer, nullable=False),
    Column("version", String(64), nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("seen_us", BigInteger, nullable=False),
    Column("channels", Integer, nullable=False),
    Column("config", String(16), nullable=False),
)
