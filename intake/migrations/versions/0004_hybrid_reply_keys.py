"""Sources keep an X-Wing (hybrid post-quantum) reply public key beside the X25519 one.

Nullable: sources made before this revision have none until they next log in with their
receipt, which derives it (docs/envelope-format.md, "Reply sealing").

Revision ID: 0004
Revises: 0003_staff_login
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003_staff_login"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sources", sa.Column("reply_xwing_public_key", sa.LargeBinary(1216)))


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("reply_xwing_public_key")
