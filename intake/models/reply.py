"""A staff reply, stored exactly as the offline side signed it (sealed to the source)."""

from __future__ import annotations

import datetime

from sqlalchemy import Date, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Reply(Base):
    """One signed reply statement for one source."""

    __tablename__ = "replies"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the signed reply id
    source_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("sources.id", ondelete="CASCADE"), index=True
    )
    statement: Mapped[bytes] = mapped_column(LargeBinary)
    created_day: Mapped[datetime.date] = mapped_column(Date)
