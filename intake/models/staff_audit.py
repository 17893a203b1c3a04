"""The audit of staff and operator actions: who, what, which day. Never source data."""

from __future__ import annotations

import datetime

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class StaffAudit(Base):
    """One action: an export, a reply import, an ack, a purge, a login, an account change."""

    __tablename__ = "staff_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[datetime.date] = mapped_column(Date, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # a staff name, or "operator" for the CLI
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(String(200))  # counts and sizes only
