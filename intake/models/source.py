"""A source: known only by the id derived from their receipt."""

from __future__ import annotations

import datetime

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Source(Base):
    """One source identity: the receipt-derived id and the reply public key."""

    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex of 32 bytes
    reply_public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_day: Mapped[datetime.date] = mapped_column(Date)
