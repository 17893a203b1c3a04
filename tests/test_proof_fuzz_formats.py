"""Fuzzing the shared formats (hypothesis): whatever bytes arrive as an envelope, an export
bundle, a signed statement, a reply bundle or a receipt, the parser either accepts the
untouched original or refuses with a CryptoError (the one exception root a caller
handles); never another exception, never a damaged input accepted.

Inputs are real files with random damage (bits flipped, bytes inserted or deleted, cut short,
extended, a slice overwritten) and plain random bytes. The damaged-file strategy covers
more than one flipped byte, which tests/test_crypto_*.py already cover one position at a
time; reply bundles and acks at the server's import are fuzzed in tests/test_transfer_fuzz.py.
"""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st
from nacl.public import PrivateKey
from nacl.signing import SigningKey
from proof_support import PROOF

from crypto.bundle import Arrived, BundleReader, BundleWriter, Manifest, ManifestEntry
from crypto.envelope import Opener, Sealer
from crypto.errors import CryptoError, FormatError, ReceiptError
from crypto.receipts import normalize_receipt
from crypto.replies import make_ack, make_reply, read_reply_bundle, verify_ack, write_reply_bundle
from crypto.statements import sign_statement, verify_statement

RECIPIENT = PrivateKey.generate()
ADMIN = SigningKey.generate()
INSTANCE = SigningKey.generate()
INSTANCE_ID = os.urandom(16).hex()
SOURCE = PrivateKey.generate()
SOURCE_ID = os.urandom(32).hex()
TODAY = "2026-11-29"
CONTENT = os.urandom(70_000)  # more than one 64 KiB chunk
META = {"kind": "file", "filename": "证据.jpg", "source_id": SOURCE_ID, "received": TODAY}
ENVELOPE = Sealer([RECIPIENT.public_key]).seal_bytes(CONTENT, META)
SMALL = Sealer([RECIPIENT.public_key]).seal_bytes(b"They took him.", {"kind": "message"})


def _bundle() -> bytes:
    ids = [os.urandom(16).hex(), os.urandom(16).hex()]
    entries = (
        ManifestEntry(ids[0], len(ENVELOPE), SOURCE_ID, hashlib.sha256(ENVELOPE).hexdigest()),
        ManifestEntry(ids[1], len(SMALL), SOURCE_ID, hashlib.sha256(SMALL).hexdigest()),
    )
    manifest = Manifest(
        INSTANCE_ID,
        INSTANCE.verify_key,
        TODAY,
        entries,
        {SOURCE_ID: bytes(SOURCE.public_key)},
    )
    out = io.BytesIO()
    writer = BundleWriter(out, INSTANCE, manifest)
    writer.add(ids[0], io.BytesIO(ENVELOPE))
    writer.add(ids[1], io.BytesIO(SMALL))
    writer.close()
    return out.getvalue()


BUNDLE = _bundle()
REPLY = make_reply(ADMIN, INSTANCE_ID, SOURCE_ID, SOURCE.public_key, "请问是哪一个月?", TODAY)
REPLY_BUNDLE = write_reply_bundle([REPLY])
ACK = make_ack(ADMIN, INSTANCE_ID, [os.urandom(16).hex()], TODAY)
STATEMENT = sign_statement(ADMIN, "reply", {"a": [1, "二", {"b": None}], "n": 7})


def damaged(data: bytes) -> st.SearchStrategy[bytes]:
    """The real bytes with random damage, or random bytes (sometimes with the real start)."""
    n = len(data)
    position = st.integers(0, n - 1)
    flips = st.lists(st.tuples(position, st.integers(1, 255)), min_size=1, max_size=4).map(
        lambda changes: _flip(data, changes)
    )
    insert = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=40)).map(
        lambda c: data[: c[0]] + c[1] + data[c[0] :]
    )
    delete = st.tuples(position, st.integers(1, 64)).map(
        lambda c: data[: c[0]] + data[c[0] + c[1] :]
    )
    cut = st.integers(0, n - 1).map(lambda k: data[:k])
    extend = st.binary(min_size=1, max_size=64).map(lambda tail: data + tail)
    overwrite = st.tuples(position, st.binary(min_size=1, max_size=64)).map(
        lambda c: data[: c[0]] + c[1] + data[c[0] + len(c[1]) :]
    )
    prefixed = st.tuples(st.integers(0, 64), st.binary(max_size=512)).map(
        lambda c: data[: c[0]] + c[1]
    )
    return st.one_of(
        flips, insert, delete, cut, extend, overwrite, prefixed, st.binary(max_size=2048)
    ).filter(lambda d: d != data)


def _flip(data: bytes, changes: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for index, mask in changes:
        out[index] ^= mask
    return bytes(out)


def test_the_originals_are_accepted() -> None:
    """Without this, every refusal below could be a parser that refuses everything."""
    assert Opener([RECIPIENT]).open_bytes(ENVELOPE)[1] == CONTENT
    assert _read_bundle(BUNDLE, INSTANCE.verify_key) == [CONTENT, b"They took him."]
    assert verify_statement(STATEMENT, "reply", ADMIN.verify_key).body["n"] == 7
    assert len(read_reply_bundle(io.BytesIO(REPLY_BUNDLE), ADMIN.verify_key, INSTANCE_ID)) == 1
    assert verify_ack(ACK, ADMIN.verify_key, INSTANCE_ID).instance_id == INSTANCE_ID


@PROOF
@given(damaged(ENVELOPE))
def test_a_damaged_envelope_never_opens(data: bytes) -> None:
    with pytest.raises(CryptoError):
        Opener([RECIPIENT]).open_bytes(data)


@PROOF
@given(damaged(ENVELOPE))
def test_a_damaged_envelope_never_finishes_when_streamed(data: bytes) -> None:
    """The streaming reader may hand out verified chunks, but never finishes on damage."""
    with pytest.raises(CryptoError):
        _stream(data)


def _stream(data: bytes) -> None:
    reader = Opener([RECIPIENT]).reader(io.BytesIO(data))
    while reader.read(8192):
        pass
    reader.finish()


def _read_bundle(data: bytes, key) -> list[bytes]:  # type: ignore[no-untyped-def]
    reader = BundleReader(io.BytesIO(data), key)
    opener = Opener([RECIPIENT])
    out = []
    for event in reader.entries():
        if not isinstance(event, Arrived):
            raise FormatError(event.reason)  # a slot that did not arrive, or a stray
        envelope = event.body.read()
        event.body.verify()
        out.append(opener.open_bytes(envelope)[1])
    return out


@PROOF
@given(damaged(BUNDLE), st.booleans())
def test_a_damaged_bundle_is_refused_before_or_while_reading(data: bytes, trusted: bool) -> None:
    """With the instance key known, or on first contact (the manifest's own key)."""
    with pytest.raises(CryptoError):
        _read_bundle(data, INSTANCE.verify_key if trusted else None)


@PROOF
@given(damaged(STATEMENT), st.sampled_from(["reply", "ack", "bundle-manifest"]))
def test_a_damaged_statement_never_verifies(data: bytes, kind: str) -> None:
    with pytest.raises(CryptoError):
        verify_statement(data, kind, ADMIN.verify_key)


@PROOF
@given(damaged(REPLY_BUNDLE))
def test_a_damaged_reply_bundle_is_refused_whole(data: bytes) -> None:
    with pytest.raises(CryptoError):
        read_reply_bundle(io.BytesIO(data), ADMIN.verify_key, INSTANCE_ID)


@PROOF
@given(damaged(ACK))
def test_a_damaged_ack_never_verifies(data: bytes) -> None:
    with pytest.raises(CryptoError):
        verify_ack(data, ADMIN.verify_key, INSTANCE_ID)


@PROOF
@given(st.text(max_size=80) | st.binary(max_size=80).map(lambda b: b.decode("latin-1")))
def test_any_typed_receipt_is_twenty_ascii_digits_or_a_receipt_error(text: str) -> None:
    try:
        normalized = normalize_receipt(text)
    except ReceiptError:
        return
    assert len(normalized) == 20
    assert normalized.isascii()
    assert normalized.isdigit()
