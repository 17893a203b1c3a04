"""Staff login: failed logins counted per name tag (known names or not), room for sealed
TOTP secrets.

The secrets themselves are sealed by the application the first time it opens the instance
(intake/staff_key.py: the key lives in a file, which a migration cannot see).

Revision ID: 0003_staff_login
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_staff_login"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_login_throttle",
        sa.Column("name_tag", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("name_tag", name="pk_staff_login_throttle"),
    )
    op.create_index("ix_staff_login_throttle_day", "staff_login_throttle", ["day"])
    with op.batch_alter_table("staff_accounts") as batch:
        batch.alter_column(
            "totp_secret", existing_type=sa.String(64), type_=sa.String(255), nullable=False
        )
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    # Sealed secrets do not fit the old column and cannot be opened here: refuse rather
    # than lose every account's TOTP secret.
    bind = op.get_bind()
    sealed = bind.execute(
        sa.text("SELECT count(*) FROM staff_accounts WHERE totp_secret LIKE 'sealed1:%'")
    ).scalar()
    if sealed:
        raise RuntimeError(
            "staff accounts hold sealed TOTP secrets: remove them (sealdrop staff remove) "
            "before downgrading below 0003_staff_login"
        )
    with op.batch_alter_table("staff_accounts") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("locked_until", sa.BigInteger(), nullable=False, server_default="0"))
        batch.alter_column(
            "totp_secret", existing_type=sa.String(255), type_=sa.String(64), nullable=False
        )
    op.drop_index("ix_staff_login_throttle_day", table_name="staff_login_throttle")
    op.drop_table("staff_login_throttle")
