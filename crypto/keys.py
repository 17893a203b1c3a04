"""Recipient (X25519 or X-Wing hybrid) and signing (Ed25519) keys, their text forms, the
admin identity file (v2 written, v1 read), and passphrase-protected private key files.

Text forms (docs/envelope-format.md, "Keys"): `sdrecipient1...` for an X25519 public key,
`sdxwing1...` for an X-Wing (ML-KEM-768 + X25519) public key, `sdsigner1...` for an Ed25519
verify key. Private keys only exist on disk as key files locked under a passphrase.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import nacl.exceptions
from nacl.bindings import crypto_scalarmult
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey, PublicKey
from nacl.secret import SecretBox
from nacl.signing import SigningKey, VerifyKey

from .encoding import b64decode, b64encode, decode_key_text, encode_key_text
from .errors import FormatError, WrongPassphrase
from .kdf import KEY_FILE_COST, SALT_BYTES, Argon2Cost, argon2id
from .xwing import PUBLIC_KEY_BYTES as XWING_PUBLIC_KEY_BYTES
from .xwing import XWingPrivateKey, XWingPublicKey

RECIPIENT_PREFIX = "sdrecipient1"
XWING_PREFIX = "sdxwing1"
SIGNER_PREFIX = "sdsigner1"
KEY_BYTES = 32

Recipient = PublicKey | XWingPublicKey
RecipientKey = PrivateKey | XWingPrivateKey

MAX_RECIPIENTS = 16
_PROBE_SCALAR = bytes(range(1, 33))  # any scalar: clamping makes it a multiple of 8


def recipient_to_text(key: PublicKey) -> str:
    """Text form of an X25519 recipient public key."""
    return encode_key_text(RECIPIENT_PREFIX, bytes(key))


def recipient_from_text(text: str) -> PublicKey:
    """Parse a recipient public key; refuses the all-zero key."""
    raw = decode_key_text(RECIPIENT_PREFIX, text, KEY_BYTES)
    if raw == bytes(KEY_BYTES):
        raise FormatError("the all-zero recipient key is not a valid key")
    try:
        # A low-order point gives the all-zero shared secret with every private key, so
        # libsodium would refuse to seal to it: refuse it here, when the identity is read.
        crypto_scalarmult(_PROBE_SCALAR, raw)
    except nacl.exceptions.RuntimeError as exc:
        raise FormatError("this recipient key is a low-order point, not a valid key") from exc
    return PublicKey(raw)


def _refuse_low_order(raw: bytes, what: str) -> None:
    if raw == bytes(KEY_BYTES):
        raise FormatError(f"the all-zero {what} is not a valid key")
    try:
        # A low-order point gives the all-zero shared secret with every private key.
        crypto_scalarmult(_PROBE_SCALAR, raw)
    except nacl.exceptions.RuntimeError as exc:
        raise FormatError(f"this {what} is a low-order point, not a valid key") from exc


def xwing_to_text(key: XWingPublicKey) -> str:
    """Text form of an X-Wing (hybrid) recipient public key."""
    return encode_key_text(XWING_PREFIX, bytes(key))


def xwing_from_text(text: str) -> XWingPublicKey:
    """Parse an X-Wing public key: ML-KEM's key check, and no low-order X25519 part."""
    raw = decode_key_text(XWING_PREFIX, text, XWING_PUBLIC_KEY_BYTES)
    key = XWingPublicKey(raw)
    _refuse_low_order(key.x25519, "X25519 part of the hybrid key")
    return key


def any_recipient_to_text(key: Recipient) -> str:
    """Text form of either kind of recipient key."""
    return xwing_to_text(key) if isinstance(key, XWingPublicKey) else recipient_to_text(key)


def any_recipient_from_text(text: str) -> Recipient:
    """Parse a recipient key of either kind, told apart by its prefix."""
    if text.strip().startswith(XWING_PREFIX):
        return xwing_from_text(text)
    return recipient_from_text(text)


def signer_to_text(key: VerifyKey) -> str:
    """Text form of an Ed25519 verify key."""
    return encode_key_text(SIGNER_PREFIX, bytes(key))


def signer_from_text(text: str) -> VerifyKey:
    """Parse an Ed25519 verify key."""
    raw = decode_key_text(SIGNER_PREFIX, text, KEY_BYTES)
    try:
        return VerifyKey(raw)
    except (nacl.exceptions.ValueError, nacl.exceptions.TypeError) as exc:
        raise FormatError("not a valid Ed25519 public key") from exc


def fingerprint_digits(data: bytes, person: bytes = b"sealdrop-fprint1") -> str:
    """A 24-digit fingerprint in six groups of four, easy to compare aloud in any language."""
    digest = blake2b(data, digest_size=16, person=person, encoder=RawEncoder)
    number = int.from_bytes(digest, "big") % 10**24
    digits = f"{number:024d}"
    return " ".join(digits[i : i + 4] for i in range(0, 24, 4))


_CANONICAL_NUMBER = re.compile(r"[1-9][0-9]{0,9}")


def text_lines(text: str) -> list[str]:
    """The lines of a key or identity file, by the tolerance rules of the spec.

    Whitespace (space, tab, CR, LF) around the whole text is ignored; lines end in LF or
    CRLF; spaces and tabs at both ends of a line are ignored. Any other control character
    (a lone CR, a form feed...) is refused rather than taken for a line end."""
    lines = []
    for raw in text.strip(" \t\r\n").split("\n"):
        line = raw[:-1] if raw.endswith("\r") else raw
        line = line.strip(" \t")
        if any(ord(c) < 0x20 or c == "\x7f" for c in line):
            raise FormatError("the file holds a control character (a lone CR?) inside a line")
        lines.append(line)
    return lines


def canonical_number(text: str, what: str) -> int:
    """A decimal number as the spec writes it: ASCII digits, no sign, no leading zero."""
    if not _CANONICAL_NUMBER.fullmatch(text):
        raise FormatError(
            f"Argon2id {what} must be plain decimal digits: no sign, no leading zero, "
            "at most 10 digits"
        )
    return int(text)


@dataclass(frozen=True)
class AdminIdentity:
    """The public half of the offline side: recipients to seal to, and the reply signer."""

    recipients: tuple[Recipient, ...]
    signer: VerifyKey
    version: int = 2

    HEADER = "sealdrop admin identity v2"
    HEADER_V1 = "sealdrop admin identity v1"

    def __post_init__(self) -> None:
        if not 1 <= len(self.recipients) <= MAX_RECIPIENTS:
            raise FormatError(f"an admin identity needs 1 to {MAX_RECIPIENTS} recipient keys")
        raws = [bytes(r) for r in self.recipients]
        if len(set(raws)) != len(raws):
            raise FormatError("an admin identity lists the same recipient key twice")
        if self.version == 1 and not all(isinstance(r, PublicKey) for r in self.recipients):
            raise FormatError("a v1 admin identity holds X25519 recipients only")

    @property
    def hybrid(self) -> bool:
        """True if every recipient is an X-Wing key: no envelope has a classical stanza."""
        return all(isinstance(r, XWingPublicKey) for r in self.recipients)

    @property
    def fingerprint(self) -> str:
        """Digits that staff read aloud to check a server holds the right identity."""
        if self.version == 1:
            material = b"".join(bytes(r) for r in self.recipients) + bytes(self.signer)
            return fingerprint_digits(material)
        parts = [self.HEADER.encode("ascii"), b"\x00"]
        for recipient in self.recipients:
            prefix = XWING_PREFIX if isinstance(recipient, XWingPublicKey) else RECIPIENT_PREFIX
            parts += [prefix.encode("ascii"), b"\x00", bytes(recipient)]
        parts += [SIGNER_PREFIX.encode("ascii"), b"\x00", bytes(self.signer)]
        return fingerprint_digits(b"".join(parts), b"sealdrop-fprint2")

    def to_text(self) -> str:
        """Serialise as the admin-identity.pub file (in its own version)."""
        lines = [self.HEADER if self.version == 2 else self.HEADER_V1]
        lines += [f"recipient: {any_recipient_to_text(r)}" for r in self.recipients]
        lines.append(f"signer: {signer_to_text(self.signer)}")
        lines.append(f"fingerprint: {self.fingerprint}")
        return "\n".join(lines) + "\n"

    @classmethod
    def from_text(cls, text: str) -> AdminIdentity:
        """Parse an admin-identity.pub file (v2 or v1); the fingerprint must match the keys."""
        lines = text_lines(text)
        if lines[0] not in (cls.HEADER, cls.HEADER_V1):
            raise FormatError(f"not an admin identity file (first line must be {cls.HEADER!r})")
        version = 2 if lines[0] == cls.HEADER else 1
        recipients: list[Recipient] = []
        signer: VerifyKey | None = None
        fingerprint: str | None = None
        for line in lines[1:]:
            key, sep, value = line.partition(": ")
            if not sep:
                raise FormatError(f"malformed line in admin identity: {line[:40]!r}")
            if version == 2 and (
                (key == "recipient" and signer is not None)
                or (key == "signer" and not recipients)
                or (key != "fingerprint" and fingerprint is not None)
            ):
                raise FormatError("admin identity lines are out of order")
            if key == "recipient":
                if version == 1:
                    recipients.append(recipient_from_text(value))
                else:
                    recipients.append(any_recipient_from_text(value))
            elif key == "signer" and signer is None:
                signer = signer_from_text(value)
            elif key == "fingerprint" and fingerprint is None:
                fingerprint = value
            else:
                raise FormatError(f"unexpected or repeated field {key!r} in admin identity")
        if signer is None:
            raise FormatError("admin identity has no signer line")
        identity = cls(tuple(recipients), signer, version)
        if fingerprint is None or fingerprint != identity.fingerprint:
            raise FormatError("admin identity fingerprint does not match its keys")
        return identity


# --- passphrase-protected private key files -------------------------------------------

KEY_FILE_HEADER = "sealdrop private key v2"
KEY_FILE_HEADER_V1 = "sealdrop private key v1"
_KIND_TAGS = {"recipient": b"R", "signing": b"S", "hybrid": b"H"}
_V1_KINDS = ("recipient", "signing")


@dataclass(frozen=True)
class LockedKey:
    """A private key file's fields, before the passphrase is applied."""

    kind: str
    public: str
    cost: Argon2Cost
    salt: bytes
    box: bytes


def _key_file_key(passphrase: bytes, salt: bytes, cost: Argon2Cost) -> bytes:
    return argon2id(passphrase, salt, cost, SecretBox.KEY_SIZE)


PrivateKeyOfAnyKind = PrivateKey | XWingPrivateKey | SigningKey


def lock_private_key(
    key: PrivateKeyOfAnyKind, passphrase: bytes, cost: Argon2Cost = KEY_FILE_COST
) -> str:
    """Encrypt a private key under a passphrase (Argon2id + secretbox) as v2 key-file text."""
    if not passphrase:
        raise FormatError("an empty passphrase is not allowed")
    if isinstance(key, PrivateKey):
        kind, public, raw = "recipient", recipient_to_text(key.public_key), bytes(key)
    elif isinstance(key, XWingPrivateKey):
        kind, public, raw = "hybrid", xwing_to_text(key.public_key), bytes(key)
    else:
        kind, public, raw = "signing", signer_to_text(key.verify_key), bytes(key)
    salt = os.urandom(SALT_BYTES)
    box = SecretBox(_key_file_key(passphrase, salt, cost)).encrypt(_KIND_TAGS[kind] + raw)
    return (
        "\n".join(
            [
                KEY_FILE_HEADER,
                f"kind: {kind}",
                f"public: {public}",
                "kdf: argon2id",
                f"opslimit: {cost.opslimit}",
                f"memlimit: {cost.memlimit}",
                f"salt: {b64encode(salt)}",
                f"box: {b64encode(bytes(box))}",
            ]
        )
        + "\n"
    )


def parse_key_file(text: str) -> LockedKey:
    """Parse key-file text (v2 or v1) without decrypting it."""
    lines = text_lines(text)
    if lines[0] not in (KEY_FILE_HEADER, KEY_FILE_HEADER_V1):
        raise FormatError("not a Sealdrop private key file")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        key, sep, value = line.partition(": ")
        if not sep or key in fields:
            raise FormatError("malformed private key file")
        fields[key] = value
    expected = {"kind", "public", "kdf", "opslimit", "memlimit", "salt", "box"}
    if set(fields) != expected or fields["kdf"] != "argon2id":
        raise FormatError("malformed private key file")
    if fields["kind"] not in (_V1_KINDS if lines[0] == KEY_FILE_HEADER_V1 else _KIND_TAGS):
        raise FormatError(f"unknown key kind {fields['kind']!r}")
    cost = Argon2Cost(
        canonical_number(fields["opslimit"], "opslimit"),
        canonical_number(fields["memlimit"], "memlimit"),
    )
    box = b64decode(fields["box"], SecretBox.NONCE_SIZE + SecretBox.MACBYTES + 1 + KEY_BYTES)
    return LockedKey(
        fields["kind"], fields["public"], cost, b64decode(fields["salt"], SALT_BYTES), box
    )


def unlock_private_key(text: str, passphrase: bytes) -> PrivateKeyOfAnyKind:
    """Decrypt a key file; raises WrongPassphrase if the passphrase does not open it."""
    locked = parse_key_file(text)
    try:
        plain = SecretBox(_key_file_key(passphrase, locked.salt, locked.cost)).decrypt(locked.box)
    except nacl.exceptions.CryptoError as exc:
        raise WrongPassphrase(
            "wrong passphrase (or the key file was damaged): nothing was changed"
        ) from exc
    if plain[:1] != _KIND_TAGS[locked.kind]:
        raise FormatError("key file kind does not match its contents")
    key: PrivateKeyOfAnyKind
    if locked.kind == "recipient":
        key = PrivateKey(plain[1:])
        public = recipient_to_text(key.public_key)
    elif locked.kind == "hybrid":
        key = XWingPrivateKey(plain[1:])
        public = xwing_to_text(key.public_key)
    else:
        key = SigningKey(plain[1:])
        public = signer_to_text(key.verify_key)
    if public != locked.public:
        raise FormatError("key file public key does not match its private key")
    return key
