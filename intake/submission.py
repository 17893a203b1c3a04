"""Sealing one submission: each file and the message become envelopes under storage/tmp,
and only when all are sealed are they renamed into place and recorded in the database."""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nacl.public import PrivateKey, PublicKey
from sqlalchemy.orm import Session

from crypto.encoding import b64encode
from crypto.envelope import EnvelopeWriter, Sealer
from crypto.xwing import XWingPublicKey

from .models import PENDING, Envelope, Source
from .storage import EnvelopeStore, PendingEnvelope


@dataclass(frozen=True)
class SourceIdentity:
    """Who a submission belongs to. A new source also carries the receipt to show once."""

    source_id: str
    reply_public_key: PublicKey
    is_new: bool = False
    receipt: str | None = None
    reply_key: PrivateKey | None = None
    reply_xwing_public_key: XWingPublicKey | None = None  # None: a session from before v2


@dataclass
class _Sealed:
    pending: PendingEnvelope
    kind: str
    writer: EnvelopeWriter


class SubmissionWriter:
    """Receives the files of one submission (a FileSink) and the message, seals them all."""

    def __init__(
        self,
        store: EnvelopeStore,
        sealer: Sealer,
        identify: Callable[[], SourceIdentity],
        language: str,
        today: datetime.date,
    ) -> None:
        self.submission_id = secrets.token_hex(16)
        self._store = store
        self._sealer = sealer
        self._identify = identify
        self._identity: SourceIdentity | None = None
        self._language = language
        self._today = today
        self._envelopes: list[_Sealed] = []
        self._current: _Sealed | None = None

    @property
    def identity(self) -> SourceIdentity:
        """The source, derived on first need (a new source costs one Argon2id call)."""
        if self._identity is None:
            self._identity = self._identify()
        return self._identity

    def _metadata(self, kind: str, extra: dict[str, Any]) -> dict[str, Any]:
        identity = self.identity
        return {
            "kind": kind,
            "source_id": identity.source_id,
            "reply_public_key": b64encode(bytes(identity.reply_public_key)),
            **(
                {"reply_xwing_public_key": b64encode(bytes(identity.reply_xwing_public_key))}
                if identity.reply_xwing_public_key is not None
                else {}
            ),
            "received": self._today.isoformat(),
            "submission_id": self.submission_id,
            "language": self._language,
            **extra,
        }

    def _begin(self, kind: str, extra: dict[str, Any]) -> _Sealed:
        metadata = self._metadata(kind, extra)
        pending = self._store.begin()
        try:
            sealed = _Sealed(pending, kind, self._sealer.writer(pending, metadata))
        except BaseException:
            pending.discard()
            raise
        self._envelopes.append(sealed)
        return sealed

    def start_file(self, filename: str, content_type: str) -> None:
        """A file part begins."""
        self._current = self._begin("file", {"filename": filename, "content_type": content_type})

    def write(self, data: bytes) -> None:
        """Seal the next bytes of the current file."""
        if self._current is None:
            raise RuntimeError("write outside a file part")
        self._current.writer.write(data)

    def end_file(self) -> None:
        """The current file part is complete."""
        if self._current is not None:
            self._current.writer.close()
            self._current = None

    def seal_message(self, narrative: str, answers: dict[str, str | list[str]]) -> None:
        """Seal the text (and the questionnaire answers, if any) as the message envelope."""
        sealed = self._begin("message", {"answers": answers})
        sealed.writer.write(narrative.encode("utf-8"))
        sealed.writer.close()

    @property
    def file_count(self) -> int:
        """How many envelopes were started."""
        return len(self._envelopes)

    def commit(self, db: Session) -> list[Envelope]:
        """Move every envelope into place, then record them (and a new source) in one
        transaction. On any failure nothing is left: files removed, rows rolled back."""
        try:
            rows: list[Envelope] = []
            for sealed in self._envelopes:
                sealed.writer.close()
                size = sealed.pending.commit()
                rows.append(
                    Envelope(
                        id=sealed.pending.envelope_id,
                        source_id=self.identity.source_id,
                        size=size,
                        kind=sealed.kind,
                        received_day=self._today,
                        state=PENDING,
                    )
                )
            if self.identity.is_new:
                db.add(
                    Source(
                        id=self.identity.source_id,
                        reply_public_key=bytes(self.identity.reply_public_key),
                        reply_xwing_public_key=(
                            None
                            if self.identity.reply_xwing_public_key is None
                            else bytes(self.identity.reply_xwing_public_key)
                        ),
                        created_day=self._today,
                    )
                )
                db.flush()
            db.add_all(rows)
            db.commit()
        except BaseException:
            db.rollback()
            self.abort()
            raise
        for sealed in self._envelopes:
            sealed.pending.release()  # recorded: no start-up sweep may take it now
        return rows

    def abort(self) -> None:
        """Discard every envelope of this submission, partial or committed."""
        for sealed in self._envelopes:
            sealed.writer.abort()
            sealed.pending.discard()
        self._envelopes.clear()
        self._current = None
