"""A source: known only by the id derived from their receipt."""

from __future__ import annotations

import datetime

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Source(Base):
    """One source identity: the receipt-derived id and the reply public keys."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex of 32 bytes
    reply_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    # X-Wing (hybrid) reply key: replies are sealed to it when present. None for sources
    # made before migration 0004 until their next login derives it from the receipt.
    reply_xwing_public_key: Mapped[bytes | None] = mapped_column(LargeBinary(1216), default=None)
    created_day: Mapped[datetime.date] = mapped_column(Date)
