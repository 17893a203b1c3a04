"""The staff audit: who did what, which day; counts only, never anything about a source."""

from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import StaffAudit

OPERATOR = "operator (command line)"
MAX_DETAIL = 200


def record_action(
    db: Session, actor: str, action: str, detail: str, today: datetime.date
) -> StaffAudit:
    """Add one audit entry (the caller commits, together with the action itself)."""
    entry = StaffAudit(day=today, actor=actor[:64], action=action[:32], detail=detail[:MAX_DETAIL])
    db.add(entry)
    return entry


def recent_actions(db: Session, limit: int = 50) -> list[StaffAudit]:
    """The latest entries, newest first."""
    query = select(StaffAudit).order_by(StaffAudit.id.desc()).limit(limit)
    return list(db.scalars(query))
