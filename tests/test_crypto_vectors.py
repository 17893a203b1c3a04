"""The committed envelope test vectors (tests/vectors/, made once by generate.py)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from crypto.envelope import Opener
from crypto.errors import HeaderError, NoMatchingKey, PayloadError

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


def test_the_vectors_cover_every_outcome() -> None:
    outcomes = [v.fields["expect"] for v in all_vectors()]
    assert {o: outcomes.count(o) for o in set(outcomes)}.keys() == {"success", *FAILURES}
    assert len(outcomes) >= 20


@pytest.mark.parametrize("vector", all_vectors(), ids=lambda v: v.name)
def test_vector(vector: Vector) -> None:
    opener = Opener([PrivateKey(bytes.fromhex(vector.fields["identity"]))])
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
