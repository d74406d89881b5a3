"""The catalogue (house numbers and ISRCs to kind, language, origin) and its journal.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "catalogue",
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("key_field", sa.String(16), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", "key_field", "key", name="pk_catalogue"),
    )
    op.create_table(
        "catalogue_journal",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("key_field", sa.String(16), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_catalogue_journal"),
    )
    op.create_index("ix_catalogue_journal_at_us", "catalogue_journal", ["at_us"])


def downgrade() -> None:
    op.drop_index("ix_catalogue_journal_at_us", table_name="catalogue_journal")
    op.drop_table("catalogue_journal")
    op.drop_table("catalogue")
