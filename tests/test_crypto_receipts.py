# ruff: noqa: RUF001  -- look-alike digits and dashes are what these tests are about
"""Receipts: generation, normalisation of what people type, and key derivation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey

from crypto.errors import ReceiptError
from crypto.kdf import Argon2Cost, argon2id
from crypto.receipts import Peppers, derive_source_keys, new_receipt, normalize_receipt

RECEIPT = "4821 0937 5512 6604 7310"
DIGITS = "48210937551266047310"
PEPPERS = Peppers(bytes(range(32)), bytes(range(32, 64)))


def in_script(digits: str, zero: str) -> str:
    """The same digits written in a script whose zero is `zero`."""
    return "".join(chr(ord(zero) + int(d)) for d in digits)


def test_new_receipts_are_six_groups_of_four_and_differ() -> None:
    receipts = {new_receipt() for _ in range(200)}
    assert len(receipts) == 200
    for receipt in receipts:
        assert re.fullmatch(r"\d{4}( \d{4}){5}", receipt)  # 20 random digits + the check
        assert normalize_receipt(receipt) == receipt.replace(" ", "")


def test_receipts_use_all_twenty_digits() -> None:
    # 10**20 > 2**66: the leading digits must vary too, not only the trailing ones.
    leading = {new_receipt()[0] for _ in range(300)}
    assert len(leading) >= 8


@pytest.mark.parametrize(
    "typed",
    [
        RECEIPT,
        DIGITS,
        "4821-0937-5512-6604-7310",
        "4821–0937—5512‐6604−7310",  # en dash, em dash, hyphen, minus sign
        "  4821 0937\t5512\n6604 7310  ",
        "４８２１ ０９３７ ５５１２ ６６０４ ７３１０",  # full-width digits from a Chinese IME
        "4821\u30000937\u30005512\u30006604\u30007310",  # ideographic space
        "４８２１－０９３７ー５５１２_6604 7310",  # full-width hyphen, prolonged sound mark
        in_script(DIGITS, "\u0660"),  # Arabic-Indic
        in_script(DIGITS, "\u06f0"),  # Extended Arabic-Indic (Persian, Uyghur keyboards)
        in_script(DIGITS, "\u0f20"),  # Tibetan
        in_script(DIGITS, "\u0966"),  # Devanagari
        in_script(DIGITS[:10], "\u0f20") + " " + in_script(DIGITS[10:], "\uff10"),  # mixed
    ],
)
def test_what_people_type_normalises_to_the_receipt(typed: str) -> None:
    assert normalize_receipt(typed) == DIGITS


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("4821 0937 5512 6604", "has 16"),
        ("", "has 0"),
        ("4821 0937 5512 6604 7310 1", "has 21"),
        ("4821 0937 5512 6604 7310 3637 1", "more"),
        ("4821 0937 5512 6604 731O", "only digits"),  # letter O for zero
        ("abcd efgh ijkl mnop qrst", "only digits"),
        ("4821 0937 5512 6604 7310 🙂", "only digits"),
        ("4821 0937 5512 6604 7🔟", "only digits"),
        ("4821.0937.5512.6604.7310", "only digits"),
        ("4821 0937 5512 6604 73\u200b10", "only digits"),  # zero-width space
        ("一二三四 0937 5512 6604 7310", "only digits"),  # CJK numerals are not decimal digits
    ],
)
def test_bad_receipts_say_what_is_wrong(typed: str, message: str) -> None:
    with pytest.raises(ReceiptError, match=message):
        normalize_receipt(typed)


SCRIPTS = st.sampled_from(["0", "\uff10", "\u0660", "\u06f0", "\u0f20", "\u0966", "\u09e6"])
SEPARATORS = st.sampled_from(["", " ", "-", "\u3000", "\u2013", "\t"])


@settings(max_examples=200)
@given(st.text("0123456789", min_size=20, max_size=20), st.data())
def test_any_mix_of_scripts_and_separators_gives_the_same_digits(
    digits: str, data: st.DataObject
) -> None:
    typed = "".join(data.draw(SEPARATORS) + in_script(d, data.draw(SCRIPTS)) for d in digits)
    assert normalize_receipt(typed + data.draw(SEPARATORS)) == digits


@given(st.text(max_size=40))
def test_normalisation_never_fails_with_anything_but_a_receipt_error(text: str) -> None:
    try:
        result = normalize_receipt(text)
    except ReceiptError:
        return
    assert re.fullmatch(r"[0-9]{20}|[0-9]{24}", result)


# --- derivation ---------------------------------------------------------------------------


def test_derivation_is_deterministic_and_normalises(argon2_cost: Argon2Cost) -> None:
    first = derive_source_keys(RECEIPT, PEPPERS, argon2_cost)
    again = derive_source_keys(
        "４８２１－０９３７－５５１２－６６０４－７３１０", PEPPERS, argon2_cost
    )
    assert first.source_id == again.source_id
    assert bytes(first.reply_key) == bytes(again.reply_key)
    assert len(first.source_id) == 32
    assert first.source_id_hex == first.source_id.hex()


def test_derivation_follows_the_documented_split(argon2_cost: Argon2Cost) -> None:
    # Conformance with docs/envelope-format.md §Receipts, rebuilt step by step.
    salt = blake2b(
        b"", digest_size=16, key=PEPPERS.salt_pepper, person=b"sealdrop-rsalt", encoder=RawEncoder
    )
    master = argon2id(DIGITS.encode(), salt, argon2_cost)
    source_id = blake2b(
        master,
        digest_size=32,
        key=PEPPERS.split_pepper,
        person=b"sealdrop-srcid",
        encoder=RawEncoder,
    )
    seed = blake2b(
        master,
        digest_size=32,
        key=PEPPERS.split_pepper,
        person=b"sealdrop-replysd",
        encoder=RawEncoder,
    )
    keys = derive_source_keys(RECEIPT, PEPPERS, argon2_cost)
    assert keys.source_id == source_id
    assert bytes(keys.reply_key.public_key) == bytes(PrivateKey.from_seed(seed).public_key)
    # The stored id reveals nothing of the reply key: different outputs of a keyed hash.
    assert source_id not in (seed, bytes(keys.reply_key), bytes(keys.reply_key.public_key))


def test_each_pepper_changes_the_result(argon2_cost: Argon2Cost) -> None:
    base = derive_source_keys(RECEIPT, PEPPERS, argon2_cost)
    other_salt = derive_source_keys(
        RECEIPT, Peppers(b"\x01" * 32, PEPPERS.split_pepper), argon2_cost
    )
    other_split = derive_source_keys(
        RECEIPT, Peppers(PEPPERS.salt_pepper, b"\x02" * 32), argon2_cost
    )
    ids = {base.source_id, other_salt.source_id, other_split.source_id}
    public = {bytes(k.reply_key.public_key) for k in (base, other_salt, other_split)}
    assert len(ids) == 3
    assert len(public) == 3


def test_different_receipts_give_different_sources(argon2_cost: Argon2Cost) -> None:
    first = derive_source_keys(RECEIPT, PEPPERS, argon2_cost)
    second = derive_source_keys("4821 0937 5512 6604 7311", PEPPERS, argon2_cost)
    assert first.source_id != second.source_id
    assert bytes(first.reply_key) != bytes(second.reply_key)


def test_derivation_refuses_a_malformed_receipt(argon2_cost: Argon2Cost) -> None:
    with pytest.raises(ReceiptError):
        derive_source_keys("1234", PEPPERS, argon2_cost)


def test_peppers_are_checked() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Peppers(b"short", bytes(32))
    with pytest.raises(ValueError, match="differ"):
        Peppers(bytes(32), bytes(32))
    fresh = Peppers.generate()
    assert fresh.salt_pepper != fresh.split_pepper
    assert fresh != Peppers.generate()
