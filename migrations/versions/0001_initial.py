"""Initial schema: channels, events, dead letters, window results.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("media", sa.String(8), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("rule_pack", sa.String(255), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("adapter_status", sa.String(16), nullable=True),
        sa.Column("last_event_us", sa.BigInteger(), nullable=True),
        sa.Column("last_heartbeat_us", sa.BigInteger(), nullable=True),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channels"),
    )
    op.create_table(
        "events",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("phase", sa.String(16), nullable=False),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint(
            "channel_id", "event_id", "digest", name="uq_events_channel_id_event_id_digest"
        ),
    )
    op.create_index("ix_events_channel_id_at_us", "events", ["channel_id", "at_us"])
    op.create_index("ix_events_received_us", "events", ["received_us"])
    op.create_table(
        "dead_letters",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("topic", sa.String(512), nullable=True),
        sa.Column("channel_id", sa.String(64), nullable=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("replayed_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_dead_letters"),
    )
    op.create_index("ix_dead_letters_received_us", "dead_letters", ["received_us"])
    op.create_table(
        "window_results",
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("window_start_us", sa.BigInteger(), nullable=False),
        sa.Column("window_end_us", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("revised_from", sa.String(16), nullable=True),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "rule", "window_start_us", name="pk_window_results"),
    )


def downgrade() -> None:
    op.drop_table("window_results")
    op.drop_index("ix_dead_letters_received_us", table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_index("ix_events_received_us", table_name="events")
    op.drop_index("ix_events_channel_id_at_us", table_name="events")
    op.drop_table("events")
    op.drop_table("channels")
