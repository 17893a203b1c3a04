"""The committed envelope and key-file test vectors (tests/vectors/, made by generate.py)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from crypto.envelope import Identity, Opener
from crypto.errors import FormatError, HeaderError, NoMatchingKey, PayloadError, WrongPassphrase
from crypto.keys import any_recipient_to_text, parse_key_file, unlock_private_key
from crypto.xwing import XWingPrivateKey

VECTORS = Path(__file__).parent / "vectors"
FAILURES = {
    "header failure": HeaderError,
    "no match": NoMatchingKey,
    "payload failure": PayloadError,
}


@dataclass(frozen=True)
class Vector:
    """One vector file: its header fields and the raw envelope."""

    name: str
    fields: dict[str, str]
    envelope: bytes


def read_vector(path: Path) -> Vector:
    """Parse `key: value` lines up to a blank line; the rest is the envelope."""
    head, sep, envelope = path.read_bytes().partition(b"\n\n")
    assert sep, f"{path.name}: no blank line after the header"
    fields = dict(line.split(": ", 1) for line in head.decode("utf-8").splitlines())
    assert fields["expect"] in {"success", *FAILURES}, path.name
    assert "identity" in fields, path.name
    assert "comment" in fields, path.name
    return Vector(path.name, fields, envelope)


def all_vectors() -> list[Vector]:
    """Every vector file beside generate.py."""
    return [read_vector(p) for p in sorted(VECTORS.iterdir()) if p.is_file() and p.suffix != ".py"]


def identities(field: str) -> list[Identity]:
    """`identity:` is a comma-separated list: X25519 key hex, or `xwing:` and seed hex."""
    keys: list[Identity] = []
    for item in field.split(","):
        if item.startswith("xwing:"):
            keys.append(XWingPrivateKey(bytes.fromhex(item.removeprefix("xwing:"))))
        else:
            keys.append(PrivateKey(bytes.fromhex(item)))
    return keys


def test_the_vectors_cover_every_outcome() -> None:
    outcomes = [v.fields["expect"] for v in all_vectors()]
    assert {o: outcomes.count(o) for o in set(outcomes)}.keys() == {"success", *FAILURES}
    assert len(outcomes) >= 20


@pytest.mark.parametrize("vector", all_vectors(), ids=lambda v: v.name)
def test_vector(vector: Vector) -> None:
    opener = Opener(identities(vector.fields["identity"]))
    expect = vector.fields["expect"]
    if expect == "success":
        out = io.BytesIO()
        opened = opener.open(io.BytesIO(vector.envelope), out)
        assert hashlib.sha256(out.getvalue()).hexdigest() == vector.fields["payload"]
        assert opened.sha256 == vector.fields["payload"]
        assert opened.size == len(out.getvalue())
    else:
        with pytest.raises(FAILURES[expect]) as caught:
            opener.open(io.BytesIO(vector.envelope), io.BytesIO())
        # The classes are disjoint: a payload failure is never reported as a header one.
        others = tuple(c for e, c in FAILURES.items() if e != expect)
        assert not isinstance(caught.value, others)


def test_v2_vectors_cover_the_hybrid_cases() -> None:
    names = {v.name for v in all_vectors()}
    for name in (
        "v2_success_hybrid",
        "v2_no_match_wrong_key",
        "v2_no_match_tampered_mlkem_ciphertext",
        "v2_no_match_tampered_x25519_share",
        "v2_no_match_downgrade_stripped",
        "v2_payload_tag_push",
        "v2_payload_tag_rekey",
        "v2_success_two_file_keys",
        "v2_header_two_file_keys_wrong_only",
    ):
        assert name in names


def test_the_committed_vectors_are_what_the_generator_writes(tmp_path: Path) -> None:
    """Every input is derived from a label: regenerating gives the same bytes."""
    from tests.vectors.generate import write_all, write_bundle_vectors

    (tmp_path / "keys").mkdir()
    write_all(tmp_path)
    write_bundle_vectors(tmp_path / "bundle")
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(
        p.relative_to(VECTORS)
        for p in VECTORS.rglob("*")
        # receipts/ is written by its own generator (tests/vectors/receipts/generate.py)
        if p.is_file()
        and p.suffix not in (".py", ".pyc")
        and p.parts[len(VECTORS.parts)] != "receipts"
    )
    assert made == committed
    for rel in made:
        assert (tmp_path / rel).read_bytes() == (VECTORS / rel).read_bytes(), rel


KEY_VECTORS = sorted((VECTORS / "keys").iterdir())
KEY_FAILURES = {"format error": FormatError, "wrong passphrase": WrongPassphrase}


@pytest.mark.parametrize("path", KEY_VECTORS, ids=lambda p: p.name)
def test_key_file_vector(path: Path) -> None:
    head, _, text = path.read_bytes().partition(b"\n\n")
    fields = dict(line.split(": ", 1) for line in head.decode("utf-8").splitlines())
    passphrase = fields["passphrase"].encode("utf-8")
    key_file = text.decode("utf-8")
    if fields["expect"] == "success":
        key = unlock_private_key(key_file, passphrase)
        public = key.public_key if not hasattr(key, "verify_key") else key.verify_key
        assert parse_key_file(key_file).public == any_recipient_to_text(public)  # type: ignore[arg-type]
    else:
        with pytest.raises(KEY_FAILURES[fields["expect"]]):
            unlock_private_key(key_file, passphrase)


def test_key_file_vectors_cover_the_tolerances() -> None:
    names = {p.name for p in KEY_VECTORS}
    assert {"success_crlf", "success_surrounding_whitespace", "format_leading_zero"} <= names
