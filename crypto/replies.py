"""Replies to sources, reply bundles and acks (docs/bundle-format.md).

A reply is a signed statement (type "reply") whose body binds the instance, the source
and a random reply id to the reply text sealed to the source's reply key: an X-Wing
(hybrid post-quantum) sealing when the source has an X-Wing reply key (body field
"kem": "xwing"), else a sealed box (no "kem" field, as in v1). The server stores it as
received and refuses anything the admin signing key did not sign.

    reply bundle = MAGIC || u32 count || count * (u32 len || reply statement)
    ack          = one signed statement, type "ack"
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterable
from dataclasses import dataclass

import nacl.bindings as sodium
import nacl.exceptions
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey, VerifyKey

from .bundle import ID_BYTES, INSTANCE_ID_BYTES, SOURCE_ID_BYTES, _hex
from .encoding import b64decode, b64encode
from .envelope import Readable, _read_exact
from .errors import FormatError, PayloadError, SignatureError
from .statements import sign_statement, verify_statement
from .xwing import CIPHERTEXT_BYTES as XWING_CIPHERTEXT_BYTES
from .xwing import XWingPrivateKey, XWingPublicKey

REPLY_BUNDLE_MAGIC = b"sealdrop-replies/v1\n"
MAX_REPLY_TEXT_BYTES = 64 * 1024
MAX_REPLY_STATEMENT_BYTES = 256 * 1024
MAX_REPLIES_PER_BUNDLE = 100_000
_U32 = struct.Struct(">I")
_SEALED_BOX_OVERHEAD = 48
_XWING_OVERHEAD = XWING_CIPHERTEXT_BYTES + 16
_XWING_REPLY_AD = b"sealdrop-reply/v2 xwing"
_ZERO_NONCE = bytes(sodium.crypto_aead_chacha20poly1305_ietf_NPUBBYTES)
_FIELDS_V1 = {"created", "instance_id", "reply_id", "sealed", "source_id"}


def _xwing_reply_key(shared_secret: bytes) -> bytes:
    return blake2b(shared_secret, digest_size=32, person=b"sealdrop-reply-x", encoder=RawEncoder)


def seal_reply_text(data: bytes, reply_public_key: PublicKey | XWingPublicKey) -> bytes:
    """Seal reply text: X-Wing ct || ChaCha20-Poly1305, or a sealed box for an X25519 key."""
    if isinstance(reply_public_key, PublicKey):
        return bytes(SealedBox(reply_public_key).encrypt(data))
    shared, ciphertext = reply_public_key.encapsulate()
    return ciphertext + bytes(
        sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
            data, _XWING_REPLY_AD, _ZERO_NONCE, _xwing_reply_key(shared)
        )
    )


@dataclass(frozen=True)
class Reply:
    """A verified reply: still sealed, as the server stores it."""

    reply_id: str
    instance_id: str
    source_id: str
    created: str
    sealed: bytes
    statement: bytes  # the exact signed bytes, kept so the source side can re-verify
    kem: str = "x25519"  # "xwing" when sealed to the source's X-Wing reply key


def make_reply(
    signing_key: SigningKey,
    instance_id: str,
    source_id: str,
    reply_public_key: PublicKey | XWingPublicKey,
    text: str,
    created: str,
) -> bytes:
    """Seal `text` to the source's reply key and sign it; returns the statement bytes."""
    data = text.encode("utf-8")
    if not data or len(data) > MAX_REPLY_TEXT_BYTES:
        raise ValueError(f"a reply holds 1 to {MAX_REPLY_TEXT_BYTES} bytes of text")
    sealed = seal_reply_text(data, reply_public_key)
    body: dict[str, str] = {
        "created": created,
        "instance_id": _hex(instance_id, INSTANCE_ID_BYTES, "instance id"),
        "reply_id": secrets.token_hex(ID_BYTES),
        "sealed": b64encode(bytes(sealed)),
        "source_id": _hex(source_id, SOURCE_ID_BYTES, "source id"),
    }
    if isinstance(reply_public_key, XWingPublicKey):
        body["kem"] = "xwing"
    return sign_statement(signing_key, "reply", body)


def verify_reply(data: bytes, signer: VerifyKey, instance_id: str) -> Reply:
    """Check a reply's signature and that it is meant for this instance."""
    if len(data) > MAX_REPLY_STATEMENT_BYTES:
        raise FormatError("reply is too large")
    body = verify_statement(data, "reply", signer).body
    if set(body) not in (_FIELDS_V1, {*_FIELDS_V1, "kem"}):
        raise FormatError("reply has unexpected fields")
    kem = body.get("kem", "x25519")
    if kem not in ("x25519", "xwing") or body.get("kem") == "x25519":
        raise FormatError("reply names an unknown sealing")
    if body["instance_id"] != instance_id:
        raise SignatureError("this reply was made for another instance")
    if not isinstance(body["created"], str) or len(body["created"]) > 32:
        raise FormatError("reply date is malformed")
    sealed = b64decode(body["sealed"])
    overhead = _XWING_OVERHEAD if kem == "xwing" else _SEALED_BOX_OVERHEAD
    if not overhead < len(sealed) <= MAX_REPLY_TEXT_BYTES + overhead:
        raise FormatError("reply ciphertext has an impossible size")
    return Reply(
        _hex(body["reply_id"], ID_BYTES, "reply id"),
        instance_id,
        _hex(body["source_id"], SOURCE_ID_BYTES, "source id"),
        body["created"],
        sealed,
        data,
        kem,
    )


def open_reply(sealed: bytes, reply_key: PrivateKey | XWingPrivateKey) -> str:
    """Decrypt a reply's text with the source's reply private key of the reply's kind."""
    try:
        if isinstance(reply_key, PrivateKey):
            plain = SealedBox(reply_key).decrypt(sealed)
        else:
            if len(sealed) <= _XWING_OVERHEAD:
                raise PayloadError("this reply cannot be opened with this key")
            shared = reply_key.decapsulate(sealed[:XWING_CIPHERTEXT_BYTES])
            plain = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
                sealed[XWING_CIPHERTEXT_BYTES:],
                _XWING_REPLY_AD,
                _ZERO_NONCE,
                _xwing_reply_key(shared),
            )
        return bytes(plain).decode("utf-8")
    except (nacl.exceptions.CryptoError, UnicodeDecodeError) as exc:
        raise PayloadError("this reply cannot be opened with this key") from exc


def write_reply_bundle(statements: Iterable[bytes]) -> bytes:
    """Pack reply statements into a reply bundle."""
    items = list(statements)
    parts = [REPLY_BUNDLE_MAGIC, _U32.pack(len(items))]
    for item in items:
        parts += [_U32.pack(len(item)), item]
    return b"".join(parts)


def read_reply_bundle(src: Readable, signer: VerifyKey, instance_id: str) -> list[Reply]:
    """Read and verify every reply; raises on the first bad one (callers store none then)."""
    if _read_exact(src, len(REPLY_BUNDLE_MAGIC)) != REPLY_BUNDLE_MAGIC:
        raise FormatError("not a Sealdrop reply bundle")
    raw = _read_exact(src, 4)
    if len(raw) != 4:
        raise FormatError("reply bundle is truncated")
    (count,) = _U32.unpack(raw)
    if count > MAX_REPLIES_PER_BUNDLE:
        raise FormatError("reply bundle lists too many replies")
    replies: list[Reply] = []
    seen: set[str] = set()
    for number in range(1, count + 1):
        raw = _read_exact(src, 4)
        if len(raw) != 4:
            raise FormatError(f"reply bundle is truncated at reply {number} of {count}")
        (length,) = _U32.unpack(raw)
        if length > MAX_REPLY_STATEMENT_BYTES:
            raise FormatError(f"reply {number} is too large")
        data = _read_exact(src, length)
        if len(data) != length:
            raise FormatError(f"reply bundle is truncated at reply {number} of {count}")
        try:
            reply = verify_reply(data, signer, instance_id)
        except (FormatError, SignatureError) as exc:
            raise type(exc)(f"reply {number} of {count}: {exc}") from exc
        if reply.reply_id in seen:
            raise FormatError(f"reply {reply.reply_id} appears twice")
        seen.add(reply.reply_id)
        replies.append(reply)
    if src.read(1):
        raise FormatError("unexpected data after the last reply")
    return replies


@dataclass(frozen=True)
class Ack:
    """A verified ack: these envelopes are safely imported offline and may be deleted."""

    instance_id: str
    envelope_ids: tuple[str, ...]
    created: str


def make_ack(
    signing_key: SigningKey, instance_id: str, envelope_ids: Iterable[str], created: str
) -> bytes:
    """Sign an ack for exactly the envelopes that were imported."""
    body = {
        "created": created,
        "envelope_ids": sorted(_hex(e, ID_BYTES, "envelope id") for e in envelope_ids),
        "instance_id": _hex(instance_id, INSTANCE_ID_BYTES, "instance id"),
    }
    return sign_statement(signing_key, "ack", body)


def verify_ack(data: bytes, signer: VerifyKey, instance_id: str) -> Ack:
    """Check an ack's signature and that it is for this instance."""
    body = verify_statement(data, "ack", signer).body
    if set(body) != {"created", "envelope_ids", "instance_id"}:
        raise FormatError("ack has unexpected fields")
    if body["instance_id"] != instance_id:
        raise SignatureError("this ack was made for another instance")
    if not isinstance(body["envelope_ids"], list) or not isinstance(body["created"], str):
        raise FormatError("ack is malformed")
    ids = tuple(_hex(e, ID_BYTES, "envelope id") for e in body["envelope_ids"])
    return Ack(instance_id, ids, body["created"])
