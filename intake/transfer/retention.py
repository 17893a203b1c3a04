"""Retention (`sealdrop purge`): old replies and sessions go; envelopes only by explicit rule.

Every rule is a number of days in [retention] of config.toml; 0 means "no rule: keep".
Pending envelopes are never purged. Exported envelopes nobody acked are kept and reported,
unless `exported_unacked_days` is set: only then are they deleted (file, then row).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..config import Retention
from ..models import EXPORTED, Envelope, Reply, SourceSession
from ..storage import EnvelopeStore
from .summary import Pile


@dataclass
class PurgeResult:
    """What a purge deleted, and the exported-unacked envelopes it kept."""

    replies_deleted: int = 0
    sessions_deleted: int = 0
    envelopes_deleted: list[str] = field(default_factory=list)
    exported_kept: Pile = field(default_factory=lambda: Pile(0, 0))
    oldest_exported_day: datetime.date | None = None


def _cutoff(today: datetime.date, days: int) -> datetime.date:
    return today - datetime.timedelta(days=days)


def purge(db: Session, store: EnvelopeStore, rules: Retention, today: datetime.date) -> PurgeResult:
    """Apply the retention rules as of `today` (commits)."""
    result = PurgeResult()
    if rules.reply_days:
        deleted = db.execute(
            delete(Reply).where(Reply.created_day < _cutoff(today, rules.reply_days))
        )
        result.replies_deleted = int(getattr(deleted, "rowcount", 0) or 0)
    if rules.session_days:
        deleted = db.execute(
            delete(SourceSession).where(
                SourceSession.created_day < _cutoff(today, rules.session_days)
            )
        )
        result.sessions_deleted = int(getattr(deleted, "rowcount", 0) or 0)
    db.commit()
    if rules.exported_unacked_days:
        cutoff = _cutoff(today, rules.exported_unacked_days)
        expired = db.scalars(
            select(Envelope.id).where(Envelope.state == EXPORTED, Envelope.exported_day < cutoff)
        ).all()
        for envelope_id in expired:
            store.delete(envelope_id)
            row = db.get(Envelope, envelope_id)
            if row is not None:
                db.delete(row)
            db.commit()
            result.envelopes_deleted.append(envelope_id)
    count, size, oldest = db.execute(
        select(
            func.count(), func.coalesce(func.sum(Envelope.size), 0), func.min(Envelope.exported_day)
        ).where(Envelope.state == EXPORTED)
    ).one()
    result.exported_kept = Pile(int(count), int(size))
    result.oldest_exported_day = oldest
    return result
