"""Canonical JSON, strict base64 and Ed25519 signed statements."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from crypto.encoding import b64decode, b64encode, canonical_json, parse_canonical_json
from crypto.errors import FormatError, SignatureError
from crypto.keys import signer_to_text
from crypto.statements import DOMAIN, sign_statement, verify_statement

KEY = SigningKey.generate()
ATTACKER = SigningKey.generate()

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=300)
@given(JSON_VALUES)
def test_canonical_json_round_trip(value: object) -> None:
    data = canonical_json(value)
    assert parse_canonical_json(data) == value
    assert canonical_json(parse_canonical_json(data)) == data


@settings(max_examples=300)
@given(JSON_VALUES, st.sampled_from([2, None]), st.booleans())
def test_other_spellings_of_the_same_value_are_refused(
    value: object, indent: int | None, ascii_: bool
) -> None:
    spelled = json.dumps(value, indent=indent, ensure_ascii=ascii_).encode()
    if spelled == canonical_json(value):
        return  # this spelling happens to be the canonical one
    with pytest.raises(FormatError, match="canonical"):
        parse_canonical_json(spelled)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"b":1,"a":2}', "canonical"),
        (b'{"a": 1}', "canonical"),
        (b'{"a":1}\n', "canonical"),
        (b'"\\u00e9"', "canonical"),  # escaped where UTF-8 is canonical
        (b'{"a":1,"a":1}', "duplicate"),
        (b'{"a":1.0}', "floating"),
        (b'{"a":1e3}', "floating"),
        (b'{"a":NaN}', "floating"),
        (b'{"a":-Infinity}', "floating"),
        (b'{"a":01}', "JSON"),
        (b"\xff", "JSON"),
        (b"", "JSON"),
        (b"1" * 5000, "JSON"),  # longer than Python's int conversion limit: still a FormatError
        (b'"\\ud800"', "cannot be encoded"),  # a lone surrogate: once a UnicodeEncodeError
        (b'{"a":"\\udfff"}', "cannot be encoded"),
    ],
)
def test_non_canonical_json_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        parse_canonical_json(data)


@pytest.mark.parametrize(
    "value", [1.5, {"a": [0.0]}, {1: "a"}, {"a": {None: 1}}, float("nan"), "\ud800"]
)
def test_canonical_json_refuses_what_it_could_not_read_back(value: object) -> None:
    with pytest.raises(FormatError):
        canonical_json(value)


def test_canonical_json_refuses_an_integer_past_the_digit_limit() -> None:
    with pytest.raises(FormatError, match="cannot be encoded"):
        canonical_json({"n": 10**5000})


@given(st.binary(max_size=100), st.integers(0, 64))
def test_base64_round_trip_and_length(data: bytes, length: int) -> None:
    text = b64encode(data)
    assert b64decode(text) == data
    if length != len(data):
        with pytest.raises(FormatError, match="expected"):
            b64decode(text, length)


@pytest.mark.parametrize(
    "text",
    ["AB==", "QQ", "QQ=", "QQ==\n", " QQ==", "QR==", "Q Q==", "-_8=", "QQ==QQ==", "é", 5],
)
def test_non_canonical_base64_is_refused(text: str) -> None:
    with pytest.raises(FormatError):
        b64decode(text)


# --- statements ---------------------------------------------------------------------------

BODY = {"created": "2026-11-29", "instance_id": "ab" * 16, "text": "你好"}


def test_statement_round_trip_and_wire_form() -> None:
    wire = sign_statement(KEY, "ack", BODY)
    parsed = json.loads(wire)
    assert sorted(parsed) == ["body", "sig", "signer", "type", "v"]
    assert parsed["signer"] == signer_to_text(KEY.verify_key)
    assert (parsed["type"], parsed["v"]) == ("ack", 1)
    assert canonical_json(parsed) == wire
    statement = verify_statement(wire, "ack", KEY.verify_key)
    assert (statement.kind, statement.body) == ("ack", BODY)


def test_signature_covers_the_domain_type_and_body() -> None:
    # Conformance with docs/envelope-format.md: the signed message, rebuilt independently.
    wire = json.loads(sign_statement(KEY, "reply", BODY))
    message = DOMAIN + b"\x00reply\x00" + canonical_json(BODY)
    KEY.verify_key.verify(message, base64.b64decode(wire["sig"]))
    assert DOMAIN == b"sealdrop-statement/v1"


@settings(max_examples=50)
@given(st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=5))
def test_any_body_round_trips(body: dict[str, object]) -> None:
    assert (
        verify_statement(sign_statement(KEY, "reply", body), "reply", KEY.verify_key).body == body
    )


@pytest.mark.parametrize(
    ("signed_as", "expected"), [("ack", "reply"), ("reply", "ack"), ("bundle-manifest", "ack")]
)
def test_wrong_type_is_refused(signed_as: str, expected: str) -> None:
    with pytest.raises(SignatureError, match=f"expected a '{expected}'"):
        verify_statement(sign_statement(KEY, signed_as, BODY), expected, KEY.verify_key)


def test_retyped_statement_does_not_verify() -> None:
    # Changing the visible type is not enough: the type is inside the signed message.
    wire = json.loads(sign_statement(KEY, "ack", BODY))
    wire["type"] = "reply"
    with pytest.raises(SignatureError, match="altered"):
        verify_statement(canonical_json(wire), "reply", KEY.verify_key)


def test_wrong_signer_is_refused() -> None:
    with pytest.raises(SignatureError, match="different key"):
        verify_statement(sign_statement(ATTACKER, "reply", BODY), "reply", KEY.verify_key)


def test_claimed_signer_swapped_is_refused() -> None:
    wire = json.loads(sign_statement(ATTACKER, "reply", BODY))
    wire["signer"] = signer_to_text(KEY.verify_key)
    with pytest.raises(SignatureError, match="altered"):
        verify_statement(canonical_json(wire), "reply", KEY.verify_key)


@pytest.mark.parametrize(
    "change",
    [
        lambda b: b.update(text="你好!"),
        lambda b: b.update(extra=1),
        lambda b: b.pop("created"),
        lambda b: b.update(instance_id="cd" * 16),
    ],
)
def test_altered_body_is_refused(change) -> None:  # type: ignore[no-untyped-def]
    wire = json.loads(sign_statement(KEY, "reply", dict(BODY)))
    change(wire["body"])
    with pytest.raises(SignatureError, match="altered"):
        verify_statement(canonical_json(wire), "reply", KEY.verify_key)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda w: w.update(v=2), "version"),
        (lambda w: w.update(v=True), "version"),  # `true` == 1 in Python: once accepted
        (lambda w: w.update(v="1"), "version"),
        (lambda w: w.update(extra=1), "not a Sealdrop signed statement"),
        (lambda w: w.pop("signer"), "not a Sealdrop signed statement"),
        (lambda w: w.update(body=[1]), "object"),
        (lambda w: w.update(sig=w["sig"].rstrip("=")), "base64"),
        (lambda w: w.update(sig=b64encode(b"\x00" * 63)), "64 bytes"),
        (lambda w: w.update(signer="sdsigner1abc"), "characters"),
    ],
)
def test_malformed_wire_form_is_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    wire = json.loads(sign_statement(KEY, "reply", BODY))
    change(wire)
    with pytest.raises(FormatError, match=message):
        verify_statement(canonical_json(wire), "reply", KEY.verify_key)


def test_non_canonical_wire_bytes_are_refused() -> None:
    wire = sign_statement(KEY, "reply", BODY)
    spaced = json.dumps(json.loads(wire), sort_keys=True).encode()
    with pytest.raises(FormatError, match="canonical"):
        verify_statement(spaced, "reply", KEY.verify_key)


def test_unknown_statement_type_cannot_be_signed() -> None:
    with pytest.raises(ValueError, match="unknown statement type"):
        sign_statement(KEY, "invoice", BODY)


WIRE = sign_statement(KEY, "reply", BODY)


@settings(max_examples=200)
@given(st.integers(0, len(WIRE) - 1), st.integers(1, 255))
def test_any_changed_byte_of_a_statement_is_refused(offset: int, xor: int) -> None:
    damaged = bytearray(WIRE)
    damaged[offset] ^= xor
    with pytest.raises((FormatError, SignatureError)):
        verify_statement(bytes(damaged), "reply", KEY.verify_key)


@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_arbitrary_bytes_are_not_a_statement(data: bytes) -> None:
    with pytest.raises((FormatError, SignatureError)):
        verify_statement(data, "reply", KEY.verify_key)
