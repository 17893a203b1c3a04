"""Receipts: what a source keeps to come back (docs/envelope-format.md §Receipts).

A receipt is 24 decimal digits, shown in six groups of four: 20 random (66 bits) and a check
group that tells a typing mistake from an unknown receipt (crypto/receipt_check.py);
receipts given before the check existed are 20 digits. From it and two
instance peppers one Argon2id call derives a master secret, split with keyed BLAKE2b into
the source id (stored, for look-up), the seed of the source's X25519 reply keypair, and the
seed of its X-Wing (hybrid post-quantum) reply keypair.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass

from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey

from .errors import ReceiptError
from .kdf import SALT_BYTES, Argon2Cost, argon2id
from .receipt_check import CHECKED_DIGITS, RANDOM_DIGITS, UNCHECKED_DIGITS, verify_check, with_check
from .xwing import XWingPrivateKey

RECEIPT_DIGITS = CHECKED_DIGITS  # a new receipt; older ones have UNCHECKED_DIGITS
GROUP = 4
PEPPER_BYTES = 32

# Characters a person may type between groups: spaces of every kind, and dashes.
_SEPARATORS = frozenset("-_\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff0d")


def new_receipt() -> str:
    """A fresh receipt with its check group, grouped: '4821 0937 5512 6604 7310 NNNN'."""
    return format_receipt(with_check(f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"))


def format_receipt(digits: str) -> str:
    """Group ASCII digits in fours."""
    return " ".join(digits[i : i + GROUP] for i in range(0, len(digits), GROUP))


def normalize_receipt(text: str) -> str:
    """Turn what a person typed into ASCII digits, or raise ReceiptError saying why.

    NFKC first (full-width digits and the ideographic space), then every Unicode decimal
    digit (Arabic-Indic, Devanagari, Tibetan...) to ASCII; spaces and dashes are dropped.
    """
    digits: list[str] = []
    for char in unicodedata.normalize("NFKC", text):
        if char.isspace() or char in _SEPARATORS:
            continue
        value = unicodedata.decimal(char, None)
        if value is None:
            raise ReceiptError("a receipt contains only digits")
        digits.append(str(value))
        if len(digits) > CHECKED_DIGITS:
            raise ReceiptError(f"a receipt has {CHECKED_DIGITS} digits; this has more")
    return checked_receipt(digits)


def checked_receipt(digits: list[str]) -> str:
    """24 digits whose check group matches (ReceiptMistyped if not), or 20 older ones."""
    if len(digits) not in (CHECKED_DIGITS, UNCHECKED_DIGITS):
        raise ReceiptError(
            f"a receipt has {CHECKED_DIGITS} digits ({UNCHECKED_DIGITS} if older); "
            f"this has {len(digits)}"
        )
    joined = "".join(digits)
    if len(joined) == CHECKED_DIGITS:
        verify_check(joined)
    return joined


@dataclass(frozen=True)
class Peppers:
    """Two instance-wide secrets: one salts Argon2id, the other keys the split."""

    salt_pepper: bytes
    split_pepper: bytes

    def __post_init__(self) -> None:
        if len(self.salt_pepper) != PEPPER_BYTES or len(self.split_pepper) != PEPPER_BYTES:
            raise ValueError(f"peppers are {PEPPER_BYTES} bytes each")
        if self.salt_pepper == self.split_pepper:
            raise ValueError("the two peppers must differ")

    @classmethod
    def generate(cls) -> Peppers:
        """Fresh random peppers for a new instance."""
        return cls(secrets.token_bytes(PEPPER_BYTES), secrets.token_bytes(PEPPER_BYTES))


@dataclass(frozen=True)
class SourceKeys:
    """What a receipt unlocks: the look-up id and the reply keypairs (X25519, X-Wing)."""

    source_id: bytes
    reply_key: PrivateKey
    reply_xwing_key: XWingPrivateKey

    @property
    def source_id_hex(self) -> str:
        """The source id as stored and exported."""
        return self.source_id.hex()


def _split(master: bytes, pepper: bytes, person: bytes) -> bytes:
    return blake2b(master, digest_size=32, key=pepper, person=person, encoder=RawEncoder)


def derive_source_keys(receipt: str, peppers: Peppers, cost: Argon2Cost) -> SourceKeys:
    """Derive the source id and reply keypair from a receipt (normalised here)."""
    digits = normalize_receipt(receipt)
    salt = blake2b(
        b"",
        digest_size=SALT_BYTES,
        key=peppers.salt_pepper,
        person=b"sealdrop-rsalt",
        encoder=RawEncoder,
    )
    master = argon2id(digits.encode("ascii"), salt, cost)
    source_id = _split(master, peppers.split_pepper, b"sealdrop-srcid")
    seed = _split(master, peppers.split_pepper, b"sealdrop-replysd")
    # The X-Wing seed is a third output of the same keyed split: receipts given before v2
    # derive the same id and X25519 key as before, and gain a hybrid key on their next use.
    xwing_seed = _split(master, peppers.split_pepper, b"sealdrop-replyxw")
    return SourceKeys(source_id, PrivateKey.from_seed(seed), XWingPrivateKey(xwing_seed))
