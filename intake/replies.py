"""Staff replies on the server: stored only when signed by the admin key, shown to the
source after a second check. The reply import (`sealdrop import-replies`, the staff app)
stores through `store_replies`, and nothing else writes the replies table."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from nacl.public import PrivateKey
from nacl.signing import VerifyKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.errors import CryptoError
from crypto.replies import Reply as SignedReply
from crypto.replies import open_reply, verify_reply
from crypto.xwing import XWingPrivateKey

from .models import Reply, Source


class UnknownSource(ValueError):
    """A reply is addressed to a source this instance has never seen."""


def store_replies(
    db: Session,
    replies: Sequence[SignedReply],
    signer: VerifyKey,
    instance_id: str,
    today: datetime.date,
) -> int:
    """Verify every reply again, then add them all or none; returns how many were new.

    Raises SignatureError/FormatError or UnknownSource before adding anything. A reply
    already stored is skipped, so importing the same bundle twice is harmless. The
    caller commits.
    """
    checked = [verify_reply(reply.statement, signer, instance_id) for reply in replies]
    for reply in checked:
        if db.get(Source, reply.source_id) is None:
            raise UnknownSource(f"reply {reply.reply_id} is for an unknown source")
    added = 0
    seen: set[str] = set()
    for reply in checked:
        if reply.reply_id in seen or db.get(Reply, reply.reply_id) is not None:
            continue
        seen.add(reply.reply_id)
        db.add(
            Reply(
                id=reply.reply_id,
                source_id=reply.source_id,
                statement=reply.statement,
                created_day=today,
            )
        )
        added += 1
    return added


@dataclass(frozen=True)
class ShownReply:
    """A reply as the source sees it; text is None when it failed verification."""

    id: str
    created: str
    text: str | None


def replies_for_source(
    db: Session,
    source_id: str,
    reply_key: PrivateKey,
    signer: VerifyKey,
    instance_id: str,
    reply_xwing_key: XWingPrivateKey | None,
) -> list[ShownReply]:
    """Every reply to this source, verified and decrypted in memory for one page."""
    rows = db.scalars(
        select(Reply).where(Reply.source_id == source_id).order_by(Reply.created_day, Reply.id)
    )
    shown: list[ShownReply] = []
    for row in rows:
        try:
            reply = verify_reply(row.statement, signer, instance_id)
            if reply.source_id != source_id or reply.reply_id != row.id:
                raise CryptoError("reply does not belong here")
            key = reply_xwing_key if reply.kem == "xwing" else reply_key
            if key is None:
                raise CryptoError("a hybrid reply needs the session's X-Wing reply key")
            shown.append(ShownReply(row.id, reply.created, open_reply(reply.sealed, key)))
        except (CryptoError, ValueError):
            shown.append(ShownReply(row.id, row.created_day.isoformat(), None))
    return shown


def delete_reply(db: Session, source_id: str, reply_id: str) -> bool:
    """Delete one of this source's replies (commit is the caller's)."""
    row = db.get(Reply, reply_id)
    if row is None or row.source_id != source_id:
        return False
    db.delete(row)
    return True
