"""Export bundle v1: the envelopes the server hands to the offline side (docs/bundle-format.md).

    bundle   = MAGIC || u32 len || manifest (signed statement, type "bundle-manifest")
               || for each envelope in manifest order: id(16) || u64 size || envelope
               || end of input

The manifest is signed by the instance key, so a truncated or mixed-up transfer is noticed.
The offline side still trusts only each envelope's own authentication.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from .encoding import b64decode, b64encode, parse_canonical_json
from .envelope import Readable, Writable, _read_exact
from .errors import FormatError, HeaderError
from .keys import signer_from_text
from .statements import sign_statement, verify_statement

MAGIC = b"sealdrop-bundle/v1\n"
ID_BYTES = 16
INSTANCE_ID_BYTES = 16
SOURCE_ID_BYTES = 32
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
_ENTRY = struct.Struct(">16sQ")
ENTRY_HEADER_BYTES = _ENTRY.size  # before each envelope: its id and its size
_U32 = struct.Struct(">I")
_COPY = 1024 * 1024


class BundleTruncated(FormatError):
    """The bundle ends before every envelope its manifest lists has arrived."""

    def __init__(self, message: str, missing: Sequence[str]) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


@dataclass(frozen=True)
class ManifestEntry:
    """One envelope listed in a manifest."""

    envelope_id: str
    size: int
    source_id: str


@dataclass(frozen=True)
class Manifest:
    """The signed list of what a bundle carries."""

    instance_id: str
    instance_key: VerifyKey
    created: str
    envelopes: tuple[ManifestEntry, ...]
    reply_keys: dict[str, bytes]  # source id (hex) -> X25519 reply public key

    def body(self) -> dict[str, Any]:
        """The manifest as the JSON body that gets signed."""
        return {
            "created": self.created,
            "envelopes": [
                {"id": e.envelope_id, "size": e.size, "source_id": e.source_id}
                for e in self.envelopes
            ],
            "instance_id": self.instance_id,
            "sources": [
                {"reply_public_key": b64encode(key), "source_id": sid}
                for sid, key in sorted(self.reply_keys.items())
            ],
        }


def _hex(value: Any, size: int, what: str) -> str:
    if not isinstance(value, str) or len(value) != size * 2:
        raise FormatError(f"{what} must be {size * 2} lowercase hex digits")
    try:
        canonical = bytes.fromhex(value).hex()
    except ValueError as exc:
        raise FormatError(f"{what} must be hex") from exc
    if canonical != value:
        raise FormatError(f"{what} must be lowercase hex")
    return value


def _manifest_from_body(body: dict[str, Any], key: VerifyKey) -> Manifest:
    if set(body) != {"created", "envelopes", "instance_id", "sources"}:
        raise FormatError("bundle manifest has unexpected fields")
    if not isinstance(body["created"], str) or not isinstance(body["envelopes"], list):
        raise FormatError("bundle manifest is malformed")
    if not isinstance(body["sources"], list):
        raise FormatError("bundle manifest is malformed")
    entries = []
    seen: set[str] = set()
    for item in body["envelopes"]:
        if not isinstance(item, dict) or set(item) != {"id", "size", "source_id"}:
            raise FormatError("bundle manifest entry is malformed")
        eid = _hex(item["id"], ID_BYTES, "envelope id")
        if eid in seen:
            raise FormatError(f"envelope {eid} is listed twice")
        seen.add(eid)
        size = item["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise FormatError("envelope size must be a non-negative integer")
        entries.append(
            ManifestEntry(eid, size, _hex(item["source_id"], SOURCE_ID_BYTES, "source id"))
        )
    reply_keys: dict[str, bytes] = {}
    for item in body["sources"]:
        if not isinstance(item, dict) or set(item) != {"reply_public_key", "source_id"}:
            raise FormatError("bundle manifest source is malformed")
        sid = _hex(item["source_id"], SOURCE_ID_BYTES, "source id")
        if sid in reply_keys:  # two keys for one source: which would a reply be sealed to?
            raise FormatError(f"source {sid} is listed twice")
        reply_keys[sid] = b64decode(item["reply_public_key"], 32)
    return Manifest(
        _hex(body["instance_id"], INSTANCE_ID_BYTES, "instance id"),
        key,
        body["created"],
        tuple(entries),
        reply_keys,
    )


class BundleWriter:
    """Writes a bundle: the signed manifest first, then each listed envelope in order."""

    def __init__(self, dst: Writable, instance_key: SigningKey, manifest: Manifest) -> None:
        if bytes(manifest.instance_key) != bytes(instance_key.verify_key):
            raise ValueError("manifest instance key does not match the signing key")
        signed = sign_statement(instance_key, "bundle-manifest", manifest.body())
        dst.write(MAGIC + _U32.pack(len(signed)) + signed)
        self._dst = dst
        self._todo = list(manifest.envelopes)
        self._next = 0

    def add(self, envelope_id: str, src: Readable) -> None:
        """Copy the next listed envelope from `src` (exactly its listed size)."""
        for _written in self.add_blocks(envelope_id, src):
            pass

    def add_blocks(self, envelope_id: str, src: Readable) -> Iterator[int]:
        """Like add(), pausing after each block written (yields its size).

        A web server streams a bundle with this: it drains what `dst` received after each
        step, so at most one block is ever held in memory.
        """
        if self._next >= len(self._todo):
            raise ValueError("every envelope in the manifest was already added")
        entry = self._todo[self._next]
        if entry.envelope_id != envelope_id:
            raise ValueError(f"expected envelope {entry.envelope_id}, got {envelope_id}")
        self._dst.write(_ENTRY.pack(bytes.fromhex(envelope_id), entry.size))
        left = entry.size
        while left:
            block = src.read(min(_COPY, left))
            if not block:
                raise ValueError(f"envelope {envelope_id} is shorter than its listed size")
            self._dst.write(block)
            left -= len(block)
            yield len(block)
        self._next += 1

    def close(self) -> None:
        """Check that every listed envelope was written."""
        if self._next != len(self._todo):
            raise ValueError("not every envelope in the manifest was added")


class _Bounded:
    """Reads at most `left` bytes from a source: one envelope inside a bundle."""

    def __init__(self, src: Readable, size: int) -> None:
        self._src = src
        self.left = size

    def read(self, size: int = -1) -> bytes:
        if self.left == 0:
            return b""
        want = self.left if size < 0 else min(size, self.left)
        data = self._src.read(want)
        self.left -= len(data)
        return data

    def drain(self) -> bool:
        """Skip what is left of this envelope; False if the input ended first."""
        while self.left:
            if not self.read(_COPY):
                return False
        return True


def read_manifest_signer(data: bytes) -> VerifyKey:
    """The key a manifest claims to be signed by (before anything is trusted)."""
    wire = parse_canonical_json(data)
    if not isinstance(wire, dict) or "signer" not in wire:
        raise FormatError("not a signed bundle manifest")
    return signer_from_text(wire["signer"])


class BundleReader:
    """Reads a bundle. `manifest` is verified at once; `entries()` yields each envelope's
    bytes as a bounded stream, in manifest order.

    `instance_key`: the key this side already trusts for the instance, or None on first
    contact, when the manifest's own key is used and the caller must decide to trust it.
    """

    def __init__(self, src: Readable, instance_key: VerifyKey | None = None) -> None:
        magic = _read_exact(src, len(MAGIC))
        if magic != MAGIC:
            raise HeaderError("not a Sealdrop bundle (or an unsupported version)")
        raw_length = _read_exact(src, 4)
        if len(raw_length) != 4:
            raise BundleTruncated("the bundle is truncated in its manifest", ())
        (length,) = _U32.unpack(raw_length)
        if length > MAX_MANIFEST_BYTES:
            raise HeaderError("bundle manifest is too large")
        signed = _read_exact(src, length)
        if len(signed) != length:
            raise BundleTruncated("the bundle is truncated in its manifest", ())
        key = instance_key if instance_key is not None else read_manifest_signer(signed)
        statement = verify_statement(signed, "bundle-manifest", key)
        self.manifest = _manifest_from_body(statement.body, key)
        self._src = src

    def _ids_from(self, index: int) -> list[str]:
        # Built only when raising: building it for every entry was quadratic in bundle size.
        return [e.envelope_id for e in self.manifest.envelopes[index:]]

    def entries(self) -> Iterator[tuple[ManifestEntry, _Bounded]]:
        """Each listed envelope in turn; unread bytes of one are skipped before the next."""
        for index, entry in enumerate(self.manifest.envelopes):
            head = _read_exact(self._src, _ENTRY.size)
            if len(head) != _ENTRY.size:
                raise BundleTruncated(
                    f"the bundle ends before envelope {entry.envelope_id}", self._ids_from(index)
                )
            raw_id, size = _ENTRY.unpack(head)
            if raw_id.hex() != entry.envelope_id or size != entry.size:
                raise HeaderError(
                    f"bundle entry {raw_id.hex()} is not the one the manifest lists next "
                    f"({entry.envelope_id}): the transfer is mixed up"
                )
            body = _Bounded(self._src, size)
            yield entry, body
            if not body.drain():
                raise BundleTruncated(
                    f"the bundle ends inside envelope {entry.envelope_id}", self._ids_from(index)
                )
        if self._src.read(1):
            raise HeaderError("unexpected data after the last envelope of the bundle")
