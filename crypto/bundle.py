"""Export bundle v2: the envelopes the server hands to the offline side (docs/bundle-format.md).

    bundle   = MAGIC || u32 len || manifest (signed statement, type "bundle-manifest")
               || for each envelope in manifest order: id(16) || u64 size || envelope
               || end of input

The signed manifest lists each envelope's id, size, source and SHA-256, so an envelope is
bound to its slot by content: a forgery sealed to the public identity, an envelope from
another bundle, a reordered, repeated or cut one is skipped by id, and the rest is read.
"""

from __future__ import annotations

import datetime
import hashlib
import re
import struct
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from nacl.signing import SigningKey, VerifyKey

from .encoding import b64decode, b64encode, parse_canonical_json
from .envelope import Readable, Writable, _read_exact
from .errors import FormatError, HeaderError
from .keys import signer_from_text
from .statements import sign_statement, verify_statement

MAGIC = b"sealdrop-bundle/v2\n"
MAGIC_FAMILY = b"sealdrop-bundle/"
V1_MAGIC = b"sealdrop-bundle/v1\n"
ID_BYTES = 16
INSTANCE_ID_BYTES = 16
SOURCE_ID_BYTES = 32
SHA256_BYTES = 32
# A bundle carries at most this many envelopes (the server exports the rest in the next
# bundle). The manifest limit is what that many entries and sources can take at most
# (224 + 146 bytes each, plus separators), so a flood is refused before it is parsed.
MAX_ENVELOPES = 100_000
MAX_MANIFEST_BYTES = 40 * 1024 * 1024
_ENTRY = struct.Struct(">16sQ")
ENTRY_HEADER_BYTES = _ENTRY.size  # before each envelope: its id and its size
_U32 = struct.Struct(">I")
_COPY = 1024 * 1024
_DAY = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")


class BundleTruncated(FormatError):
    """The bundle ends inside its manifest: nothing in it can be checked."""

    def __init__(self, message: str, missing: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.missing = tuple(missing)


class UnsupportedBundleVersion(HeaderError):
    """A Sealdrop bundle of a version this reader does not accept (e.g. v1)."""


class EnvelopeMismatch(FormatError):
    """An envelope's bytes are not the ones the signed manifest lists for its id."""


def parse_day(value: Any, what: str) -> datetime.date:
    """A day as `YYYY-MM-DD` (ASCII digits, a real calendar date), or FormatError."""
    if not isinstance(value, str) or not _DAY.match(value):
        raise FormatError(f"{what} must be a day written YYYY-MM-DD")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise FormatError(f"{what} is not a real date") from exc


@dataclass(frozen=True, slots=True)  # slots: a manifest may hold 100,000 of these
class ManifestEntry:
    """One envelope listed in a manifest."""

    envelope_id: str
    size: int
    source_id: str
    sha256: str  # of the envelope's bytes as carried, lowercase hex


@dataclass(frozen=True)
class Manifest:
    """The signed list of what a bundle carries."""

    instance_id: str
    instance_key: VerifyKey
    created: str
    envelopes: tuple[ManifestEntry, ...]
    reply_keys: dict[str, bytes]  # source id (hex) -> X25519 reply public key
    # SHA-256 of the signed bytes this manifest was read from ("" when made, not read).
    signed_sha256: str = field(default="", compare=False)

    def body(self) -> dict[str, Any]:
        """The manifest as the JSON body that gets signed."""
        return {
            "created": self.created,
            "envelopes": [
                {"id": e.envelope_id, "sha256": e.sha256, "size": e.size, "source_id": e.source_id}
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


def _entry(item: Any) -> ManifestEntry:
    if not isinstance(item, dict) or set(item) != {"id", "sha256", "size", "source_id"}:
        raise FormatError("bundle manifest entry is malformed")
    size = item["size"]
    if type(size) is not int or not 0 <= size < 2**64:  # `true` is an int in Python
        raise FormatError("envelope size must be an integer from 0 to 2^64 - 1")
    return ManifestEntry(
        _hex(item["id"], ID_BYTES, "envelope id"),
        size,
        sys.intern(_hex(item["source_id"], SOURCE_ID_BYTES, "source id")),  # shared by many
        _hex(item["sha256"], SHA256_BYTES, "envelope SHA-256"),
    )


def _manifest_from_body(body: dict[str, Any], key: VerifyKey) -> Manifest:
    if set(body) != {"created", "envelopes", "instance_id", "sources"}:
        raise FormatError("bundle manifest has unexpected fields")
    if not isinstance(body["envelopes"], list) or not isinstance(body["sources"], list):
        raise FormatError("bundle manifest is malformed")
    parse_day(body["created"], "the manifest's created day")
    if len(body["envelopes"]) > MAX_ENVELOPES:
        raise FormatError(f"a bundle carries at most {MAX_ENVELOPES} envelopes")
    entries = []
    seen: set[str] = set()
    for item in body["envelopes"]:
        entry = _entry(item)
        if entry.envelope_id in seen:
            raise FormatError(f"envelope {entry.envelope_id} is listed twice")
        seen.add(entry.envelope_id)
        entries.append(entry)
    reply_keys: dict[str, bytes] = {}
    previous = ""
    for item in body["sources"]:
        if not isinstance(item, dict) or set(item) != {"reply_public_key", "source_id"}:
            raise FormatError("bundle manifest source is malformed")
        sid = _hex(item["source_id"], SOURCE_ID_BYTES, "source id")
        if sid <= previous:  # also refuses a source listed twice: which key would count?
            raise FormatError(f"source {sid} is listed twice or out of order")
        previous = sid
        reply_keys[sid] = b64decode(item["reply_public_key"], 32)
    if {e.source_id for e in entries} != set(reply_keys):
        raise FormatError("the manifest's sources are not exactly the sources of its envelopes")
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
        step, so at most one block is ever held in memory. The bytes copied are hashed
        again: an envelope that changed since the manifest was made raises ValueError.
        """
        if self._next >= len(self._todo):
            raise ValueError("every envelope in the manifest was already added")
        entry = self._todo[self._next]
        if entry.envelope_id != envelope_id:
            raise ValueError(f"expected envelope {entry.envelope_id}, got {envelope_id}")
        self._dst.write(_ENTRY.pack(bytes.fromhex(envelope_id), entry.size))
        digest = hashlib.sha256()
        left = entry.size
        while left:
            block = src.read(min(_COPY, left))
            if not block:
                raise ValueError(f"envelope {envelope_id} is shorter than its listed size")
            digest.update(block)
            self._dst.write(block)
            left -= len(block)
            yield len(block)
        if digest.hexdigest() != entry.sha256:
            raise ValueError(f"envelope {envelope_id} changed since its manifest was made")
        self._next += 1

    def close(self) -> None:
        """Check that every listed envelope was written."""
        if self._next != len(self._todo):
            raise ValueError("not every envelope in the manifest was added")


def envelope_digest(src: Readable) -> tuple[int, str]:
    """The size and SHA-256 (hex) of an envelope file, as a manifest lists them."""
    digest = hashlib.sha256()
    size = 0
    while block := src.read(_COPY):
        digest.update(block)
        size += len(block)
    return size, digest.hexdigest()


class CheckedEnvelope:
    """One envelope inside a bundle, read as a bounded stream and hashed as it is read.

    Use nothing read from it until verify() passed: it reads what is left, then raises
    EnvelopeMismatch unless the SHA-256 of all its bytes is the manifest's.
    """

    def __init__(self, src: Readable, entry: ManifestEntry) -> None:
        self._src = src
        self._entry = entry
        self._hash = hashlib.sha256()
        self.left = entry.size
        self.ended_early = False
        self._decided = False
        self._verdict: str | None = None

    def read(self, size: int = -1) -> bytes:
        if self.left == 0 or self.ended_early:
            return b""
        want = self.left if size < 0 else min(size, self.left)
        data = self._src.read(want)
        if not data and want:
            self.ended_early = True
        self._hash.update(data)
        self.left -= len(data)
        return data

    def problem(self) -> str | None:
        """Read the rest; None if the envelope is the one listed, else why not."""
        if not self._decided:
            self._decided = True
            while self.left and not self.ended_early:
                self.read(_COPY)
            if self.ended_early:
                self._verdict = "the bundle ends inside it (the bundle is truncated)"
            elif self._hash.hexdigest() != self._entry.sha256:
                self._verdict = (
                    "its SHA-256 is not the one the signed manifest lists: the envelope "
                    "was swapped or damaged"
                )
        return self._verdict

    def verify(self) -> None:
        """Raise EnvelopeMismatch unless every byte matched the manifest's SHA-256."""
        problem = self.problem()
        if problem is not None:
            raise EnvelopeMismatch(problem)


@dataclass(frozen=True)
class Arrived:
    """A listed envelope in its place; check `body` before using anything of it."""

    entry: ManifestEntry
    body: CheckedEnvelope


@dataclass(frozen=True)
class Missing:
    """A listed envelope that did not arrive in its place (skipped, never acked)."""

    entry: ManifestEntry
    reason: str


@dataclass(frozen=True)
class Stray:
    """Bytes in the bundle that fill no listed slot: ignored, and reported."""

    envelope_id: str | None
    reason: str


Event = Arrived | Missing | Stray


def read_manifest_signer(data: bytes) -> VerifyKey:
    """The key a manifest claims to be signed by (before anything is trusted)."""
    wire = parse_canonical_json(data)
    if not isinstance(wire, dict) or "signer" not in wire:
        raise FormatError("not a signed bundle manifest")
    return signer_from_text(wire["signer"])


def _check_magic(magic: bytes) -> None:
    if magic == MAGIC:
        return
    if magic == V1_MAGIC:
        raise UnsupportedBundleVersion(
            "this is a version 1 bundle, which does not bind envelopes to their content and "
            "is no longer imported: upgrade the server and export the envelopes again "
            "(sealdrop export --include-exported)"
        )
    if magic.startswith(MAGIC_FAMILY):
        version = magic[len(MAGIC_FAMILY) :].split(b"\n", 1)[0].decode("ascii", "replace")
        raise UnsupportedBundleVersion(
            f"bundle version {version!r} is not supported (this tool reads v2): "
            "use a sealdrop-admin as new as the server"
        )
    raise HeaderError("not a Sealdrop bundle")


class BundleReader:
    """Reads a bundle. `manifest` is verified at once; `entries()` then says, slot by slot,
    what arrived (Arrived, with a hashed stream), what did not (Missing) and what filled
    no slot (Stray).

    `instance_key`: the key this side already trusts for the instance, or None on first
    contact, when the manifest's own key is used and the caller must decide to trust it.
    `known`: a manifest this side already read and verified; if the bytes are the same
    ones, it is used without parsing them again (a 100,000-entry manifest takes 90 MiB).
    """

    def __init__(
        self, src: Readable, instance_key: VerifyKey | None = None, known: Manifest | None = None
    ) -> None:
        _check_magic(_read_exact(src, len(MAGIC)))
        raw_length = _read_exact(src, 4)
        if len(raw_length) != 4:
            raise BundleTruncated("the bundle is truncated in its manifest")
        (length,) = _U32.unpack(raw_length)
        if length > MAX_MANIFEST_BYTES:
            raise HeaderError(
                f"the bundle manifest is larger than {MAX_MANIFEST_BYTES // 2**20} MiB "
                f"(a bundle carries at most {MAX_ENVELOPES} envelopes)"
            )
        signed = _read_exact(src, length)
        if len(signed) != length:
            raise BundleTruncated("the bundle is truncated in its manifest")
        digest = hashlib.sha256(signed).hexdigest()
        if known is not None and known.signed_sha256 == digest:
            self.manifest = known
        else:
            key = instance_key if instance_key is not None else read_manifest_signer(signed)
            statement = verify_statement(signed, "bundle-manifest", key)
            self.manifest = replace(_manifest_from_body(statement.body, key), signed_sha256=digest)
        self.truncated = False
        self._src = src

    def _skip(self, size: int) -> bool:
        """Skip `size` bytes; False if the input ended first."""
        while size:
            block = self._src.read(min(_COPY, size))
            if not block:
                return False
            size -= len(block)
        return True

    def entries(self) -> Iterator[Event]:
        """Every slot and stray in bundle order; what a caller leaves unread is skipped."""
        listed = self.manifest.envelopes
        index = {entry.envelope_id: i for i, entry in enumerate(listed)}
        cursor = 0
        while True:
            head = _read_exact(self._src, _ENTRY.size)
            if len(head) < _ENTRY.size:
                if head and cursor == len(listed):
                    yield Stray(None, f"{len(head)} bytes of data after the last envelope")
                if cursor < len(listed):
                    self.truncated = True
                break
            raw_id, size = _ENTRY.unpack(head)
            envelope_id = raw_id.hex()
            at = index.get(envelope_id)
            if at is None or at < cursor:
                why = (
                    "it is not listed in the manifest"
                    if at is None
                    else "it arrived out of the manifest's order, or a second time"
                )
                yield Stray(envelope_id, why)
                if not self._skip(size):
                    self.truncated = True
                    break
                continue
            for passed in listed[cursor:at]:
                yield Missing(passed, "it is not in the bundle where the manifest lists it")
            cursor = at + 1
            entry = listed[at]
            if size != entry.size:
                yield Missing(
                    entry, f"its size in the bundle ({size}) is not the manifest's ({entry.size})"
                )
                if not self._skip(size):
                    self.truncated = True
                    break
                continue
            body = CheckedEnvelope(self._src, entry)
            yield Arrived(entry, body)
            if body.problem() is not None and body.ended_early:
                self.truncated = True
                break
        for entry in listed[cursor:]:
            yield Missing(entry, "the bundle ends before it (the bundle is truncated)")
