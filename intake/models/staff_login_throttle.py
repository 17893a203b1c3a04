"""Failed staff logins, counted per login name (known or not) under a keyed hash of it."""

from __future__ import annotations

import datetime

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class StaffLoginThrottle(Base):
    """One name someone tried: failures and the wait they earned. The name itself is not kept.

    Every name gets a row, whether or not an account has it, so throttling cannot tell a
    real name from an unknown one.
    """

    __tablename__ = "staff_login_throttle"

    name_tag: Mapped[str] = mapped_column(String(64), primary_key=True)  # StaffKey.name_tag
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[int] = mapped_column(BigInteger, default=0)  # unix seconds
    day: Mapped[datetime.date] = mapped_column(Date, index=True)  # last attempt, for purging
