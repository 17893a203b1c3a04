"""Hybrid (X-Wing) reply sealing and the receipt-derived X-Wing reply key."""

from __future__ import annotations

import json

import pytest
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.encoding import b64decode, b64encode
from crypto.errors import FormatError, PayloadError
from crypto.kdf import Argon2Cost, argon2id
from crypto.receipts import Peppers, derive_source_keys
from crypto.replies import make_reply, open_reply, verify_reply
from crypto.statements import sign_statement
from crypto.xwing import XWingPrivateKey

SIGNING = SigningKey.generate()
INSTANCE = "ab" * 16
SOURCE = "cd" * 32
XW = XWingPrivateKey.generate()


def test_a_hybrid_reply_opens_with_the_xwing_key_only() -> None:
    statement = make_reply(
        SIGNING, INSTANCE, SOURCE, XW.public_key, "你好, are you safe?", "2026-12-06"
    )
    reply = verify_reply(statement, SIGNING.verify_key, INSTANCE)
    assert reply.kem == "xwing"
    assert json.loads(statement)["body"]["kem"] == "xwing"
    assert open_reply(reply.sealed, XW) == "你好, are you safe?"
    with pytest.raises(PayloadError):
        open_reply(reply.sealed, XWingPrivateKey.generate())
    with pytest.raises(PayloadError):
        open_reply(reply.sealed, PrivateKey.generate())


@pytest.mark.parametrize("where", [0, 1100, -1])
def test_a_tampered_hybrid_reply_does_not_open(where: int) -> None:
    statement = make_reply(SIGNING, INSTANCE, SOURCE, XW.public_key, "text", "2026-12-06")
    sealed = bytearray(verify_reply(statement, SIGNING.verify_key, INSTANCE).sealed)
    sealed[where] ^= 1
    with pytest.raises(PayloadError):
        open_reply(bytes(sealed), XW)


def test_a_classical_reply_has_no_kem_field_and_still_opens() -> None:
    key = PrivateKey.generate()
    statement = make_reply(SIGNING, INSTANCE, SOURCE, key.public_key, "old style", "2026-12-06")
    reply = verify_reply(statement, SIGNING.verify_key, INSTANCE)
    assert "kem" not in json.loads(statement)["body"]
    assert reply.kem == "x25519"
    assert open_reply(reply.sealed, key) == "old style"


def _signed(body: dict[str, object]) -> bytes:
    return sign_statement(SIGNING, "reply", body)


def _body(statement: bytes) -> dict[str, object]:
    return dict(json.loads(statement)["body"])


@pytest.mark.parametrize("kem", ["x25519", "XWING", "kyber", 2])
def test_other_kem_values_are_refused(kem: object) -> None:
    body = _body(make_reply(SIGNING, INSTANCE, SOURCE, XW.public_key, "t", "2026-12-06"))
    body["kem"] = kem
    with pytest.raises(FormatError):
        verify_reply(_signed(body), SIGNING.verify_key, INSTANCE)


def test_a_hybrid_reply_too_short_for_its_kem_is_refused() -> None:
    body = _body(make_reply(SIGNING, INSTANCE, SOURCE, XW.public_key, "t", "2026-12-06"))
    body["sealed"] = b64encode(b64decode(str(body["sealed"]))[:1136])
    with pytest.raises(FormatError, match="impossible size"):
        verify_reply(_signed(body), SIGNING.verify_key, INSTANCE)


def test_receipts_derive_the_same_id_and_x25519_key_as_before_and_an_xwing_key(
    argon2_cost: Argon2Cost,
) -> None:
    """Receipts given before v2 keep working: the old outputs are unchanged."""
    peppers = Peppers(b"\x01" * 32, b"\x02" * 32)
    receipt = "4821 0937 5512 6604 7310"
    keys = derive_source_keys(receipt, peppers, argon2_cost)
    salt = blake2b(
        b"", digest_size=16, key=peppers.salt_pepper, person=b"sealdrop-rsalt", encoder=RawEncoder
    )
    master = argon2id(receipt.replace(" ", "").encode(), salt, argon2_cost)

    def split(person: bytes) -> bytes:
        return blake2b(
            master, digest_size=32, key=peppers.split_pepper, person=person, encoder=RawEncoder
        )

    assert keys.source_id == split(b"sealdrop-srcid")
    assert bytes(keys.reply_key) == bytes(PrivateKey.from_seed(split(b"sealdrop-replysd")))
    assert bytes(keys.reply_xwing_key) == split(b"sealdrop-replyxw")
    assert keys.reply_xwing_key.public_key == XWingPrivateKey(split(b"sealdrop-replyxw")).public_key
