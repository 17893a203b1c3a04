"""The staff key: a file beside the other instance secrets, never in the database.

It encrypts each account's TOTP secret (XChaCha20-Poly1305, bound to the account name), so
a copy of the database alone yields no login codes, and it keys the name under which
failed logins are counted, so the database never holds the names people tried.

`sealdrop init` writes it; an instance made before it existed gets one the first time the
staff app or a `sealdrop staff` command opens the instance (`load_or_create_staff_key`),
which also encrypts the secrets that were stored in the clear (`seal_plaintext_secrets`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
)
from nacl.encoding import RawEncoder
from nacl.exceptions import CryptoError as NaclCryptoError
from nacl.hash import blake2b
from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.encoding import b64decode, b64encode
from crypto.errors import FormatError

from .models import StaffAccount

KEY_BYTES = 32
SEALED_PREFIX = "sealed1:"  # never in base32, so a sealed value cannot pass for a clear one
_AD = b"sealdrop-staff-totp-v1\x00"


class StaffKeyError(ValueError):
    """The staff key file is unreadable or a sealed secret does not open with it."""


@dataclass(frozen=True)
class StaffKey:
    """Two keys split from the file's 32 bytes: one seals TOTP secrets, one keys names."""

    seal_key: bytes
    name_key: bytes

    @classmethod
    def from_bytes(cls, key: bytes) -> StaffKey:
        """Split the file's key with BLAKE2b personalisations, so neither reveals the other."""
        if len(key) != KEY_BYTES:
            raise StaffKeyError("the staff key must be 32 bytes")

        def split(person: bytes) -> bytes:
            return blake2b(b"", key=key, digest_size=32, person=person, encoder=RawEncoder)

        return cls(split(b"sd-staff-totp"), split(b"sd-staff-name"))

    def seal(self, name: str, secret: str) -> str:
        """The TOTP secret encrypted and bound to the account name, as text for the column."""
        nonce = secrets.token_bytes(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES)
        sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
            secret.encode("ascii"), _AD + name.encode("utf-8"), nonce, self.seal_key
        )
        return SEALED_PREFIX + b64encode(nonce + sealed)

    def open(self, name: str, stored: str) -> str:
        """The TOTP secret of `name`; StaffKeyError if it was changed, moved or not sealed."""
        if not stored.startswith(SEALED_PREFIX):
            raise StaffKeyError(f"the TOTP secret of {name!r} is not sealed")
        try:
            raw = b64decode(stored[len(SEALED_PREFIX) :])
            nonce = raw[:crypto_aead_xchacha20poly1305_ietf_NPUBBYTES]
            body = raw[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES:]
            plain = crypto_aead_xchacha20poly1305_ietf_decrypt(
                body, _AD + name.encode("utf-8"), nonce, self.seal_key
            )
        except (FormatError, NaclCryptoError, ValueError) as exc:
            raise StaffKeyError(
                f"the TOTP secret of {name!r} does not open with this instance's staff key"
            ) from exc
        return plain.decode("ascii")

    def name_tag(self, name: str) -> str:
        """A keyed hash of a login name: failed logins are counted under it, not the name."""
        return blake2b(
            name.encode("utf-8"), key=self.name_key, digest_size=32, person=b"sd-login-name"
        ).decode("ascii")


def create_staff_key(path: Path) -> None:
    """Write a fresh key file (0600); FileExistsError if there is one already."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(b64encode(secrets.token_bytes(KEY_BYTES)) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def load_staff_key(path: Path) -> StaffKey:
    """Read the key file; StaffKeyError if it is unreadable or malformed."""
    try:
        text = path.read_text(encoding="ascii").strip()
        return StaffKey.from_bytes(b64decode(text, KEY_BYTES))
    except (OSError, UnicodeDecodeError, FormatError) as exc:
        raise StaffKeyError(f"{path} is unreadable or malformed: {exc}") from exc


def load_or_create_staff_key(path: Path) -> StaffKey:
    """The instance's staff key, made now if the instance predates it.

    Several gunicorn workers may start at once: the file is written whole under a private
    name and linked into place, so a worker never reads a half-written key, and the first
    link wins.
    """
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        create_staff_key(temporary)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink()
    return load_staff_key(path)


def seal_plaintext_secrets(db: Session, key: StaffKey) -> int:
    """Encrypt every TOTP secret still stored in the clear (instances made before the key)."""
    count = 0
    for account in db.scalars(select(StaffAccount)):
        if not account.totp_secret.startswith(SEALED_PREFIX):
            account.totp_secret = key.seal(account.name, account.totp_secret)
            count += 1
    db.commit()
    return count
