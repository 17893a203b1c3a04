"""Key text forms, the admin identity file and passphrase-locked private key files."""

from __future__ import annotations

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.encoding import decode_key_text, encode_key_text
from crypto.errors import FormatError, WrongPassphrase
from crypto.kdf import Argon2Cost
from crypto.keys import (
    RECIPIENT_PREFIX,
    SIGNER_PREFIX,
    AdminIdentity,
    lock_private_key,
    parse_key_file,
    recipient_from_text,
    recipient_to_text,
    signer_from_text,
    signer_to_text,
    unlock_private_key,
)

RECIPIENT = PrivateKey.generate()
SIGNER = SigningKey.generate()
# A point of order 8 on Curve25519 (from the list libsodium blacklists).
LOW_ORDER = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


@settings(max_examples=200)
@given(st.binary(min_size=32, max_size=32), st.sampled_from([RECIPIENT_PREFIX, SIGNER_PREFIX]))
def test_key_text_round_trip(raw: bytes, prefix: str) -> None:
    text = encode_key_text(prefix, raw)
    assert text.startswith(prefix)
    assert re.fullmatch(r"[a-z2-7]{58}", text[len(prefix) :])
    assert decode_key_text(prefix, text, 32) == raw


def test_public_key_text_round_trips() -> None:
    assert recipient_from_text(recipient_to_text(RECIPIENT.public_key)) == RECIPIENT.public_key
    assert signer_from_text(signer_to_text(SIGNER.verify_key)) == SIGNER.verify_key


@settings(max_examples=100)
@given(st.binary(min_size=32, max_size=32), st.data())
def test_any_single_character_change_is_refused(raw: bytes, data: st.DataObject) -> None:
    text = encode_key_text(RECIPIENT_PREFIX, raw)
    index = data.draw(st.integers(len(RECIPIENT_PREFIX), len(text) - 1))
    new = data.draw(
        st.sampled_from("abcdefghijklmnopqrstuvwxyz234567").filter(lambda c: c != text[index])
    )
    with pytest.raises(FormatError):
        decode_key_text(RECIPIENT_PREFIX, text[:index] + new + text[index + 1 :], 32)


def test_mistyped_key_names_the_checksum() -> None:
    text = recipient_to_text(RECIPIENT.public_key)
    index = len(RECIPIENT_PREFIX) + 3
    changed = text[:index] + ("a" if text[index] != "a" else "b") + text[index + 1 :]
    with pytest.raises(FormatError, match="checksum"):
        recipient_from_text(changed)


def test_uppercase_key_text_is_refused() -> None:
    text = recipient_to_text(RECIPIENT.public_key)
    with pytest.raises(FormatError, match="a-z"):
        recipient_from_text(RECIPIENT_PREFIX + text[len(RECIPIENT_PREFIX) :].upper())
    with pytest.raises(FormatError, match="starting with"):
        recipient_from_text(text.upper())


def test_non_zero_trailing_bits_are_refused() -> None:
    # 36 bytes are 288 bits; 58 base32 characters carry 290: the last character's two low
    # bits must be zero, or the same key would have four spellings.
    text = recipient_to_text(RECIPIENT.public_key)
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    last = alphabet.index(text[-1])
    assert last & 0b11 == 0
    variant = text[:-1] + alphabet[last | 0b01]
    body = variant[len(RECIPIENT_PREFIX) :].upper() + "======"
    assert base64.b32decode(body)[:32] == bytes(RECIPIENT.public_key)  # same bytes...
    with pytest.raises(FormatError, match="canonical"):
        recipient_from_text(variant)  # ...but refused


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1],
        lambda t: t + "a",
        lambda t: t[:20] + " " + t[20:],
        lambda t: t[:20] + "=" + t[21:],
        lambda t: t[:20] + "1" + t[21:],
        lambda t: t.replace(RECIPIENT_PREFIX, SIGNER_PREFIX),
        lambda t: t.replace(RECIPIENT_PREFIX, "sdrecipient2"),
        lambda t: "",
    ],
    ids=["short", "long", "space", "padding", "digit-1", "other-prefix", "version", "empty"],
)
def test_malformed_recipient_text_is_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError):
        recipient_from_text(mangle(recipient_to_text(RECIPIENT.public_key)))


def test_signer_text_is_not_a_recipient_and_back() -> None:
    # The prefix is inside the checksum, so a renamed key fails even if lengths agree.
    signer = signer_to_text(SIGNER.verify_key)
    renamed = RECIPIENT_PREFIX + signer[len(SIGNER_PREFIX) :]
    with pytest.raises(FormatError, match="checksum"):
        recipient_from_text(renamed)
    with pytest.raises(FormatError):
        signer_from_text(recipient_to_text(RECIPIENT.public_key))


@pytest.mark.parametrize("raw", [bytes(32), bytes([1]) + bytes(31), LOW_ORDER])
def test_all_zero_and_low_order_recipients_are_refused(raw: bytes) -> None:
    # Found while testing: a low-order key parsed fine and then every seal failed inside
    # libsodium, so a server would have started and then lost every tip.
    with pytest.raises(FormatError, match="not a valid key"):
        recipient_from_text(encode_key_text(RECIPIENT_PREFIX, raw))


def test_key_text_must_be_a_string() -> None:
    with pytest.raises(FormatError):
        recipient_from_text(b"sdrecipient1aaaa")  # type: ignore[arg-type]


# --- admin identity -----------------------------------------------------------------------


def identity(recipients: int = 2) -> AdminIdentity:
    """An identity with fresh keys."""
    keys = tuple(PrivateKey.generate().public_key for _ in range(recipients))
    return AdminIdentity(keys, SigningKey.generate().verify_key)


def test_identity_file_round_trip_and_layout() -> None:
    ident = identity(2)
    text = ident.to_text()
    lines = text.splitlines()
    assert lines[0] == "sealdrop admin identity v2"
    assert [line.split(": ")[0] for line in lines[1:]] == [
        "recipient",
        "recipient",
        "signer",
        "fingerprint",
    ]
    assert re.fullmatch(r"(\d{4} ){5}\d{4}", ident.fingerprint)
    assert AdminIdentity.from_text(text) == ident
    assert AdminIdentity.from_text(text.replace("\n", "\r\n")) == ident


def test_fingerprint_depends_on_every_key_and_their_order() -> None:
    ident = identity(2)
    swapped = AdminIdentity(ident.recipients[::-1], ident.signer)
    other_signer = AdminIdentity(ident.recipients, SigningKey.generate().verify_key)
    prints = {ident.fingerprint, swapped.fingerprint, other_signer.fingerprint}
    assert len(prints) == 3


def _replace_line(text: str, field: str, value: str) -> str:
    return "\n".join(
        f"{field}: {value}" if line.startswith(field + ": ") else line for line in text.splitlines()
    )


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t.replace("v2", "v3", 1), "first line"),
        (lambda t: _replace_line(t, "fingerprint", "0000 0000 0000 0000 0000 0000"), "fingerprint"),
        (
            lambda t: "\n".join(x for x in t.splitlines() if not x.startswith("fingerprint")),
            "fingerprint",
        ),
        (lambda t: "\n".join(x for x in t.splitlines() if not x.startswith("signer")), "no signer"),
        (lambda t: t + "signer: " + signer_to_text(SIGNER.verify_key) + "\n", "out of order"),
        (lambda t: t + "comment: hello\n", "out of order"),
        (lambda t: t + "just words\n", "malformed"),
        (lambda t: "", "first line"),
    ],
    ids=[
        "version",
        "wrong-fingerprint",
        "no-fingerprint",
        "no-signer",
        "two-signers",
        "unknown-field",
        "no-colon",
        "empty",
    ],
)
def test_bad_identity_files_are_refused(mangle, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FormatError, match=message):
        AdminIdentity.from_text(mangle(identity().to_text()))


def test_identity_needs_1_to_16_distinct_recipients() -> None:
    signer = SIGNER.verify_key
    with pytest.raises(FormatError, match="1 to 16"):
        AdminIdentity((), signer)
    with pytest.raises(FormatError, match="1 to 16"):
        AdminIdentity(tuple(PrivateKey.generate().public_key for _ in range(17)), signer)
    with pytest.raises(FormatError, match="twice"):
        AdminIdentity((RECIPIENT.public_key, RECIPIENT.public_key), signer)
    text = identity(1).to_text()
    line = next(x for x in text.splitlines() if x.startswith("recipient"))
    with pytest.raises(FormatError, match="twice"):
        AdminIdentity.from_text(text.replace(line, line + "\n" + line))


# --- private key files ----------------------------------------------------------------------


@pytest.mark.parametrize("key", [RECIPIENT, SIGNER], ids=["recipient", "signing"])
def test_key_file_round_trip(key: PrivateKey | SigningKey, argon2_cost: Argon2Cost) -> None:
    text = lock_private_key(key, "correct horse 正确".encode(), argon2_cost)
    assert text.startswith("sealdrop private key v2\n")
    assert bytes(key) not in text.encode()
    locked = parse_key_file(text)
    assert (locked.cost.opslimit, locked.cost.memlimit) == (
        argon2_cost.opslimit,
        argon2_cost.memlimit,
    )
    unlocked = unlock_private_key(text, "correct horse 正确".encode())
    assert type(unlocked) is type(key)
    assert bytes(unlocked) == bytes(key)


def test_same_key_locked_twice_differs(argon2_cost: Argon2Cost) -> None:
    assert lock_private_key(RECIPIENT, b"pw", argon2_cost) != lock_private_key(
        RECIPIENT, b"pw", argon2_cost
    )


def test_wrong_passphrase(argon2_cost: Argon2Cost) -> None:
    text = lock_private_key(RECIPIENT, b"right", argon2_cost)
    for wrong in (b"wrong", b"Right", b"right ", b""):
        with pytest.raises(WrongPassphrase, match="nothing was changed"):
            unlock_private_key(text, wrong)


def _field(text: str, name: str) -> str:
    return next(
        line.split(": ", 1)[1] for line in text.splitlines() if line.startswith(name + ": ")
    )


def _flip_b64(value: str, index: int) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(("field", "index"), [("box", 0), ("box", 30), ("box", -1), ("salt", 3)])
def test_tampered_key_file_does_not_open(field: str, index: int, argon2_cost: Argon2Cost) -> None:
    text = lock_private_key(SIGNER, b"pw", argon2_cost)
    tampered = _replace_line(text, field, _flip_b64(_field(text, field), index))
    with pytest.raises(WrongPassphrase):
        unlock_private_key(tampered, b"pw")


def test_tampered_cost_does_not_open(argon2_cost: Argon2Cost) -> None:
    text = lock_private_key(SIGNER, b"pw", argon2_cost)
    tampered = _replace_line(text, "opslimit", str(argon2_cost.opslimit + 1))
    with pytest.raises(WrongPassphrase):
        unlock_private_key(tampered, b"pw")


def test_key_file_public_and_kind_must_match(argon2_cost: Argon2Cost) -> None:
    text = lock_private_key(RECIPIENT, b"pw", argon2_cost)
    other = recipient_to_text(PrivateKey.generate().public_key)
    with pytest.raises(FormatError, match="does not match its private key"):
        unlock_private_key(_replace_line(text, "public", other), b"pw")
    with pytest.raises(FormatError, match="kind does not match"):
        unlock_private_key(_replace_line(text, "kind", "signing"), b"pw")


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda t: t.replace("v2", "v9", 1), "not a Sealdrop private key"),
        (lambda t: _replace_line(t, "kdf", "scrypt"), "malformed"),
        (lambda t: _replace_line(t, "kind", "master"), "unknown key kind"),
        (lambda t: _replace_line(t, "opslimit", "many"), "Argon2id opslimit must be"),
        (lambda t: _replace_line(t, "opslimit", "1000"), "Argon2id"),
        (lambda t: _replace_line(t, "memlimit", str(64 * 1024**3)), "Argon2id"),
        (lambda t: "\n".join(x for x in t.splitlines() if not x.startswith("salt")), "malformed"),
        (lambda t: t + "salt: AAAA\n", "malformed"),
        (lambda t: _replace_line(t, "salt", "AAAA"), "expected 16 bytes"),
        (lambda t: _replace_line(t, "box", _field(t, "box")[:-4]), "expected"),
        (lambda t: _replace_line(t, "box", _field(t, "box").replace("=", "")), "base64"),
    ],
    ids=[
        "version",
        "kdf",
        "kind",
        "ops-text",
        "ops-huge",
        "mem-huge",
        "no-salt",
        "two-salts",
        "short-salt",
        "short-box",
        "unpadded",
    ],
)
def test_malformed_key_files_are_refused(mangle, message: str, argon2_cost: Argon2Cost) -> None:  # type: ignore[no-untyped-def]
    text = lock_private_key(RECIPIENT, b"pw", argon2_cost)
    with pytest.raises(FormatError, match=message):
        unlock_private_key(mangle(text), b"pw")


def test_empty_passphrase_is_refused(argon2_cost: Argon2Cost) -> None:
    with pytest.raises(FormatError, match="empty passphrase"):
        lock_private_key(RECIPIENT, b"", argon2_cost)


def test_argon2_cost_bounds() -> None:
    with pytest.raises(FormatError):
        Argon2Cost(0, 64 * 1024 * 1024)
    with pytest.raises(FormatError):
        Argon2Cost(2, 1024)
