"""Signed statements: replies, acks and bundle manifests (docs/envelope-format.md §Statements).

    signed message = "sealdrop-statement/v1" || 0x00 || type || 0x00 || canonical JSON body
    wire form      = canonical JSON {"body": ..., "sig": base64, "signer": "sdsigner1...",
                                     "type": ..., "v": 1}

The type is part of what is signed, so an ack can never be replayed as a reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nacl.exceptions
from nacl.signing import SigningKey, VerifyKey

from .encoding import b64decode, b64encode, canonical_json, parse_canonical_json
from .errors import FormatError, SignatureError
from .keys import signer_from_text, signer_to_text

DOMAIN = b"sealdrop-statement/v1"
STATEMENT_TYPES = frozenset({"reply", "ack", "bundle-manifest"})
MAX_STATEMENT_BYTES = 64 * 1024 * 1024
SIGNATURE_BYTES = 64


def _message(kind: str, body: Any) -> bytes:
    return DOMAIN + b"\x00" + kind.encode("ascii") + b"\x00" + canonical_json(body)


@dataclass(frozen=True)
class Statement:
    """A verified statement: its type, its body, and who signed it."""

    kind: str
    body: dict[str, Any]
    signer: VerifyKey


def sign_statement(key: SigningKey, kind: str, body: dict[str, Any]) -> bytes:
    """Sign `body` as a statement of type `kind`; returns the wire bytes."""
    if kind not in STATEMENT_TYPES:
        raise ValueError(f"unknown statement type {kind!r}")
    signature = key.sign(_message(kind, body)).signature
    return canonical_json(
        {
            "body": body,
            "sig": b64encode(signature),
            "signer": signer_to_text(key.verify_key),
            "type": kind,
            "v": 1,
        }
    )


def verify_statement(data: bytes, expected_kind: str, signer: VerifyKey) -> Statement:
    """Verify wire bytes against the one key allowed to sign statements of this type."""
    if len(data) > MAX_STATEMENT_BYTES:
        raise FormatError("statement is too large")
    wire = parse_canonical_json(data)
    if not isinstance(wire, dict) or set(wire) != {"body", "sig", "signer", "type", "v"}:
        raise FormatError("not a Sealdrop signed statement")
    if type(wire["v"]) is not int or wire["v"] != 1:  # `true` == 1 in Python
        raise FormatError("unsupported statement version")
    if wire["type"] != expected_kind:
        raise SignatureError(f"expected a {expected_kind!r} statement, got {wire['type']!r}")
    if not isinstance(wire["body"], dict):
        raise FormatError("statement body must be a JSON object")
    claimed = signer_from_text(wire["signer"])
    if bytes(claimed) != bytes(signer):
        raise SignatureError("signed by a different key than the one this side trusts")
    signature = b64decode(wire["sig"], SIGNATURE_BYTES)
    try:
        signer.verify(_message(expected_kind, wire["body"]), signature)
    except nacl.exceptions.BadSignatureError as exc:
        raise SignatureError("signature does not verify: the statement was altered") from exc
    return Statement(expected_kind, wire["body"], signer)
