"""Bundles crafted the way a compromised server would make them.

A seized server holds the instance signing key and the public admin identity: it can seal
any envelope (any metadata, any content, padded to any size) and sign any manifest. This
module does exactly that, with crypto/ only, so tests can check what the laptop makes of
it. Typical use:

    server = HostileServer(admin.identity())
    source = Source()
    genuine = server.envelope(source, "message", b"the real tip")
    forged = server.same_size_forgery(genuine, source, b"a forged narrative")
    server.write(tmp_path / "b.sdb", server.body([genuine]), [(genuine.envelope_id, forged.data)])
"""

from __future__ import annotations

import hashlib
import secrets
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from admin_support import FakeInstance, SealedEnvelope, Source

from crypto.bundle import MAGIC
from crypto.encoding import b64encode
from crypto.envelope import Sealer
from crypto.statements import sign_statement

DAY = "2024-05-01"


class HostileServer(FakeInstance):
    """A server that signs whatever it likes with the real instance key."""

    def envelope(
        self,
        source: Source,
        kind: str = "message",
        content: bytes = b"",
        *,
        drop: Sequence[str] = (),
        **fields: Any,
    ) -> SealedEnvelope:
        """An envelope sealed to the admin identity, with the intake's metadata fields
        overridden by `fields` (any JSON value) and the keys in `drop` left out."""
        self.sources[source.source_id] = source.reply_key.public_key
        meta: dict[str, Any] = {
            "kind": kind,
            "source_id": source.source_id,
            "reply_public_key": b64encode(bytes(source.reply_key.public_key)),
            "received": DAY,
            "submission_id": secrets.token_hex(16),
            "language": "zh_Hans_CN",
        }
        meta.update({"answers": {}} if kind == "message" else {"filename": "a.bin"})
        meta.update({"content_type": "application/octet-stream"} if kind == "file" else {})
        meta.update(fields)
        for key in drop:
            meta.pop(key, None)
        data = Sealer(list(self.identity.recipients)).seal_bytes(content, meta)
        return SealedEnvelope(secrets.token_hex(16), source.source_id, data)

    def same_size_forgery(
        self, genuine: SealedEnvelope, source: Source, text: bytes, **fields: Any
    ) -> SealedEnvelope:
        """A valid message envelope of exactly the genuine one's size (Padmé makes it easy):
        the content is `text` padded with spaces until the sealed size matches."""
        target = len(genuine.data)
        low, high = 0, target
        while low <= high:  # the sealed size only grows with the content length
            pad = (low + high) // 2
            forged = self.envelope(source, "message", text + b" " * pad, **fields)
            if len(forged.data) == target:
                return SealedEnvelope(genuine.envelope_id, genuine.source_id, forged.data)
            if len(forged.data) < target:
                low = pad + 1
            else:
                high = pad - 1
        raise ValueError("no forgery of that size (the genuine envelope is too small)")

    def body(
        self, listed: Sequence[SealedEnvelope], created: str = "2024-05-02", **changes: Any
    ) -> dict[str, Any]:
        """The manifest body an honest server would sign for `listed`, with `changes`."""
        used = sorted({e.source_id for e in listed})
        body: dict[str, Any] = {
            "created": created,
            "envelopes": [
                {
                    "id": e.envelope_id,
                    "sha256": hashlib.sha256(e.data).hexdigest(),
                    "size": len(e.data),
                    "source_id": e.source_id,
                }
                for e in listed
            ],
            "instance_id": self.instance_id,
            "sources": [
                {"reply_public_key": b64encode(bytes(self.sources[sid])), "source_id": sid}
                for sid in used
            ],
        }
        body.update(changes)
        return body

    def write(self, path: Path, body: dict[str, Any], carried: Sequence[tuple[str, bytes]]) -> Path:
        """A v2 bundle: `body` signed with the instance key, then `carried` as entries in
        the order given (any id, any bytes: reordered, repeated, foreign, cut...)."""
        signed = sign_statement(self.signing_key, "bundle-manifest", body)
        parts = [MAGIC, struct.pack(">I", len(signed)), signed]
        for envelope_id, data in carried:
            parts.append(bytes.fromhex(envelope_id) + struct.pack(">Q", len(data)) + data)
        path.write_bytes(b"".join(parts))
        return path

    def honest(self, path: Path, envelopes: Sequence[SealedEnvelope], **changes: Any) -> Path:
        """A well-formed bundle of `envelopes` whose manifest body has `changes`."""
        return self.write(
            path, self.body(envelopes, **changes), [(e.envelope_id, e.data) for e in envelopes]
        )
