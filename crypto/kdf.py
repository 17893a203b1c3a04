"""Argon2id cost settings, stated once and passed explicitly (no global knob)."""

from __future__ import annotations

from dataclasses import dataclass

from nacl import pwhash

from .errors import FormatError

MiB = 1024 * 1024


@dataclass(frozen=True)
class Argon2Cost:
    """Argon2id parameters: passes (opslimit) and memory in bytes (memlimit)."""

    opslimit: int
    memlimit: int

    def __post_init__(self) -> None:
        if not (pwhash.argon2id.OPSLIMIT_MIN <= self.opslimit <= MAX_OPSLIMIT):
            raise FormatError(f"Argon2id opslimit {self.opslimit} is out of range")
        if not (pwhash.argon2id.MEMLIMIT_MIN <= self.memlimit <= MAX_MEMLIMIT):
            raise FormatError(f"Argon2id memlimit {self.memlimit} is out of range")


# Upper bounds so a hostile key file cannot make us allocate or spin without limit.
MAX_OPSLIMIT = 16
MAX_MEMLIMIT = 2048 * MiB

# Private key files on the offline laptop: about 1 s there, once per command.
KEY_FILE_COST = Argon2Cost(opslimit=3, memlimit=256 * MiB)
# Receipt derivation on the server: about 0.15 s; concurrency is bounded by the caller.
RECEIPT_COST = Argon2Cost(opslimit=2, memlimit=64 * MiB)
# The cheapest setting libsodium allows: for tests only (one fixture passes it).
TEST_COST = Argon2Cost(opslimit=pwhash.argon2id.OPSLIMIT_MIN, memlimit=pwhash.argon2id.MEMLIMIT_MIN)

SALT_BYTES = pwhash.argon2id.SALTBYTES


def argon2id(secret: bytes, salt: bytes, cost: Argon2Cost, size: int = 32) -> bytes:
    """Derive `size` bytes from `secret` with Argon2id."""
    if len(salt) != SALT_BYTES:
        raise FormatError(f"Argon2id salt must be {SALT_BYTES} bytes")
    return pwhash.argon2id.kdf(size, secret, salt, opslimit=cost.opslimit, memlimit=cost.memlimit)
