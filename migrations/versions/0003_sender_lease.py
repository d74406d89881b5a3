"""The sender lease's fencing token: one epoch per advisory lock, bumped by each new leader.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sender_lease",
        sa.Column("lock_id", sa.BigInteger(), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("holder", sa.String(255), nullable=True),
        sa.Column("since_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("lock_id", name="pk_sender_lease"),
    )


def downgrade() -> None:
    op.drop_table("sender_lease")
