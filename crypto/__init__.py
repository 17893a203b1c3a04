"""Formats and primitives shared by the intake server and the offline admin tool.

This package depends on nothing else of Sealdrop's. Formats: docs/envelope-format.md and
docs/bundle-format.md.
"""

from .errors import (
    CryptoError,
    FormatError,
    HeaderError,
    NoMatchingKey,
    PayloadError,
    ReceiptError,
    SignatureError,
    WrongPassphrase,
)

__all__ = [
    "CryptoError",
    "FormatError",
    "HeaderError",
    "NoMatchingKey",
    "PayloadError",
    "ReceiptError",
    "SignatureError",
    "WrongPassphrase",
]
