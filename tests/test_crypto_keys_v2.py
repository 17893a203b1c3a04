"""Identity and key-file format v2: hybrid (X-Wing) recipients, the fingerprint over every
key, v1 files still read, and the stated tolerances of key files (docs/envelope-format.md)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.errors import FormatError
from crypto.kdf import Argon2Cost
from crypto.keys import (
    AdminIdentity,
    lock_private_key,
    parse_key_file,
    recipient_to_text,
    signer_to_text,
    text_lines,
    unlock_private_key,
    xwing_from_text,
    xwing_to_text,
)
from crypto.xwing import XWingPrivateKey

HYBRID = XWingPrivateKey.generate()
HYBRID_2 = XWingPrivateKey.generate()
CLASSIC = PrivateKey.generate()
SIGNER = SigningKey.generate()


def test_hybrid_key_text_round_trips_and_is_1960_characters() -> None:
    text = xwing_to_text(HYBRID.public_key)
    assert text.startswith("sdxwing1")
    assert len(text) == len("sdxwing1") + 1952
    assert xwing_from_text(text) == HYBRID.public_key


def test_hybrid_key_text_with_a_low_order_x25519_part_is_refused() -> None:
    from crypto.encoding import encode_key_text

    raw = bytes(HYBRID.public_key)[:1184] + bytes(32)
    with pytest.raises(FormatError, match=r"all-zero|low-order"):
        xwing_from_text(encode_key_text("sdxwing1", raw))


def test_a_recipient_prefix_cannot_be_swapped() -> None:
    text = xwing_to_text(HYBRID.public_key)
    with pytest.raises(FormatError):
        AdminIdentity.from_text(
            "sealdrop admin identity v2\nrecipient: sdrecipient1" + text[len("sdxwing1") :]
        )


def test_fingerprint_v2_formula() -> None:
    """The spec's formula, computed here from raw bytes, prefixes and the domain string."""
    ident = AdminIdentity((HYBRID.public_key, CLASSIC.public_key), SIGNER.verify_key)
    message = (
        b"sealdrop admin identity v2\x00"
        + b"sdxwing1\x00"
        + bytes(HYBRID.public_key)
        + b"sdrecipient1\x00"
        + bytes(CLASSIC.public_key)
        + b"sdsigner1\x00"
        + bytes(SIGNER.verify_key)
    )
    digest = blake2b(message, digest_size=16, person=b"sealdrop-fprint2", encoder=RawEncoder)
    digits = f"{int.from_bytes(digest, 'big') % 10**24:024d}"
    assert ident.fingerprint == " ".join(digits[i : i + 4] for i in range(0, 24, 4))


def test_the_fingerprint_covers_every_key_and_its_order() -> None:
    base = AdminIdentity((HYBRID.public_key, HYBRID_2.public_key), SIGNER.verify_key)
    variants = [
        AdminIdentity((HYBRID_2.public_key, HYBRID.public_key), SIGNER.verify_key),
        AdminIdentity((HYBRID.public_key,), SIGNER.verify_key),
        AdminIdentity((HYBRID.public_key, CLASSIC.public_key), SIGNER.verify_key),
        AdminIdentity(base.recipients, SigningKey.generate().verify_key),
    ]
    prints = {base.fingerprint, *(v.fingerprint for v in variants)}
    assert len(prints) == 5


def test_a_hybrid_identity_round_trips() -> None:
    ident = AdminIdentity((HYBRID.public_key, HYBRID_2.public_key), SIGNER.verify_key)
    text = ident.to_text()
    assert text.startswith("sealdrop admin identity v2\n")
    again = AdminIdentity.from_text(text)
    assert again == ident
    assert again.hybrid
    assert again.version == 2


def test_a_v1_identity_still_reads_with_its_v1_fingerprint() -> None:
    raw = bytes(CLASSIC.public_key) + bytes(SIGNER.verify_key)
    digest = blake2b(raw, digest_size=16, person=b"sealdrop-fprint1", encoder=RawEncoder)
    digits = f"{int.from_bytes(digest, 'big') % 10**24:024d}"
    fingerprint = " ".join(digits[i : i + 4] for i in range(0, 24, 4))
    text = (
        "sealdrop admin identity v1\n"
        f"recipient: {recipient_to_text(CLASSIC.public_key)}\n"
        f"signer: {signer_to_text(SIGNER.verify_key)}\n"
        f"fingerprint: {fingerprint}\n"
    )
    ident = AdminIdentity.from_text(text)
    assert ident.version == 1
    assert not ident.hybrid
    assert ident.to_text() == text


def test_a_v1_identity_cannot_hold_a_hybrid_key() -> None:
    with pytest.raises(FormatError, match="v1"):
        AdminIdentity((HYBRID.public_key,), SIGNER.verify_key, version=1)


def test_v2_identity_lines_must_be_in_order() -> None:
    text = AdminIdentity((HYBRID.public_key,), SIGNER.verify_key).to_text()
    lines = text.splitlines()
    with pytest.raises(FormatError, match="out of order"):
        AdminIdentity.from_text("\n".join([lines[0], lines[2], lines[1], lines[3]]))


def test_a_hybrid_key_file_round_trips(argon2_cost: Argon2Cost) -> None:
    text = lock_private_key(HYBRID, b"pw", argon2_cost)
    assert parse_key_file(text).kind == "hybrid"
    key = unlock_private_key(text, b"pw")
    assert isinstance(key, XWingPrivateKey)
    assert bytes(key) == bytes(HYBRID)


# --- tolerances, as properties ---------------------------------------------------------------

WHITESPACE = st.text(alphabet=" \t\r\n", max_size=6)
LINE_END_SPACE = st.text(alphabet=" \t", max_size=3)


@settings(max_examples=30, deadline=None)
@given(WHITESPACE, WHITESPACE, st.lists(LINE_END_SPACE, min_size=8, max_size=8), st.booleans())
def test_key_files_tolerate_the_stated_whitespace(
    before: str, after: str, ends: list[str], crlf: bool
) -> None:
    text = lock_private_key(CLASSIC, b"pw", Argon2Cost(1, 8192))
    lines = [line + end for line, end in zip(text.splitlines(), ends, strict=True)]
    mangled = before + ("\r\n" if crlf else "\n").join(lines) + after
    assert parse_key_file(mangled) == parse_key_file(text)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["\r", "\x0b", "\x0c", "\x1c", "\u2028", "\x85"]))
def test_other_line_breaks_are_refused(separator: str) -> None:
    text = lock_private_key(CLASSIC, b"pw", Argon2Cost(1, 8192))
    mangled = text.replace("\nkind", separator + "kind")
    with pytest.raises(FormatError):
        parse_key_file(mangled)


@pytest.mark.parametrize(
    "value", ["01", "+1", "-1", "1.0", "1e1", " 1", "\u0661", "\uff11", "0", "12345678901"]
)
def test_non_canonical_numbers_are_refused(value: str) -> None:
    text = lock_private_key(CLASSIC, b"pw", Argon2Cost(1, 8192))
    mangled = text.replace("opslimit: 1\n", f"opslimit: {value}\n")
    with pytest.raises(FormatError):
        parse_key_file(mangled)


def test_text_lines_rules() -> None:
    assert text_lines(" \r\na: b \t\r\nc: d\n\n") == ["a: b", "c: d"]
    with pytest.raises(FormatError):
        text_lines("a: b\rc: d")


IDENTITY_TEXT = AdminIdentity((HYBRID.public_key, CLASSIC.public_key), SIGNER.verify_key).to_text()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, len(IDENTITY_TEXT) - 1), st.characters(), st.sampled_from(["set", "cut"]))
def test_a_changed_identity_file_is_refused_with_a_format_error(
    position: int, char: str, how: str
) -> None:
    if how == "cut":
        mangled = IDENTITY_TEXT[:position]
    else:
        mangled = IDENTITY_TEXT[:position] + char + IDENTITY_TEXT[position + 1 :]
    if mangled.strip(" \t\r\n") == IDENTITY_TEXT.strip(" \t\r\n"):
        return  # only whitespace the rules ignore changed
    try:
        parsed = AdminIdentity.from_text(mangled)
    except FormatError:
        return
    # Anything accepted is the same identity: a change that the rules tolerate (whitespace
    # at a line's end) or none at all; never other keys.
    assert parsed == AdminIdentity.from_text(IDENTITY_TEXT)
