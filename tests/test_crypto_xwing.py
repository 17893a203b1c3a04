"""X-Wing against the draft's published vectors (tests/data/xwing-draft-vectors.txt)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from kyber_py.ml_kem import ML_KEM_768
from nacl.bindings import crypto_scalarmult, crypto_scalarmult_base

from crypto.errors import FormatError
from crypto.xwing import CIPHERTEXT_BYTES, LABEL, XWingPrivateKey, XWingPublicKey, combiner

DATA = Path(__file__).parent / "data" / "xwing-draft-vectors.txt"
_FIELD = re.compile(r"^(sk|pk|eseed|ct|ss)\b(.*?)(?=^(?:sk|pk|eseed|ct|ss)\b|\Z)", re.M | re.S)


def draft_vectors() -> list[dict[str, bytes]]:
    """The vectors as the draft prints them: a name, then hex over one or more lines."""
    lines = [line for line in DATA.read_text().splitlines() if not line.startswith("#")]
    blocks = "\n".join(lines).strip().split("\n\n")
    return [
        {m[1]: bytes.fromhex("".join(m[2].split())) for m in _FIELD.finditer(block)}
        for block in blocks
    ]


VECTORS = draft_vectors()


def test_the_vector_file_holds_whole_vectors() -> None:
    assert len(VECTORS) == 2
    for vector in VECTORS:
        sizes = {name: len(value) for name, value in vector.items()}
        assert sizes == {"sk": 32, "pk": 1216, "eseed": 64, "ct": 1120, "ss": 32}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["sk"][:4].hex())
def test_key_derivation_matches_the_draft(vector: dict[str, bytes]) -> None:
    assert bytes(XWingPrivateKey(vector["sk"]).public_key) == vector["pk"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["sk"][:4].hex())
def test_decapsulation_matches_the_draft(vector: dict[str, bytes]) -> None:
    assert XWingPrivateKey(vector["sk"]).decapsulate(vector["ct"]) == vector["ss"]


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["sk"][:4].hex())
def test_derandomised_encapsulation_matches_the_draft(vector: dict[str, bytes]) -> None:
    """The whole of Encapsulate, with ML-KEM from kyber-py (pyca cannot take the seed).

    This is the path tests/vectors/generate.py uses to make reproducible envelopes."""
    pk, eseed = vector["pk"], vector["eseed"]
    ss_m, ct_m = ML_KEM_768._encaps_internal(pk[:1184], eseed[:32])
    ct_x = crypto_scalarmult_base(eseed[32:])
    ss_x = crypto_scalarmult(eseed[32:], pk[1184:])
    assert ct_m + ct_x == vector["ct"]
    assert combiner(ss_m, ss_x, ct_x, pk[1184:]) == vector["ss"]


def test_a_fresh_encapsulation_opens_only_with_its_key() -> None:
    key, other = XWingPrivateKey.generate(), XWingPrivateKey.generate()
    secret, ciphertext = key.public_key.encapsulate()
    assert len(ciphertext) == CIPHERTEXT_BYTES
    assert key.decapsulate(ciphertext) == secret
    assert other.decapsulate(ciphertext) != secret  # ML-KEM rejects implicitly


@pytest.mark.parametrize("position", [0, 500, 1087, 1088, 1119])
def test_a_flipped_ciphertext_byte_changes_the_secret(position: int) -> None:
    key = XWingPrivateKey(VECTORS[0]["sk"])
    ciphertext = bytearray(VECTORS[0]["ct"])
    ciphertext[position] ^= 0x01
    assert key.decapsulate(bytes(ciphertext)) != VECTORS[0]["ss"]


def test_a_low_order_x25519_share_does_not_crash_decapsulation() -> None:
    key = XWingPrivateKey(VECTORS[0]["sk"])
    ciphertext = VECTORS[0]["ct"][:1088] + bytes(32)
    assert key.decapsulate(ciphertext) != VECTORS[0]["ss"]


def test_malformed_keys_and_ciphertexts_are_refused() -> None:
    with pytest.raises(FormatError):
        XWingPublicKey(VECTORS[0]["pk"][:-1])
    with pytest.raises(FormatError):
        XWingPublicKey(b"\xff" * 1184 + bytes(32))  # coefficients >= q: FIPS 203 §7.2
    with pytest.raises(FormatError):
        XWingPrivateKey(bytes(31))
    with pytest.raises(FormatError):
        XWingPrivateKey(VECTORS[0]["sk"]).decapsulate(VECTORS[0]["ct"][:-1])


def test_the_label_is_the_drafts() -> None:
    assert LABEL.hex() == "5c2e2f2f5e5c"
