"""Envelope v2: X-Wing hybrid stanzas, mixed recipients, the order keys are tried in,
downgrade resistance, and v1 envelopes still opening (docs/envelope-format.md)."""

from __future__ import annotations

import io
import os

import nacl.bindings as sodium
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey

from crypto.envelope import (
    HEADER_MAC_BYTES,
    MAGIC,
    MAGIC_V1,
    STANZA_BYTES,
    STANZA_X25519,
    STANZA_XWING,
    XWING_STANZA_BYTES,
    Opener,
    Sealer,
    xwing_seal_file_key,
)
from crypto.errors import HeaderError, NoMatchingKey
from crypto.xwing import XWingPrivateKey

HYBRID = XWingPrivateKey.generate()
HYBRID_2 = XWingPrivateKey.generate()
CLASSIC = PrivateKey.generate()
META = {"kind": "message"}
FAST = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def seal(data: bytes, *recipients: object) -> bytes:
    return Sealer([r.public_key for r in recipients]).seal_bytes(data, META)  # type: ignore[attr-defined]


def open_env(envelope: bytes, *keys: object) -> bytes:
    return Opener(list(keys)).open_bytes(envelope)[1]  # type: ignore[arg-type]


def test_a_hybrid_envelope_opens_with_its_hybrid_key() -> None:
    envelope = seal(b"tip", HYBRID)
    assert envelope.startswith(MAGIC)
    assert envelope[len(MAGIC) + 2] == STANZA_XWING
    assert open_env(envelope, HYBRID) == b"tip"
    reader = Opener([HYBRID]).reader(io.BytesIO(envelope))
    assert reader.version == 2


def test_the_hybrid_header_costs_1169_bytes_per_recipient() -> None:
    one, two = seal(b"x", HYBRID), seal(b"x", HYBRID, HYBRID_2)
    assert len(two) - len(one) == 1 + XWING_STANZA_BYTES == 1169


def test_a_hybrid_envelope_does_not_open_with_another_key() -> None:
    envelope = seal(b"tip", HYBRID)
    with pytest.raises(NoMatchingKey):
        open_env(envelope, HYBRID_2, CLASSIC)


def test_mixed_recipients_each_open_the_same_envelope() -> None:
    envelope = seal(b"both", CLASSIC, HYBRID)
    assert open_env(envelope, CLASSIC) == b"both"
    assert open_env(envelope, HYBRID) == b"both"
    assert open_env(envelope, HYBRID_2, HYBRID, CLASSIC) == b"both"


@pytest.mark.parametrize("where", [0, 700, 1087])
def test_a_tampered_mlkem_ciphertext_is_no_match(where: int) -> None:
    envelope = bytearray(seal(b"tip", HYBRID))
    envelope[len(MAGIC) + 3 + where] ^= 0x01
    with pytest.raises(NoMatchingKey):
        open_env(bytes(envelope), HYBRID)


@pytest.mark.parametrize("where", [1088, 1100, 1119])
def test_a_tampered_x25519_share_is_no_match(where: int) -> None:
    envelope = bytearray(seal(b"tip", HYBRID))
    envelope[len(MAGIC) + 3 + where] ^= 0x01
    with pytest.raises(NoMatchingKey):
        open_env(bytes(envelope), HYBRID)


@pytest.mark.parametrize("where", [1120, 1151, 1167])
def test_a_tampered_wrapped_file_key_is_no_match(where: int) -> None:
    envelope = bytearray(seal(b"tip", HYBRID))
    envelope[len(MAGIC) + 3 + where] ^= 0x01
    with pytest.raises(NoMatchingKey):
        open_env(bytes(envelope), HYBRID)


def _strip_to_classical(envelope: bytes) -> bytes:
    """A hybrid stanza cut down to its X25519 share and wrapped key, relabelled X25519."""
    start = len(MAGIC) + 2
    body = envelope[start + 1 : start + 1 + XWING_STANZA_BYTES]
    classical = bytes([STANZA_X25519]) + body[1088:1120] + body[1120:]
    assert len(classical) == 1 + STANZA_BYTES
    return envelope[:start] + classical + envelope[start + 1 + XWING_STANZA_BYTES :]


def test_a_hybrid_stanza_stripped_to_its_classical_part_opens_for_no_key() -> None:
    stripped = _strip_to_classical(seal(b"tip", HYBRID))
    # Neither the hybrid key (never used on an X25519 stanza) nor its X25519 half opens it.
    x25519_half = PrivateKey(HYBRID._x25519)
    for keys in ((HYBRID,), (x25519_half,), (HYBRID, x25519_half)):
        with pytest.raises(NoMatchingKey):
            open_env(stripped, *keys)


def test_dropping_the_hybrid_stanza_of_a_mixed_envelope_fails_the_header_mac() -> None:
    envelope = seal(b"tip", CLASSIC, HYBRID)
    start = len(MAGIC) + 2
    classical_end = start + 1 + STANZA_BYTES
    dropped = (
        envelope[: len(MAGIC) + 1]
        + b"\x01"
        + envelope[start:classical_end]
        + envelope[classical_end + 1 + XWING_STANZA_BYTES :]
    )
    with pytest.raises(HeaderError, match="authentication"):
        open_env(dropped, CLASSIC)


def test_relabelling_v2_as_v1_is_refused() -> None:
    envelope = MAGIC_V1 + seal(b"tip", CLASSIC)[len(MAGIC) :]
    with pytest.raises((HeaderError, NoMatchingKey)):
        open_env(envelope, CLASSIC)


# --- which stanza and key are tried, and what a MAC failure means ------------------------


def _two_file_keys(mac_under: int) -> bytes:
    """Two X25519 stanzas holding different file keys; the MAC made with one of them.

    A compromised producer can do this: the reader's result must not depend on which
    of the keys it holds open which stanza first."""
    from tests.vectors.generate import seal_with_file_key  # the spec's own encoder

    return seal_with_file_key(
        [os.urandom(32), os.urandom(32)],
        [CLASSIC.public_key, OTHER.public_key],
        mac_key_index=mac_under,
        content=b"content",
    )


OTHER = PrivateKey.generate()


@pytest.mark.parametrize("mac_under", [0, 1])
def test_a_stanza_that_opens_but_fails_the_mac_does_not_stop_the_search(mac_under: int) -> None:
    envelope = _two_file_keys(mac_under)
    holder = (CLASSIC, OTHER)[mac_under]
    wrong = (CLASSIC, OTHER)[1 - mac_under]
    # Every key set that includes the stanza whose key authenticates the header opens it,
    # in any order, to the same content.
    for keys in ((holder,), (wrong, holder), (holder, wrong)):
        assert open_env(envelope, *keys) == b"content"
    # Only the wrong key: its stanza opens, the header does not authenticate.
    with pytest.raises(HeaderError, match="authentication"):
        open_env(envelope, wrong)


def test_a_hybrid_key_never_opens_an_x25519_stanza_made_from_its_own_x25519_half() -> None:
    """Keys are only tried on stanzas of their own type (the downgrade rule)."""
    x25519_half = PrivateKey(HYBRID._x25519)
    envelope = Sealer([x25519_half.public_key]).seal_bytes(b"x", META)
    assert open_env(envelope, x25519_half) == b"x"
    with pytest.raises(NoMatchingKey):
        open_env(envelope, HYBRID)


def test_the_wrapped_file_key_is_48_bytes() -> None:
    shared, _ = HYBRID.public_key.encapsulate()
    assert len(xwing_seal_file_key(shared, os.urandom(32))) == 48


# --- v1 keeps opening, short inputs ------------------------------------------------------


def test_a_v1_envelope_still_opens() -> None:
    from tests.vectors.generate import seal_v1

    envelope = seal_v1([CLASSIC.public_key], b"waiting on the server")
    assert envelope.startswith(MAGIC_V1)
    reader = Opener([CLASSIC, HYBRID]).reader(io.BytesIO(envelope))
    assert reader.version == 1
    assert open_env(envelope, HYBRID, CLASSIC) == b"waiting on the server"


@pytest.mark.parametrize("magic", [MAGIC, MAGIC_V1])
@pytest.mark.parametrize("cut", [1, 9, 18, 20])
def test_an_input_shorter_than_the_magic_is_truncated_not_another_version(
    magic: bytes, cut: int
) -> None:
    with pytest.raises(HeaderError, match="truncated"):
        open_env(magic[:cut], CLASSIC)


@pytest.mark.parametrize(
    "data", [b"", b"PK\x03\x04", b"sealdrop-envelope/v9", b"sealdrop-envelope/v3\n"]
)
def test_other_short_inputs_are_not_envelopes_or_another_version(data: bytes) -> None:
    with pytest.raises(HeaderError, match=r"not a Sealdrop envelope|unsupported envelope version"):
        open_env(data + bytes(200), CLASSIC)


@pytest.mark.parametrize("cut", [len(MAGIC) + 3, len(MAGIC) + 3 + 1119, len(MAGIC) + 3 + 1167])
def test_a_hybrid_header_cut_short_is_truncated(cut: int) -> None:
    with pytest.raises(HeaderError, match="truncated"):
        open_env(seal(b"tip", HYBRID)[:cut], HYBRID)


@FAST
@given(st.binary(max_size=3000))
def test_any_bytes_after_the_v2_magic_give_one_of_the_stated_errors(tail: bytes) -> None:
    from crypto.errors import PayloadError

    with pytest.raises((HeaderError, NoMatchingKey, PayloadError)):
        open_env(MAGIC + tail, HYBRID, CLASSIC)


def test_header_mac_covers_the_stanza_types() -> None:
    envelope = seal(b"tip", HYBRID)
    header_end = len(MAGIC) + 2 + 1 + XWING_STANZA_BYTES
    mac = envelope[header_end : header_end + HEADER_MAC_BYTES]
    # Recompute with the file key recovered through the public API's pieces.
    shared = HYBRID.decapsulate(envelope[len(MAGIC) + 3 : len(MAGIC) + 3 + 1120])
    wrap_key = blake2b(shared, digest_size=32, person=b"sealdrop-xwing-w", encoder=RawEncoder)
    file_key = sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
        envelope[len(MAGIC) + 3 + 1120 : header_end],
        b"sealdrop-envelope/v2 xwing",
        bytes(12),
        wrap_key,
    )
    mac_key = blake2b(
        b"", digest_size=32, key=file_key, person=b"sealdrop-env-mac", encoder=RawEncoder
    )
    assert blake2b(envelope[:header_end], digest_size=32, key=mac_key, encoder=RawEncoder) == mac
    retyped = envelope[: len(MAGIC) + 2] + b"\x01" + envelope[len(MAGIC) + 3 :]
    assert blake2b(retyped[:header_end], digest_size=32, key=mac_key, encoder=RawEncoder) != mac
