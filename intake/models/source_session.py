"""A returning source's session: useless without the key held only by the cookie."""

from __future__ import annotations

import datetime

from sqlalchemy import Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class SourceSession(Base):
    """Hash of the session id, and the secret part (source id, reply key, expiry) sealed."""

    __tablename__ = "source_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_day: Mapped[datetime.date] = mapped_column(Date, index=True)
