"""A sealed envelope stored under DIR/storage: only its size, kind and day are known here."""

from __future__ import annotations

import datetime

from sqlalchemy import BigInteger, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

PENDING = "pending"
EXPORTED = "exported"
KINDS = ("message", "file")


class Envelope(Base):
    """One message or file, sealed; the row is written after the file is in place."""

    __tablename__ = "envelopes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random hex, the file name
    source_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    size: Mapped[int] = mapped_column(BigInteger)  # bytes of the sealed envelope on disk
    kind: Mapped[str] = mapped_column(String(16))
    received_day: Mapped[datetime.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    exported_day: Mapped[datetime.date | None] = mapped_column(Date, default=None)
