"""Returning-source sessions (DESIGN §3).

The cookie holds a random session id and a random key. The database row holds only a
hash of the id and, sealed under the key, the source id, the reply private key and the
absolute expiry. The database alone or the cookie alone reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import time
from dataclasses import dataclass

import nacl.exceptions
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.secret import SecretBox
from sqlalchemy.orm import Session

from crypto.xwing import XWingPrivateKey

from .models import SourceSession

COOKIE_NAME = "sd_source"
_ID_BYTES = 16
_COOKIE_BYTES = _ID_BYTES + SecretBox.KEY_SIZE


@dataclass(frozen=True)
class SessionSecret:
    """What a valid session unlocks, in memory for one request."""

    source_id: str
    reply_key: PrivateKey
    expires: int
    reply_xwing_key: XWingPrivateKey | None = None  # None in sessions opened before v2


def _split_cookie(value: str | None) -> tuple[bytes, bytes] | None:
    if not value or len(value) > 128:
        return None
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(raw) != _COOKIE_BYTES:
        return None
    return raw[:_ID_BYTES], raw[_ID_BYTES:]


def _id_hash(session_id: bytes) -> str:
    return blake2b(session_id, digest_size=32, person=b"sealdrop-session", encoder=RawEncoder).hex()


def open_session(
    db: Session,
    source_id: str,
    reply_key: PrivateKey,
    lifetime_seconds: int,
    today: datetime.date,
    reply_xwing_key: XWingPrivateKey | None = None,
) -> str:
    """Store a new session row and return the cookie value (commit is the caller's)."""
    session_id, key = os.urandom(_ID_BYTES), os.urandom(SecretBox.KEY_SIZE)
    id_hash = _id_hash(session_id)
    secret = {
        "expires": int(time.time()) + lifetime_seconds,
        "id_hash": id_hash,
        "reply_key": bytes(reply_key).hex(),
        "source_id": source_id,
    }
    if reply_xwing_key is not None:
        secret["reply_xwing_seed"] = bytes(reply_xwing_key).hex()
    sealed = bytes(SecretBox(key).encrypt(json.dumps(secret).encode("ascii")))
    db.add(SourceSession(id_hash=id_hash, sealed=sealed, created_day=today))
    return base64.urlsafe_b64encode(session_id + key).decode("ascii")


def load_session(db: Session, cookie: str | None) -> SessionSecret | None:
    """The session a cookie opens, or None (an expired one is deleted on the way)."""
    parts = _split_cookie(cookie)
    if parts is None:
        return None
    session_id, key = parts
    row = db.get(SourceSession, _id_hash(session_id))
    if row is None:
        return None
    try:
        secret = json.loads(SecretBox(key).decrypt(row.sealed))
    except (nacl.exceptions.CryptoError, ValueError):
        return None
    if secret.get("id_hash") != row.id_hash or int(secret["expires"]) <= time.time():
        db.delete(row)
        db.commit()
        return None
    reply_key = PrivateKey(bytes.fromhex(secret["reply_key"]))
    seed = secret.get("reply_xwing_seed")
    xwing = None if seed is None else XWingPrivateKey(bytes.fromhex(seed))
    return SessionSecret(str(secret["source_id"]), reply_key, int(secret["expires"]), xwing)


def destroy_session(db: Session, cookie: str | None) -> None:
    """Delete the session row a cookie names (commit is the caller's)."""
    parts = _split_cookie(cookie)
    if parts is not None:
        row = db.get(SourceSession, _id_hash(parts[0]))
        if row is not None:
            db.delete(row)
