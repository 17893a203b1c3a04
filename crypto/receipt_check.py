"""The check group of a receipt: a typing mistake is told apart from an unknown receipt.

A checked receipt is 24 digits: 20 drawn at random (66.4 bits, as before) and a check
group of four. The first three check digits are a hash of the 20 (BLAKE2b, unkeyed, so a
source's own device or a paper table could check too: they add no secret), the fourth a
Damm check digit over the 23 before it. Damm catches every single wrong digit and every
swap of two neighbours, anywhere, the check group included; the hash catches all but about
one in a thousand of the other mistakes. Receipts given before the check existed are 20
digits and carry none: they are looked up as they are (docs/intake.md, "Receipts").
"""

from __future__ import annotations

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

from .errors import ReceiptError

RANDOM_DIGITS = 20
CHECK_DIGITS = 4
CHECKED_DIGITS = RANDOM_DIGITS + CHECK_DIGITS
UNCHECKED_DIGITS = RANDOM_DIGITS  # receipts given before the check existed
_PERSON = b"sealdrop-rcheck"

# The Damm quasigroup of order 10 (H. M. Damm, 2004): a totally anti-symmetric table.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


class ReceiptMistyped(ReceiptError):
    """A checked receipt whose check group does not match: a typing mistake."""


def damm_digit(digits: str) -> str:
    """The Damm check digit of ASCII digits (appended, the whole then checks to 0)."""
    interim = 0
    for char in digits:
        interim = _DAMM[interim][int(char)]
    return str(interim)


def check_group(random_digits: str) -> str:
    """The four check digits of 20 random ASCII digits."""
    if len(random_digits) != RANDOM_DIGITS or not random_digits.isdigit():
        raise ValueError(f"a check group is made from {RANDOM_DIGITS} ASCII digits")
    digest = blake2b(
        random_digits.encode("ascii"), digest_size=8, person=_PERSON, encoder=RawEncoder
    )
    hashed = f"{int.from_bytes(digest, 'big') % 1000:03d}"
    return hashed + damm_digit(random_digits + hashed)


def with_check(random_digits: str) -> str:
    """20 random digits followed by their check group: a new receipt's 24 digits."""
    return random_digits + check_group(random_digits)


def verify_check(digits: str) -> None:
    """Raise ReceiptMistyped unless 24 ASCII digits end with their own check group."""
    if (
        len(digits) != CHECKED_DIGITS
        or check_group(digits[:RANDOM_DIGITS]) != digits[RANDOM_DIGITS:]
    ):
        raise ReceiptMistyped("this receipt has a typing mistake")
