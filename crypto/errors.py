"""One exception root for everything crypto/ refuses.

Like PyNaCl, each subclass also inherits the builtin a caller would expect, so code may
catch either `CryptoError` or `ValueError`.
"""


class CryptoError(Exception):
    """Root of every error raised by crypto/."""


class FormatError(CryptoError, ValueError):
    """Input is not in the expected encoding (wrong prefix, length, checksum, syntax)."""


class HeaderError(FormatError):
    """An envelope or bundle header is malformed or failed authentication."""


class NoMatchingKey(CryptoError, ValueError):
    """None of the given private keys can open this envelope."""


class PayloadError(CryptoError, ValueError):
    """The payload failed authentication: corrupted, truncated or tampered with."""


class WrongPassphrase(CryptoError, ValueError):
    """A private key file could not be decrypted with the passphrase given."""


class SignatureError(CryptoError, ValueError):
    """A signed statement is not validly signed by the expected key."""


class ReceiptError(CryptoError, ValueError):
    """A receipt typed by a source is not a well-formed receipt."""
