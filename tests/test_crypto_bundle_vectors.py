"""The committed export bundle v2 vectors (tests/vectors/bundle/, made by generate.py)."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest
from nacl.signing import VerifyKey

from crypto.bundle import Arrived, BundleReader, Missing
from crypto.errors import FormatError, HeaderError, SignatureError
from crypto.keys import fingerprint_digits

VECTORS = Path(__file__).parent / "vectors"
FAILURES = {
    "header failure": HeaderError,
    "format failure": FormatError,
    "signature failure": SignatureError,
}


def read_vector(path: Path) -> tuple[dict[str, str], bytes]:
    """`key: value` lines up to a blank line; the rest is the bundle."""
    head, sep, data = path.read_bytes().partition(b"\n\n")
    assert sep, path.name
    return dict(line.split(": ", 1) for line in head.decode().splitlines()), data


PATHS = sorted((VECTORS / "bundle").iterdir())


def slots_of(reader: BundleReader) -> str:
    """What the reader says about each slot, in the vectors' `slots:` notation."""
    said = []
    for event in reader.entries():
        if isinstance(event, Arrived):
            said.append(("skip:" if event.body.problem() else "ok:") + event.entry.envelope_id)
        elif isinstance(event, Missing):
            said.append("skip:" + event.entry.envelope_id)
        else:
            said.append("stray:" + (event.envelope_id or "-"))
    return " ".join(said) or "-"


def test_the_vectors_cover_every_outcome() -> None:
    expects = {read_vector(p)[0]["expect"] for p in PATHS}
    assert expects == {"success", *FAILURES}
    assert len(PATHS) >= 20


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_bundle_vector(path: Path) -> None:
    fields, data = read_vector(path)
    key = VerifyKey(bytes.fromhex(fields["instance_key"]))
    assert fingerprint_digits(bytes(key)) == fields["fingerprint"]
    if fields["expect"] == "success":
        reader = BundleReader(io.BytesIO(data), key)
        assert slots_of(reader) == fields["slots"]
        assert reader.truncated is (fields["truncated"] == "yes")
    else:
        with pytest.raises(FAILURES[fields["expect"]]) as caught:
            BundleReader(io.BytesIO(data), key)
        # A header failure is also a FormatError (its subclass); a format failure is not one.
        if fields["expect"] == "format failure":
            assert not isinstance(caught.value, HeaderError)


def test_the_generator_makes_the_same_bytes_again(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("generate", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    generate.write_bundle_vectors(tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == {
        p.name: p.read_bytes() for p in PATHS
    }
