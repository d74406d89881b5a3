"""Planned schedules: every version kept, each replacing the plan over its span.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "plans",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("received_us", sa.BigInteger(), nullable=False),
        sa.Column("span_start_us", sa.BigInteger(), nullable=False),
        sa.Column("span_end_us", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("events", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_plans"),
    )
    op.create_index("ix_plans_channel_id_span_end_us", "plans", ["channel_id", "span_end_us"])


def downgrade() -> None:
    op.drop_index("ix_plans_channel_id_span_end_us", table_name="plans")
    op.drop_table("plans")
