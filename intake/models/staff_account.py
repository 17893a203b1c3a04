"""A staff account of the staff app: password hash, sealed TOTP secret."""

from __future__ import annotations

import datetime

from sqlalchemy import BigInteger, Boolean, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class StaffAccount(Base):
    """One person who may move bundles through the staff app (never reads a tip)."""

    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # Argon2id, libsodium's str format
    # Sealed under the staff key file (intake/staff_key.py), never in the clear.
    totp_secret: Mapped[str] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    # Changed on logout and password change: every cookie carrying the old one is dead.
    session_nonce: Mapped[str] = mapped_column(String(32))
    # The last TOTP time step accepted: a code is never accepted twice.
    last_totp_step: Mapped[int] = mapped_column(BigInteger, default=0)
    created_day: Mapped[datetime.date] = mapped_column(Date)
