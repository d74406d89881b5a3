"""Engine checkpoints: each instance's resolved items per channel, so restart skips replay.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("upto_id", sa.BigInteger(), nullable=False),
        sa.Column("taken_us", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "holder", name="pk_checkpoints"),
    )


def downgrade() -> None:
    op.drop_table("checkpoints")
