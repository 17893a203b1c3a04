"""Intake tables: sources, envelopes, replies, source sessions.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("reply_public_key", sa.LargeBinary(32), nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_sources"),
    )
    op.create_table(
        "envelopes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("received_day", sa.Date(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("exported_day", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_envelopes_source_id_sources",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_envelopes"),
    )
    op.create_index("ix_envelopes_source_id", "envelopes", ["source_id"])
    op.create_index("ix_envelopes_state", "envelopes", ["state"])
    op.create_table(
        "replies",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name="fk_replies_source_id_sources",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_replies"),
    )
    op.create_index("ix_replies_source_id", "replies", ["source_id"])
    op.create_table(
        "source_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("created_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name="pk_source_sessions"),
    )
    op.create_index("ix_source_sessions_created_day", "source_sessions", ["created_day"])


def downgrade() -> None:
    op.drop_table("source_sessions")
    op.drop_table("replies")
    op.drop_table("envelopes")
    op.drop_table("sources")
