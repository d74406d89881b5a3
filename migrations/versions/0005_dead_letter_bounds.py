"""Dead letters keep the size and hash of a payload cut to a prefix, and their replays.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.add_column(sa.Column("payload_size", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("payload_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("replay_attempts", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("last_replay_us", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dead_letters") as batch:
        batch.drop_column("last_replay_us")
        batch.drop_column("replay_attempts")
        batch.drop_column("payload_sha256")
        batch.drop_column("payload_size")
