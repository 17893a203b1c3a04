"""Every parser, fed anything, either returns or raises one of crypto/'s error classes.

A crafted file or statement must never escape as a TypeError, KeyError or UnicodeError that
callers do not expect (they catch CryptoError to skip a bad item and keep the rest)."""

from __future__ import annotations

import contextlib
import io
import json
import struct

from hypothesis import given, reject, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from crypto.bundle import MAGIC, BundleReader
from crypto.encoding import parse_canonical_json
from crypto.errors import CryptoError, FormatError
from crypto.keys import AdminIdentity, parse_key_file, recipient_from_text, signer_from_text
from crypto.replies import read_reply_bundle, verify_ack, verify_reply, write_reply_bundle
from crypto.statements import sign_statement

KEY = SigningKey.generate()
INSTANCE_ID = "ab" * 16

# JSON values that include the awkward ones: lone surrogates, huge and boolean numbers.
ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | ANY_TEXT
    | st.sampled_from(["ab" * 16, "cd" * 32, "AB" * 16, "2026-11-29", "QUJD", ""])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=12,
)


def _fields(names: list[str]) -> st.SearchStrategy[dict[str, object]]:
    """Objects with (some of) the expected keys, and sometimes an extra one."""
    return st.fixed_dictionaries({}, optional={name: VALUES for name in names} | {"extra": VALUES})


def refused_or_parsed(parse, *args) -> None:  # type: ignore[no-untyped-def]
    """Call the parser; anything it raises must be a CryptoError."""
    with contextlib.suppress(CryptoError):
        parse(*args)


def signed(kind: str, body: dict[str, object]) -> bytes:
    """The statement as the trusted key would sign it (bodies it cannot sign are skipped)."""
    try:
        return sign_statement(KEY, kind, body)
    except FormatError:
        reject()
        raise  # unreachable: reject() raises


@settings(max_examples=300)
@given(ANY_TEXT.map(lambda t: json.dumps(t)) | st.text(max_size=40))
def test_canonical_json_parser(text: str) -> None:
    refused_or_parsed(parse_canonical_json, text.encode("utf-8", "surrogatepass"))


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_key_text_and_file_parsers(text: str) -> None:
    for parse in (recipient_from_text, signer_from_text, AdminIdentity.from_text, parse_key_file):
        refused_or_parsed(parse, text)
    refused_or_parsed(AdminIdentity.from_text, "sealdrop admin identity v1\n" + text)
    refused_or_parsed(parse_key_file, "sealdrop private key v1\n" + text)


@settings(max_examples=200)
@given(_fields(["created", "instance_id", "reply_id", "sealed", "source_id"]))
def test_signed_reply_bodies(body: dict[str, object]) -> None:
    # Even a body the trusted key really signed is checked field by field.
    statement = signed("reply", body)
    refused_or_parsed(verify_reply, statement, KEY.verify_key, INSTANCE_ID)
    bundle = write_reply_bundle([statement])
    refused_or_parsed(read_reply_bundle, io.BytesIO(bundle), KEY.verify_key, INSTANCE_ID)


@settings(max_examples=200)
@given(_fields(["created", "envelope_ids", "instance_id"]))
def test_signed_ack_bodies(body: dict[str, object]) -> None:
    refused_or_parsed(verify_ack, signed("ack", body), KEY.verify_key, INSTANCE_ID)


ENTRY = st.fixed_dictionaries({}, optional={"id": VALUES, "size": VALUES, "source_id": VALUES})
SOURCE = st.fixed_dictionaries({}, optional={"reply_public_key": VALUES, "source_id": VALUES})


@settings(max_examples=200)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "created": VALUES,
            "envelopes": st.lists(ENTRY, max_size=3) | VALUES,
            "instance_id": VALUES,
            "sources": st.lists(SOURCE, max_size=3) | VALUES,
        },
    )
)
def test_signed_manifest_bodies(body: dict[str, object]) -> None:
    # The offline side reads manifests signed by a server that may have been seized.
    statement = signed("bundle-manifest", body)
    bundle = MAGIC + struct.pack(">I", len(statement)) + statement
    refused_or_parsed(BundleReader, io.BytesIO(bundle), KEY.verify_key)
    refused_or_parsed(BundleReader, io.BytesIO(bundle), None)
