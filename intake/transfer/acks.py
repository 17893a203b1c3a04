"""Applying an ack: the offline side holds these envelopes, so the server deletes them.

Order: the file first, then the row. A crash in between leaves a row without a file,
which the next run of the same ack deletes; so does re-running it at any point. Only
exported envelopes are deleted: an ack can only name what the offline side received.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from nacl.signing import VerifyKey
from sqlalchemy.orm import Session

from crypto.errors import CryptoError
from crypto.replies import verify_ack

from ..models import EXPORTED, Envelope
from ..storage import EnvelopeStore
from .errors import TransferError

MAX_ACK_BYTES = 16 * 1024 * 1024
COMMIT_EVERY = 100


@dataclass
class AckResult:
    """What an ack did: deleted, already gone, or kept because never exported."""

    listed: int
    deleted: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)
    not_exported: list[str] = field(default_factory=list)


def apply_ack(
    db: Session,
    store: EnvelopeStore,
    data: bytes,
    signer: VerifyKey,
    instance_id: str,
    progress: Callable[[int], None] | None = None,
) -> AckResult:
    """Verify the ack, then delete each listed exported envelope (file, then row)."""
    if len(data) > MAX_ACK_BYTES:
        raise TransferError("this file is too large to be an ack. Nothing was deleted.")
    try:
        ack = verify_ack(data, signer, instance_id)
    except CryptoError as exc:
        raise TransferError(
            f"ack refused: {exc}. Nothing was deleted. Only an ack made by "
            "`sealdrop-admin import --ack-out` with this instance's admin key is accepted."
        ) from exc
    result = AckResult(len(ack.envelope_ids))
    for number, envelope_id in enumerate(ack.envelope_ids, 1):
        row = db.get(Envelope, envelope_id)
        if row is None:
            result.already_gone.append(envelope_id)
        elif row.state != EXPORTED:
            result.not_exported.append(envelope_id)
        else:
            store.delete(envelope_id)  # False if a crashed run already removed the file
            db.delete(row)
            result.deleted.append(envelope_id)
            if len(result.deleted) % COMMIT_EVERY == 0:
                db.commit()
        if progress is not None:
            progress(number)
    db.commit()
    return result
