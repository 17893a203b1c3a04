"""Importing a reply bundle: every reply verified against the admin key, then all or none."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from nacl.signing import VerifyKey
from sqlalchemy.orm import Session

from crypto.envelope import Readable
from crypto.errors import CryptoError
from crypto.replies import read_reply_bundle

from ..models import Source
from ..replies import UnknownSource, store_replies
from .errors import TransferError

# A reply holds at most 64 KiB of text; thousands of replies fit well under this.
MAX_REPLY_BUNDLE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class ReplyImport:
    """How many replies a bundle held, and how many of them were new."""

    total: int
    added: int

    @property
    def already(self) -> int:
        """Replies this instance held already (the bundle was imported before)."""
        return self.total - self.added


def import_replies(
    db: Session, src: Readable, signer: VerifyKey, instance_id: str, today: datetime.date
) -> ReplyImport:
    """Verify the whole bundle, then store every new reply in one transaction (commits)."""
    try:
        replies = read_reply_bundle(src, signer, instance_id)
    except CryptoError as exc:
        raise TransferError(
            f"reply bundle refused: {exc}. Nothing was stored. Only a bundle made by "
            "`sealdrop-admin export-replies` with this instance's admin key is accepted."
        ) from exc
    for reply in replies:
        if db.get(Source, reply.source_id) is None:
            raise TransferError(
                f"reply bundle refused: reply {reply.reply_id} is for source "
                f"{reply.source_id}, which this instance does not know. Nothing was stored. "
                "Was the bundle meant for another server?"
            )
    try:
        added = store_replies(db, replies, signer, instance_id, today)
        db.commit()
    except (UnknownSource, CryptoError) as exc:  # pragma: no cover - checked just above
        db.rollback()
        raise TransferError(f"reply bundle refused: {exc}. Nothing was stored.") from exc
    except BaseException:
        db.rollback()
        raise
    return ReplyImport(len(replies), added)
