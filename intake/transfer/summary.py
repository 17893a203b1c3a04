"""What is waiting on the server: counts and sizes, for the staff page and the CLI."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import EXPORTED, PENDING, Envelope, Reply


@dataclass(frozen=True)
class Pile:
    """A number of envelopes and their total size on disk."""

    count: int
    size: int


@dataclass(frozen=True)
class TransferSummary:
    """Envelopes never exported, exported but not yet acked, and stored replies."""

    pending: Pile
    exported: Pile
    oldest_exported_day: datetime.date | None
    replies: int


def _pile(db: Session, state: str) -> Pile:
    count, size = db.execute(
        select(func.count(), func.coalesce(func.sum(Envelope.size), 0)).where(
            Envelope.state == state
        )
    ).one()
    return Pile(int(count), int(size))


def summarize(db: Session) -> TransferSummary:
    """Counts and sizes as they are now."""
    oldest = db.scalar(select(func.min(Envelope.exported_day)).where(Envelope.state == EXPORTED))
    replies = db.scalar(select(func.count()).select_from(Reply)) or 0
    return TransferSummary(_pile(db, PENDING), _pile(db, EXPORTED), oldest, int(replies))


def human_size(size: int) -> str:
    """1536 -> "1.5 KiB"."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"  # pragma: no cover - the loop always returns
