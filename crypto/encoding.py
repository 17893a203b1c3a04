"""Canonical encodings shared by every format: key text, JSON, base64.

Every decoder here is strict: it accepts exactly one encoding of each value, so two
different strings never mean the same key or statement.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from nacl.encoding import RawEncoder
from nacl.hash import blake2b

from .errors import FormatError

_B32_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
CHECKSUM_BYTES = 4


def _checksum(prefix: str, payload: bytes) -> bytes:
    return blake2b(
        prefix.encode("ascii") + b"\x00" + payload,
        digest_size=CHECKSUM_BYTES,
        person=b"sealdrop-keytext",
        encoder=RawEncoder,
    )


def encode_key_text(prefix: str, payload: bytes) -> str:
    """Encode a key as PREFIX + lowercase unpadded base32 of (payload || 4-byte checksum)."""
    data = payload + _checksum(prefix, payload)
    return prefix + base64.b32encode(data).decode("ascii").rstrip("=").lower()


def decode_key_text(prefix: str, text: str, length: int) -> bytes:
    """Decode key text made by `encode_key_text`, refusing anything not canonical."""
    if not isinstance(text, str):
        raise FormatError("key text must be a string")
    text = text.strip()
    if not text.startswith(prefix):
        raise FormatError(f"expected a key starting with {prefix!r}")
    body = text[len(prefix) :]
    expected_chars = -(-(length + CHECKSUM_BYTES) * 8 // 5)
    if len(body) != expected_chars:
        raise FormatError(f"a {prefix} key has {expected_chars} characters after the prefix")
    if any(c not in _B32_ALPHABET for c in body):
        raise FormatError("key text may only use the letters a-z and the digits 2-7")
    padded = body.upper() + "=" * (-len(body) % 8)
    try:
        data = base64.b32decode(padded)
    except binascii.Error as exc:  # pragma: no cover - alphabet already checked
        raise FormatError("key text is not valid base32") from exc
    payload, checksum = data[:length], data[length:]
    # Non-zero trailing bits would give a second spelling of the same key.
    if encode_key_text(prefix, payload) != text:
        if checksum != _checksum(prefix, payload):
            raise FormatError("key text checksum does not match: it was mistyped or damaged")
        raise FormatError("key text is not in canonical form")
    return payload


def b64encode(data: bytes) -> str:
    """Standard base64 with padding, as used inside JSON statements."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, length: int | None = None) -> bytes:
    """Strict standard base64: canonical padding, no whitespace, optional exact length."""
    if not isinstance(text, str):
        raise FormatError("expected a base64 string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise FormatError("invalid base64") from exc
    if base64.b64encode(data).decode("ascii") != text:
        raise FormatError("base64 is not canonical")
    if length is not None and len(data) != length:
        raise FormatError(f"expected {length} bytes, got {len(data)}")
    return data


def _check_json_value(value: Any) -> None:
    # json.dumps would accept floats and turn non-string keys into strings: both would give
    # bytes that parse_canonical_json refuses, or that parse back to a different value.
    if isinstance(value, float):
        raise FormatError("floating-point numbers are not allowed")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError("JSON object keys must be strings")
            _check_json_value(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _check_json_value(item)


def canonical_json(value: Any) -> bytes:
    """Serialise JSON canonically: sorted keys, no spaces, UTF-8, integers only."""
    _check_json_value(value)
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except ValueError as exc:
        # A lone surrogate (which a "\ud800" escape parses to) has no UTF-8 encoding, and
        # an integer past Python's digit limit cannot be written: not JSON we can carry.
        raise FormatError(f"value cannot be encoded as canonical JSON: {exc}") from exc


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, val in pairs:
        if key in result:
            raise FormatError(f"duplicate JSON key {key!r}")
        result[key] = val
    return result


def _refuse_float(text: str) -> Any:
    raise FormatError("floating-point numbers are not allowed")


def parse_canonical_json(data: bytes) -> Any:
    """Parse JSON and require that it is exactly the canonical encoding of its value."""
    try:
        text = data.decode("utf-8")
        value = json.loads(
            text,
            object_pairs_hook=_refuse_duplicates,
            parse_float=_refuse_float,
            parse_constant=_refuse_float,
        )
    except FormatError:
        raise
    except (ValueError, RecursionError) as exc:
        # ValueError also covers integers longer than Python's int conversion limit.
        raise FormatError("not valid UTF-8 JSON") from exc
    if canonical_json(value) != data:
        raise FormatError("JSON is not in canonical form")
    return value
