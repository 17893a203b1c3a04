"""The receipt check group (crypto/receipt_check.py): Damm's known answer, a vector computed
independently from its spec (docs/intake.md), and as properties: every single wrong digit
and every swap of two neighbours is caught; a receipt's own check always passes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import ReceiptError
from crypto.receipt_check import (
    ReceiptMistyped,
    check_group,
    damm_digit,
    verify_check,
    with_check,
)
from crypto.receipts import normalize_receipt

RANDOM = st.text("0123456789", min_size=20, max_size=20)


def test_damm_known_answer() -> None:
    # The example of Damm's algorithm as usually published: 572 -> check digit 4.
    assert damm_digit("572") == "4"
    assert damm_digit("5724") == "0"  # a number with its check digit checks to 0


def test_check_group_follows_its_spec() -> None:
    """BLAKE2b-64 (person "sealdrop-rcheck") of the 20 digits, mod 1000, then Damm."""
    digits = "48210937551266047310"
    digest = hashlib.blake2b(digits.encode(), digest_size=8, person=b"sealdrop-rcheck").digest()
    hashed = f"{int.from_bytes(digest, 'big') % 1000:03d}"
    assert check_group(digits) == hashed + damm_digit(digits + hashed)
    assert with_check(digits) == "482109375512660473103637"  # the example in the docs


@settings(max_examples=200, deadline=None)
@given(RANDOM, st.integers(0, 23), st.integers(1, 9))
def test_every_single_wrong_digit_is_caught(random: str, position: int, delta: int) -> None:
    receipt = with_check(random)
    wrong = (
        receipt[:position] + str((int(receipt[position]) + delta) % 10) + receipt[position + 1 :]
    )
    with pytest.raises(ReceiptMistyped):
        verify_check(wrong)


@settings(max_examples=200, deadline=None)
@given(RANDOM, st.integers(0, 22))
def test_every_swap_of_neighbours_is_caught(random: str, position: int) -> None:
    receipt = with_check(random)
    a, b = receipt[position], receipt[position + 1]
    if a == b:
        return
    swapped = receipt[:position] + b + a + receipt[position + 2 :]
    with pytest.raises(ReceiptMistyped):
        verify_check(swapped)


@settings(max_examples=200, deadline=None)
@given(RANDOM)
def test_a_receipt_with_its_check_normalises_to_itself(random: str) -> None:
    receipt = with_check(random)
    spaced = " ".join(receipt[i : i + 4] for i in range(0, 24, 4))
    assert normalize_receipt(spaced) == receipt
    assert normalize_receipt(random) == random  # 20 digits: an older receipt, no check


def test_a_mistyped_receipt_is_a_receipt_error_with_its_own_message() -> None:
    with pytest.raises(ReceiptError, match="typing mistake"):
        normalize_receipt("4821 0937 5512 6604 7310 3638")
    assert issubclass(ReceiptMistyped, ReceiptError)


VECTORS = Path(__file__).parent / "vectors" / "receipts"


def _vectors() -> list[tuple[str, dict[str, str]]]:
    found = []
    for path in sorted(VECTORS.iterdir()):
        if path.is_file() and path.suffix != ".py":
            lines = path.read_text(encoding="utf-8").splitlines()
            found.append((path.name, dict(line.split(": ", 1) for line in lines)))
    return found


def test_there_are_receipt_vectors_of_every_outcome() -> None:
    outcomes = {fields["expect"] for _name, fields in _vectors()}
    assert outcomes == {"success", "typing mistake", "malformed"}


@pytest.mark.parametrize(("name", "fields"), _vectors(), ids=[n for n, _ in _vectors()])
def test_receipt_vectors(name: str, fields: dict[str, str]) -> None:
    if fields["expect"] == "success":
        assert normalize_receipt(fields["typed"]) == fields["digits"]
    elif fields["expect"] == "typing mistake":
        with pytest.raises(ReceiptMistyped):
            normalize_receipt(fields["typed"])
    else:
        with pytest.raises(ReceiptError) as caught:
            normalize_receipt(fields["typed"])
        assert not isinstance(caught.value, ReceiptMistyped), name
