"""X-Wing, the hybrid post-quantum KEM of draft-connolly-cfrg-xwing-kem (ML-KEM-768 + X25519).

A shared secret from X-Wing stays secret unless *both* ML-KEM-768 and X25519 are broken, so
an envelope sealed today is safe from a future quantum computer (ML-KEM) and from a flaw in
the young lattice scheme (X25519). ML-KEM-768 comes from pyca/cryptography; the key
expansion (SHAKE256) and the combiner (SHA3-256) are the draft's, checked against its
published vectors (tests/test_crypto_xwing.py).

    decapsulation key (private)  32 bytes, a seed
    encapsulation key (public)   1216 bytes = ML-KEM-768 public key (1184) || X25519 public (32)
    ciphertext                   1120 bytes = ML-KEM-768 ciphertext (1088) || X25519 ephemeral (32)
    shared secret                32 bytes
"""

from __future__ import annotations

import hashlib
import os

import nacl.exceptions
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base

from .errors import FormatError

SEED_BYTES = 32
PUBLIC_KEY_BYTES = 1216
CIPHERTEXT_BYTES = 1120
SHARED_SECRET_BYTES = 32
MLKEM_PUBLIC_BYTES = 1184
MLKEM_CIPHERTEXT_BYTES = 1088
X25519_BYTES = 32
LABEL = b"\\./" + b"/^\\"  # the draft's XWingLabel, hex 5c2e2f2f5e5c


def combiner(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    """The draft's combiner: SHA3-256(ss_M || ss_X || ct_X || pk_X || XWingLabel)."""
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + LABEL).digest()


def _x25519(scalar: bytes, point: bytes) -> bytes:
    """X25519 that returns the all-zero output instead of raising (the draft does not check)."""
    try:
        return bytes(crypto_scalarmult(scalar, point))
    except nacl.exceptions.RuntimeError:
        # libsodium refuses an all-zero result (a low-order point). X-Wing needs no such
        # check: ML-KEM still hides the secret. The ciphertext is then simply one that no
        # honest sender makes; the caller's AEAD decides whether anything opens.
        return bytes(X25519_BYTES)


class XWingPublicKey:
    """An X-Wing encapsulation key. It can only encapsulate."""

    def __init__(self, raw: bytes) -> None:
        if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_BYTES:
            raise FormatError(f"an X-Wing public key is {PUBLIC_KEY_BYTES} bytes")
        try:
            # from_public_bytes runs FIPS 203's encapsulation key check (§7.2), which the
            # draft requires before encapsulating.
            self._mlkem = MLKEM768PublicKey.from_public_bytes(raw[:MLKEM_PUBLIC_BYTES])
        except ValueError as exc:
            raise FormatError("not a valid ML-KEM-768 public key") from exc
        self._raw = raw
        self.x25519 = raw[MLKEM_PUBLIC_BYTES:]

    def __bytes__(self) -> bytes:
        return self._raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, XWingPublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def encapsulate(self) -> tuple[bytes, bytes]:
        """A fresh (shared secret, 1120-byte ciphertext)."""
        return self.encapsulate_derand(os.urandom(64))

    def encapsulate_derand(self, eseed: bytes) -> tuple[bytes, bytes]:
        """The X25519 half from eseed[32:64]; ML-KEM draws its own randomness.

        pyca/cryptography has no derandomised ML-KEM encapsulation, so only the X25519 half
        follows `eseed`; tests/vectors/generate.py makes fully reproducible ciphertexts with a
        second ML-KEM implementation."""
        if len(eseed) != 64:
            raise ValueError("eseed is 64 bytes")
        ek_x = eseed[32:]
        ct_x = bytes(crypto_scalarmult_base(ek_x))
        ss_x = _x25519(ek_x, self.x25519)
        ss_m, ct_m = self._mlkem.encapsulate()
        return combiner(ss_m, ss_x, ct_x, self.x25519), ct_m + ct_x


class XWingPrivateKey:
    """An X-Wing decapsulation key, kept expanded (the draft's §5.5.1 allows it)."""

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes) or len(seed) != SEED_BYTES:
            raise FormatError(f"an X-Wing private key is a {SEED_BYTES}-byte seed")
        expanded = hashlib.shake_256(seed).digest(96)
        self._seed = seed
        self._mlkem = MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
        self._x25519 = expanded[64:96]
        pk_x = bytes(crypto_scalarmult_base(self._x25519))
        pk_m = self._mlkem.public_key().public_bytes_raw()
        self.public_key = XWingPublicKey(pk_m + pk_x)

    @classmethod
    def generate(cls) -> XWingPrivateKey:
        """A fresh random key."""
        return cls(os.urandom(SEED_BYTES))

    def __bytes__(self) -> bytes:
        return self._seed

    def decapsulate(self, ciphertext: bytes) -> bytes:
        """The shared secret. Never fails on a well-sized ciphertext (ML-KEM rejects implicitly)."""
        if len(ciphertext) != CIPHERTEXT_BYTES:
            raise FormatError(f"an X-Wing ciphertext is {CIPHERTEXT_BYTES} bytes")
        ct_m, ct_x = ciphertext[:MLKEM_CIPHERTEXT_BYTES], ciphertext[MLKEM_CIPHERTEXT_BYTES:]
        ss_m = self._mlkem.decapsulate(ct_m)
        ss_x = _x25519(self._x25519, ct_x)
        return combiner(ss_m, ss_x, ct_x, self.public_key.x25519)


__all__ = [
    "CIPHERTEXT_BYTES",
    "PUBLIC_KEY_BYTES",
    "SEED_BYTES",
    "XWingPrivateKey",
    "XWingPublicKey",
    "combiner",
]
