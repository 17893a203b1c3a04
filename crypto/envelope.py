"""Envelope formats v2 (written) and v1 (still read): one sealed message or file
(docs/envelope-format.md).

    v2 envelope = MAGIC || flags(1)=0 || count(1) || count * (type(1) || stanza)
                  || header_mac(32) || secretstream_header(24) || chunks
        type 0x01: X25519 sealed box (80 bytes); type 0x02: X-Wing hybrid (1120 + 48 bytes)
    v1 envelope = MAGIC_V1 || flags(1)=0 || count(1) || count * stanza(80) || header_mac(32)
                  || secretstream_header(24) || chunks
    plaintext = u32 len || metadata JSON
                || frames (u32 len || bytes; every frame but the last is 65536 bytes)
                || u32 0 || u32 len || trailer JSON {"sha256","size"} || zero padding (Padmé)

The plaintext is cut into 65536-byte chunks, each pushed through libsodium's secretstream
(XChaCha20-Poly1305); the last chunk, and only it, carries TAG_FINAL.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import queue
import re
import struct
import threading
import weakref
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import nacl.bindings as sodium
import nacl.exceptions
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey, PublicKey, SealedBox

from .encoding import canonical_json, parse_canonical_json
from .errors import CryptoError, FormatError, HeaderError, NoMatchingKey, PayloadError
from .keys import MAX_RECIPIENTS
from .xwing import CIPHERTEXT_BYTES as XWING_CIPHERTEXT_BYTES
from .xwing import XWingPrivateKey, XWingPublicKey

MAGIC = b"sealdrop-envelope/v2\n"  # what Sealer writes
MAGIC_V1 = b"sealdrop-envelope/v1\n"  # still opened: tips sealed before v2 may be waiting
MAGIC_FAMILY = b"sealdrop-envelope/"
FILE_KEY_BYTES = 32
STANZA_BYTES = 32 + 16 + FILE_KEY_BYTES  # sealed box: ephemeral key, MAC, file key
STANZA_X25519 = 0x01
STANZA_XWING = 0x02
_WRAP_TAG_BYTES = 16
XWING_STANZA_BYTES = XWING_CIPHERTEXT_BYTES + FILE_KEY_BYTES + _WRAP_TAG_BYTES
STANZA_BODY_BYTES = {STANZA_X25519: STANZA_BYTES, STANZA_XWING: XWING_STANZA_BYTES}
_XWING_WRAP_AD = b"sealdrop-envelope/v2 xwing"
_ZERO_NONCE = bytes(sodium.crypto_aead_chacha20poly1305_ietf_NPUBBYTES)
HEADER_MAC_BYTES = 32
STREAM_HEADER_BYTES = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
CHUNK_BYTES = 64 * 1024
TAG_BYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES
FRAME_BYTES = 64 * 1024
MAX_METADATA_BYTES = 1024 * 1024
MAX_TRAILER_BYTES = 1024
_READ_BYTES = 256 * 1024  # Sealer.seal reads this much at a time: fewer, larger hash updates
_GATHER_BYTES = 16 * 1024  # writes smaller than this are gathered before framing

_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
_U32 = struct.Struct(">I")
_NULL = _ffi.NULL
_push_c = _lib.crypto_secretstream_xchacha20poly1305_push
_pull_c = _lib.crypto_secretstream_xchacha20poly1305_pull
_ZEROS = memoryview(bytes(CHUNK_BYTES))
_FULL_FRAME_PREFIX = _U32.pack(FRAME_BYTES)
_FRAME_SLOT = 4 + FRAME_BYTES  # a whole frame with its length prefix
_SEGMENT_FRAMES = 4  # Sealer.seal lays out this many whole frames at a time (about 256 KiB)
_alloc_unzeroed = _ffi.new_allocator(should_clear_after_alloc=False)
_SHA256_HEX = re.compile("[0-9a-f]{64}")


class Writable(Protocol):
    """Anything with write(bytes)."""

    def write(self, data: bytes, /) -> Any: ...


class Readable(Protocol):
    """Anything with read(n) -> bytes."""

    def read(self, size: int = -1, /) -> bytes: ...


def padme(length: int) -> int:
    """Padmé: round length up so that at most O(log log length) bits of it leak."""
    if length < 2:
        return length
    exponent = length.bit_length() - 1
    mantissa_bits = exponent - exponent.bit_length()
    mask = (1 << mantissa_bits) - 1
    return (length + mask) & ~mask


class _HashWorker:
    """A helper thread that hashes batches in order; the caller's thread helps when it lags.

    Batches wait in a deque. Whoever hashes one (the helper, or the caller when more than
    DEPTH are waiting) pops it and hashes it under one lock, so batches are hashed exactly in
    the order they were added. hashlib releases the GIL while hashing, so on a free core the
    helper overlaps the caller's cipher work; on a busy machine, where the helper waits to be
    scheduled, the caller does the work itself instead of sleeping. It does not even wait for
    the lock (the helper may hold it while descheduled) unless MAX_WAITING batches wait."""

    DEPTH = 2  # the caller helps past this many waiting batches
    MAX_WAITING = 16  # ... and past this many it waits for its turn: bounds memory

    def __init__(self, hash_: Any) -> None:
        self._hash = hash_
        self._ready: deque[list[bytes | memoryview]] = deque()
        self._lock = threading.Lock()
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._stopped = threading.Event()
        thread = threading.Thread(
            target=self._work,
            args=(hash_, self._ready, self._lock, self._wake, self._stopped),
            daemon=True,
        )
        thread.start()
        # An abandoned writer or reader must not leave its thread waiting forever.
        self._finalizer = weakref.finalize(self, self._stop, self._wake, self._stopped, thread)
        self._finalizer.atexit = False

    @staticmethod
    def _hash_next(hash_: Any, ready: deque[list[bytes | memoryview]]) -> None:
        for data in ready.popleft():
            hash_.update(data)

    @staticmethod
    def _work(
        hash_: Any,
        ready: deque[list[bytes | memoryview]],
        lock: threading.Lock,
        wake: queue.SimpleQueue[None],
        stopped: threading.Event,
    ) -> None:
        while True:
            wake.get()
            with lock:
                if stopped.is_set():
                    return
                if ready:  # the caller may have hashed it already
                    _HashWorker._hash_next(hash_, ready)

    @staticmethod
    def _stop(
        wake: queue.SimpleQueue[None], stopped: threading.Event, thread: threading.Thread
    ) -> None:
        stopped.set()
        wake.put(None)
        thread.join()

    def add(self, batch: list[bytes | memoryview]) -> None:
        """Queue a batch; hash the oldest ones here if too many are waiting."""
        self._ready.append(batch)
        self._wake.put(None)
        waiting = len(self._ready)
        if waiting > self.DEPTH and self._lock.acquire(blocking=waiting > self.MAX_WAITING):
            try:
                while len(self._ready) > self.DEPTH:
                    self._hash_next(self._hash, self._ready)
            finally:
                self._lock.release()

    def finish(self) -> None:
        """Hash everything still waiting, then end the thread."""
        with self._lock:
            while self._ready:
                self._hash_next(self._hash, self._ready)
        self._finalizer()


class _Sha256:
    """SHA-256 of a stream. Small contents are hashed at once; past a few hundred KiB,
    batches go to a _HashWorker so hashing overlaps the cipher on another core. Callers pass
    bytes (or views of memory) they will not change: they may be hashed after update() returns."""

    INLINE_BYTES = 256 * 1024  # no thread for contents this small
    BATCH_BYTES = 256 * 1024  # handed over in batches: fewer thread switches

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._inline = 0
        self._batch: list[bytes | memoryview] = []
        self._batch_bytes = 0
        self._worker: _HashWorker | None = None
        self._threadless = False  # no thread could be started: hash everything here

    def update(self, data: bytes | memoryview) -> None:
        """Add `data`."""
        # Inline only while nothing waits in a batch: updates must keep their order.
        if (
            not self._batch
            and self._worker is None
            and (self._threadless or self._inline + len(data) <= self.INLINE_BYTES)
        ):
            self._inline += len(data)
            self._hash.update(data)
            return
        self._batch.append(data)
        self._batch_bytes += len(data)
        if self._batch_bytes >= self.BATCH_BYTES:
            if self._worker is None:
                try:
                    self._worker = _HashWorker(self._hash)
                except RuntimeError:  # "can't start new thread": slower, but the seal goes on
                    self._threadless = True
                    self.close()  # hashes the waiting batch here
                    return
            self._worker.add(self._batch)
            self._batch = []
            self._batch_bytes = 0

    def close(self) -> None:
        """Hash what is still waiting and end the helper thread."""
        if self._worker is not None:
            if self._batch:
                self._worker.add(self._batch)
            self._worker.finish()
            self._worker = None
        else:
            for data in self._batch:
                self._hash.update(data)
        self._batch = []
        self._batch_bytes = 0

    def hexdigest(self) -> str:
        """The digest of everything added."""
        self.close()
        return self._hash.hexdigest()


def _subkey(file_key: bytes, person: bytes) -> bytes:
    return blake2b(b"", digest_size=32, key=file_key, person=person, encoder=RawEncoder)


def _header_mac(file_key: bytes, header: bytes) -> bytes:
    mac_key = _subkey(file_key, b"sealdrop-env-mac")
    return blake2b(header, digest_size=HEADER_MAC_BYTES, key=mac_key, encoder=RawEncoder)


def _payload_key(file_key: bytes) -> bytes:
    return _subkey(file_key, b"sealdrop-env-pay")


Recipient = PublicKey | XWingPublicKey
Identity = PrivateKey | XWingPrivateKey


def _xwing_wrap_key(shared_secret: bytes) -> bytes:
    return blake2b(shared_secret, digest_size=32, person=b"sealdrop-xwing-w", encoder=RawEncoder)


def xwing_wrap(recipient: XWingPublicKey, file_key: bytes) -> bytes:
    """An X-Wing stanza body: KEM ciphertext || ChaCha20-Poly1305(file key)."""
    shared, ciphertext = recipient.encapsulate()
    return ciphertext + xwing_seal_file_key(shared, file_key)


def xwing_seal_file_key(shared_secret: bytes, file_key: bytes) -> bytes:
    """Wrap the file key under a key derived from an X-Wing shared secret (48 bytes)."""
    return bytes(
        sodium.crypto_aead_chacha20poly1305_ietf_encrypt(
            file_key, _XWING_WRAP_AD, _ZERO_NONCE, _xwing_wrap_key(shared_secret)
        )
    )


def _xwing_unwrap(key: XWingPrivateKey, body: bytes) -> bytes | None:
    shared = key.decapsulate(body[:XWING_CIPHERTEXT_BYTES])
    try:
        return bytes(
            sodium.crypto_aead_chacha20poly1305_ietf_decrypt(
                body[XWING_CIPHERTEXT_BYTES:], _XWING_WRAP_AD, _ZERO_NONCE, _xwing_wrap_key(shared)
            )
        )
    except nacl.exceptions.CryptoError:
        return None


def _stanza(recipient: Recipient, file_key: bytes) -> bytes:
    if isinstance(recipient, XWingPublicKey):
        return bytes([STANZA_XWING]) + xwing_wrap(recipient, file_key)
    return bytes([STANZA_X25519]) + bytes(SealedBox(recipient).encrypt(file_key))


@dataclass(frozen=True)
class SealResult:
    """What sealing learned about the plaintext: its size and SHA-256, and the envelope's size."""

    size: int
    sha256: str
    envelope_size: int


@dataclass(frozen=True)
class OpenedEnvelope:
    """An envelope that opened and verified completely."""

    metadata: dict[str, Any]
    size: int
    sha256: str


class Sealer:
    """Seals (always as v2) to a fixed set of recipient public keys, X25519 or X-Wing. It can
    only seal, never open."""

    def __init__(self, recipients: Sequence[Recipient]) -> None:
        if not all(isinstance(r, (PublicKey, XWingPublicKey)) for r in recipients):
            raise TypeError("Sealer needs nacl.public.PublicKey or XWingPublicKey recipients")
        if not 1 <= len(recipients) <= MAX_RECIPIENTS:
            raise ValueError(f"seal to 1 to {MAX_RECIPIENTS} recipients")
        self._recipients = tuple(recipients)

    def writer(self, dst: Writable, metadata: Mapping[str, Any]) -> EnvelopeWriter:
        """Start an envelope on `dst`; feed it with write() and finish with close()."""
        return EnvelopeWriter(dst, self._recipients, metadata)

    def seal(self, src: Readable, dst: Writable, metadata: Mapping[str, Any]) -> SealResult:
        """Seal everything readable from `src` into `dst`, in constant memory."""
        with self.writer(dst, metadata) as env:
            if isinstance(src, io.BufferedIOBase):  # BytesIO, files opened "rb", stdin.buffer
                env._write_frames_from(src)
            while block := src.read(_READ_BYTES):
                env.write(block)
        return env.result

    def seal_bytes(self, data: bytes, metadata: Mapping[str, Any]) -> bytes:
        """Seal a small in-memory message and return the envelope."""
        out = io.BytesIO()
        self.seal(io.BytesIO(data), out, metadata)
        return out.getvalue()


class EnvelopeWriter:
    """Streams one envelope out. Use as a context manager; an exception aborts it."""

    def __init__(
        self, dst: Writable, recipients: Sequence[Recipient], metadata: Mapping[str, Any]
    ) -> None:
        meta = canonical_json(dict(metadata))
        if len(meta) > MAX_METADATA_BYTES:
            raise FormatError("envelope metadata is larger than 1 MiB")
        self._dst = dst
        file_key = os.urandom(FILE_KEY_BYTES)
        stanzas = b"".join(_stanza(r, file_key) for r in recipients)
        header = MAGIC + bytes([0, len(recipients)]) + stanzas
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        stream_header = sodium.crypto_secretstream_xchacha20poly1305_init_push(
            self._state, _payload_key(file_key)
        )
        self._written = 0
        self._out(header + _header_mac(file_key, header) + stream_header)
        # libsodium is called directly (PyNaCl's push checks its arguments and allocates on
        # every call): the plaintext of the chunk being filled is copied into _chunk, the one
        # copy made before the cipher, and each chunk is sealed into _sealed, then copied out
        # as bytes the destination may keep.
        self._statebuf = self._state.statebuf
        self._chunk = bytearray(CHUNK_BYTES)
        self._chunk_ptr = _ffi.from_buffer(self._chunk)
        self._sealed = _ffi.new("unsigned char[]", SEALED_CHUNK_BYTES)
        self._sealed_out = _ffi.buffer(self._sealed)
        self._plain_fill = 0
        self._plain_length = 0
        # Content of the frame being filled: its length prefix is known only once it is full.
        self._frame_parts: list[memoryview] = []
        self._frame_fill = 0
        self._small = bytearray()  # small writes gathered, so the part lists stay short
        self._hash = _Sha256()
        self._size = 0
        self._result: SealResult | None = None
        self._closed = False
        self._emit(memoryview(_U32.pack(len(meta)) + meta))

    def _out(self, data: bytes) -> None:
        self._dst.write(data)
        self._written += len(data)

    def _push(self, tag: int) -> None:
        length = self._plain_fill
        self._plain_fill = 0
        self._seal(self._chunk_ptr, length, tag)

    def _seal(self, plain: Any, length: int, tag: int) -> None:
        """Seal `length` bytes at the cffi pointer `plain` as the next chunk and write it."""
        if _push_c(self._statebuf, self._sealed, _NULL, plain, length, _NULL, 0, tag):
            raise CryptoError("libsodium failed to seal a chunk")  # pragma: no cover
        sealed = self._sealed_out[: length + TAG_BYTES]
        self._dst.write(sealed)
        self._written += len(sealed)

    def _emit(self, plain: memoryview) -> None:
        size = len(plain)
        self._plain_length += size
        fill = self._plain_fill
        # Push a full chunk only once more plaintext follows: only close() knows the last.
        if fill + size > CHUNK_BYTES:
            chunk = self._chunk
            start = CHUNK_BYTES - fill
            chunk[fill:] = plain[:start]
            self._plain_fill = CHUNK_BYTES
            self._push(_TAG_MESSAGE)
            while size - start > CHUNK_BYTES:
                chunk[:] = plain[start : start + CHUNK_BYTES]
                start += CHUNK_BYTES
                self._plain_fill = CHUNK_BYTES
                self._push(_TAG_MESSAGE)
            fill = 0
            plain = plain[start:]
            size -= start
        self._chunk[fill : fill + size] = plain
        self._plain_fill = fill + size

    def _end_frame(self) -> None:
        self._emit(memoryview(_U32.pack(self._frame_fill)))
        for part in self._frame_parts:
            self._emit(part)
        self._frame_parts.clear()
        self._frame_fill = 0

    def _add(self, block: bytes) -> None:
        """Hash and frame content; `block` is ours now and never changes."""
        self._hash.update(block)
        self._size += len(block)
        view = memoryview(block)
        while view:
            piece = view[: FRAME_BYTES - self._frame_fill]
            self._frame_parts.append(piece)
            self._frame_fill += len(piece)
            view = view[len(piece) :]
            if self._frame_fill == FRAME_BYTES:
                self._end_frame()

    def _write_frames_from(self, src: io.BufferedIOBase) -> None:
        """Sealer.seal's way in: whole frames are read straight into place behind their
        length prefix, and the chunks lying wholly inside them are sealed from there, without
        the copy _emit makes. The content is hashed from the same memory, which is never
        reused. A last, partial frame goes through _add as any write would."""
        while not self._small and not self._frame_fill:  # always so: nothing written yet
            segment = _alloc_unzeroed("unsigned char[]", _SEGMENT_FRAMES * _FRAME_SLOT)
            view = memoryview(_ffi.buffer(segment))
            whole = 0
            got = FRAME_BYTES
            while whole < _SEGMENT_FRAMES:
                start = whole * _FRAME_SLOT + 4
                got = _read_into(src, view[start : start + FRAME_BYTES])
                if got < FRAME_BYTES:
                    break
                view[start - 4 : start] = _FULL_FRAME_PREFIX
                self._hash.update(view[start : start + FRAME_BYTES])
                whole += 1
            self._size += whole * FRAME_BYTES
            if whole:
                self._emit_laid_out(view[: whole * _FRAME_SLOT], segment)
            if got < FRAME_BYTES:  # end of input
                if got:
                    start = whole * _FRAME_SLOT + 4
                    self._add(view[start : start + got].tobytes())
                return

    def _emit_laid_out(self, plain: memoryview, memory: Any) -> None:
        """_emit, for plaintext at the start of cffi `memory` that never changes: chunks
        lying wholly inside it are sealed in place."""
        size = len(plain)
        start = CHUNK_BYTES - self._plain_fill
        if size <= start:
            self._emit(plain)
            return
        if self._plain_fill:
            self._emit(plain[:start])  # completes the chunk being filled
            self._push(_TAG_MESSAGE)
        else:
            start = 0
        # Push a full chunk only once more plaintext follows: only close() knows the last.
        while size - start > CHUNK_BYTES:
            self._seal(memory + start, CHUNK_BYTES, _TAG_MESSAGE)
            self._plain_length += CHUNK_BYTES
            start += CHUNK_BYTES
        self._emit(plain[start:])

    def _add_small(self) -> None:
        if self._small:
            self._add(bytes(self._small))
            self._small.clear()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Add content bytes. The writer keeps its own copy: the caller may reuse `data`."""
        if self._closed:
            raise ValueError("write to a closed envelope")
        if type(data) is not bytes:
            data = bytes(data)
        if len(data) < _GATHER_BYTES:
            self._small += data
            if len(self._small) >= _GATHER_BYTES:
                self._add_small()
        else:
            self._add_small()
            self._add(data)
        return len(data)

    def close(self) -> SealResult:
        """Write the trailer, padding and final chunk; return what was sealed."""
        if self._result is not None:
            return self._result
        if self._closed:
            raise ValueError("envelope was aborted")
        self._closed = True
        self._add_small()
        if self._frame_fill:
            self._end_frame()
        digest = self._hash.hexdigest()
        trailer = canonical_json({"sha256": digest, "size": self._size})
        self._emit(memoryview(_U32.pack(0) + _U32.pack(len(trailer)) + trailer))
        padding = padme(self._plain_length) - self._plain_length
        while padding:
            step = min(padding, CHUNK_BYTES)
            self._emit(_ZEROS[:step])
            padding -= step
        self._push(_TAG_FINAL)
        self._result = SealResult(self._size, digest, self._written)
        return self._result

    def abort(self) -> None:
        """Stop without finishing; the caller discards what was written."""
        self._closed = True
        self._frame_parts.clear()
        self._small.clear()
        self._hash.close()

    @property
    def result(self) -> SealResult:
        """The SealResult, once closed."""
        if self._result is None:
            raise ValueError("envelope not closed yet")
        return self._result

    def __enter__(self) -> EnvelopeWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _read_exact(src: Readable, size: int) -> bytes:
    """Read up to `size` bytes, looping over short reads; fewer only at end of input."""
    data = src.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    got = len(data)
    while got < size:
        more = src.read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def _read_into(src: io.BufferedIOBase, target: memoryview) -> int:
    """Fill `target` from `src`, looping over short reads; fewer bytes only at end of input."""
    got = 0
    while got < len(target):
        count = src.readinto(target[got:])
        if not count:
            break
        got += count
    return got


class Opener:
    """Opens envelopes sealed to any of the given private keys (X25519 or X-Wing), v1 or v2."""

    def __init__(self, keys: Sequence[Identity]) -> None:
        if not keys or not all(isinstance(k, (PrivateKey, XWingPrivateKey)) for k in keys):
            raise TypeError("Opener needs at least one PrivateKey or XWingPrivateKey")
        self._keys = tuple(SealedBox(k) if isinstance(k, PrivateKey) else k for k in keys)

    def reader(self, src: Readable) -> EnvelopeReader:
        """Read and authenticate the header and metadata; content follows via read()."""
        return EnvelopeReader(src, self._keys)

    def open(self, src: Readable, dst: Writable) -> OpenedEnvelope:
        """Decrypt into `dst`. If this raises, discard everything written to `dst`."""
        env = self.reader(src)
        while block := env.read():
            dst.write(block)
        return env.finish()

    def open_bytes(self, data: bytes) -> tuple[OpenedEnvelope, bytes]:
        """Open a small in-memory envelope."""
        out = io.BytesIO()
        opened = self.open(io.BytesIO(data), out)
        return opened, out.getvalue()


class _PlainStream:
    """Authenticated plaintext of the payload, chunk by chunk, with exact reads.

    Chunks are decrypted into two buffers in turn, so a chunk's plaintext stays valid until
    the chunk after next is decrypted; read_exact() and rest() copy out of them (the one
    copy after the cipher) and hand out bytes of their own."""

    def __init__(self, src: Readable, state: Any) -> None:
        self._src = src
        self._state = state
        self._chunks = self._decrypt()
        self._buf: bytes | memoryview = b""
        self._pos = 0
        self.total = 0  # plaintext bytes released so far
        self.ended = False

    def _decrypt(self) -> Iterator[memoryview]:
        # libsodium is called directly (PyNaCl's pull checks its arguments and copies the
        # plaintext out on every call).
        statebuf = self._state.statebuf
        tag_ptr = _ffi.new("unsigned char *")
        buffers = [_ffi.new("unsigned char[]", CHUNK_BYTES) for _ in range(2)]
        views = [memoryview(_ffi.buffer(buffer)) for buffer in buffers]
        turn = 0
        src = self._src
        current = _read_exact(src, SEALED_CHUNK_BYTES)
        if not current:
            raise PayloadError("payload is missing: the envelope is truncated")
        while True:
            size = len(current)
            following = _read_exact(src, SEALED_CHUNK_BYTES) if size == SEALED_CHUNK_BYTES else b""
            if size <= TAG_BYTES:
                raise PayloadError("payload chunk is too short: the envelope is truncated")
            if _pull_c(statebuf, buffers[turn], _NULL, tag_ptr, current, size, _NULL, 0):
                raise PayloadError(
                    "payload failed authentication: the file may be corrupted or tampered with"
                )
            tag = tag_ptr[0]
            last = not following
            if tag == _TAG_FINAL and not last:
                raise PayloadError("data follows the final chunk: the envelope was tampered with")
            if tag != _TAG_FINAL and last:
                raise PayloadError("the final chunk is missing: the envelope is truncated")
            if tag not in (_TAG_FINAL, _TAG_MESSAGE):
                raise PayloadError("unexpected chunk tag")
            yield views[turn][: size - TAG_BYTES]
            if last:
                self.ended = True
                return
            current = following
            turn ^= 1

    def read_exact(self, size: int) -> bytes:
        """Exactly `size` bytes of plaintext, or PayloadError if the payload ends first."""
        pos = self._pos
        available = len(self._buf) - pos
        if size <= available:
            self._pos = pos + size
            self.total += size
            return bytes(self._buf[pos : pos + size])
        # Views, so that the join below is the only copy.
        parts: list[bytes | memoryview] = [self._buf[pos:]]
        need = size - available
        while need:
            chunk = next(self._chunks, None)
            if chunk is None:
                raise PayloadError("payload ends early: malformed envelope")
            if len(chunk) >= need:
                parts.append(chunk[:need])
                self._buf, self._pos = chunk, need
                need = 0
            else:
                # Copied now: decrypting the next chunk reuses the buffer of the one before.
                parts = [b"".join((*parts, chunk))]
                need -= len(chunk)
                self._buf, self._pos = b"", 0
        self.total += size
        return b"".join(parts)

    def rest(self) -> Iterator[bytes]:
        """All remaining plaintext, consuming the stream to its authenticated end."""
        if self._pos < len(self._buf):
            tail = bytes(self._buf[self._pos :])
            self.total += len(tail)
            yield tail
        self._buf, self._pos = b"", 0
        for chunk in self._chunks:
            self.total += len(chunk)
            yield bytes(chunk)


@dataclass(frozen=True)
class _RawStanza:
    """One stanza as read: its type and body, and the bytes the header MAC covers."""

    kind: int
    body: bytes
    wire: bytes

    def __bytes__(self) -> bytes:
        return self.wire


def _read_v1_stanzas(src: Readable, count: int) -> list[_RawStanza]:
    raw = _read_exact(src, count * STANZA_BYTES)
    if len(raw) != count * STANZA_BYTES:
        raise HeaderError("envelope header is truncated")
    bodies = [raw[i : i + STANZA_BYTES] for i in range(0, len(raw), STANZA_BYTES)]
    return [_RawStanza(STANZA_X25519, body, body) for body in bodies]


def _read_v2_stanzas(src: Readable, count: int) -> list[_RawStanza]:
    stanzas = []
    for _ in range(count):
        kind = _read_exact(src, 1)
        if not kind:
            raise HeaderError("envelope header is truncated")
        size = STANZA_BODY_BYTES.get(kind[0])
        if size is None:
            raise HeaderError(f"unknown recipient stanza type 0x{kind[0]:02x}")
        body = _read_exact(src, size)
        if len(body) != size:
            raise HeaderError("envelope header is truncated")
        stanzas.append(_RawStanza(kind[0], body, kind + body))
    return stanzas


def _unwrap(
    stanzas: Sequence[_RawStanza],
    keys: Sequence[SealedBox[Any] | XWingPrivateKey],
    header: bytes,
    mac: bytes,
) -> bytes:
    """The file key: the first, in stanza order then key order, that authenticates the header.

    A stanza that opens but whose file key fails the header MAC does not stop the search:
    the MAC admits one file key only, so every set of keys that opens the envelope at all
    opens it to the same content."""
    opened = False
    for stanza in stanzas:
        for key in keys:
            file_key: bytes | None
            if stanza.kind == STANZA_XWING and isinstance(key, XWingPrivateKey):
                file_key = _xwing_unwrap(key, stanza.body)
            elif stanza.kind == STANZA_X25519 and isinstance(key, SealedBox):
                try:
                    file_key = key.decrypt(stanza.body)
                except nacl.exceptions.CryptoError:
                    file_key = None
            else:
                continue  # a key is only ever used with its own stanza type
            if file_key is None or len(file_key) != FILE_KEY_BYTES:
                continue
            opened = True
            if hmac.compare_digest(_header_mac(file_key, header), mac):
                return file_key
    if opened:
        raise HeaderError("header failed authentication: the envelope was tampered with")
    raise NoMatchingKey("this envelope was not sealed to any of the keys given")


class EnvelopeReader:
    """One envelope being opened. `metadata` is ready at once; `read()` gives content;
    `finish()` checks the trailer, padding and end of stream. Content is only trustworthy
    once finish() has returned."""

    def __init__(self, src: Readable, keys: Sequence[SealedBox[Any] | XWingPrivateKey]) -> None:
        magic = _read_exact(src, len(MAGIC))
        if magic not in (MAGIC, MAGIC_V1):
            if 0 < len(magic) < len(MAGIC) and (
                MAGIC.startswith(magic) or MAGIC_V1.startswith(magic)
            ):
                raise HeaderError("envelope header is truncated")
            if magic.startswith(MAGIC_FAMILY):
                raise HeaderError("unsupported envelope version")
            raise HeaderError("not a Sealdrop envelope")
        fixed = _read_exact(src, 2)
        if len(fixed) != 2:
            raise HeaderError("envelope header is truncated")
        flags, count = fixed[0], fixed[1]
        if flags != 0:
            raise HeaderError("unknown envelope flags")
        if not 1 <= count <= MAX_RECIPIENTS:
            raise HeaderError(f"recipient count must be 1 to {MAX_RECIPIENTS}")
        stanzas = (
            _read_v1_stanzas(src, count) if magic == MAGIC_V1 else _read_v2_stanzas(src, count)
        )
        rest = _read_exact(src, HEADER_MAC_BYTES + STREAM_HEADER_BYTES)
        if len(rest) != HEADER_MAC_BYTES + STREAM_HEADER_BYTES:
            raise HeaderError("envelope header is truncated")
        header = magic + fixed + b"".join(bytes(raw) for raw in stanzas)
        mac, stream_header = rest[:HEADER_MAC_BYTES], rest[HEADER_MAC_BYTES:]
        file_key = _unwrap(stanzas, keys, header, mac)
        self.version = 1 if magic == MAGIC_V1 else 2
        state = sodium.crypto_secretstream_xchacha20poly1305_state()
        try:
            sodium.crypto_secretstream_xchacha20poly1305_init_pull(
                state, stream_header, _payload_key(file_key)
            )
        except nacl.exceptions.CryptoError as exc:  # pragma: no cover - libsodium never fails here
            raise HeaderError("invalid stream header") from exc
        self._plain = _PlainStream(src, state)
        self._hash = _Sha256()
        self._size = 0
        self._content_done = False
        self._frame_left = 0
        self._last_frame_short = False
        self.metadata = self._read_metadata()

    def _length(self, limit: int, what: str) -> int:
        (value,) = _U32.unpack(self._plain.read_exact(4))
        if value > limit:
            raise PayloadError(f"{what} is larger than allowed: malformed envelope")
        return int(value)

    def _read_metadata(self) -> dict[str, Any]:
        raw = self._plain.read_exact(self._length(MAX_METADATA_BYTES, "metadata"))
        try:
            value = parse_canonical_json(raw)
        except FormatError as exc:
            raise PayloadError(f"metadata is malformed: {exc}") from exc
        if not isinstance(value, dict):
            raise PayloadError("metadata is not a JSON object")
        return value

    def read(self, size: int = FRAME_BYTES) -> bytes:
        """Up to `size` content bytes; b"" once the content has ended."""
        if size < 0:
            size = FRAME_BYTES  # read(-1) as for files: b"" must still mean the end
        elif size == 0:
            return b""
        if self._content_done:
            return b""
        if self._frame_left == 0:
            if self._last_frame_short:
                # A frame shorter than 64 KiB must be the last one.
                if self._length(FRAME_BYTES, "frame") != 0:
                    raise PayloadError("a short content frame is not the last: malformed")
                self._content_done = True
                return b""
            length = self._length(FRAME_BYTES, "frame")
            if length == 0:
                self._content_done = True
                return b""
            self._frame_left = length
            self._last_frame_short = length < FRAME_BYTES
        data = self._plain.read_exact(min(size, self._frame_left))
        self._frame_left -= len(data)
        self._hash.update(data)
        self._size += len(data)
        return data

    def finish(self) -> OpenedEnvelope:
        """Consume trailer and padding, verify everything, and return the result."""
        while self.read():
            pass
        trailer_length = self._length(MAX_TRAILER_BYTES, "trailer")
        try:
            trailer = parse_canonical_json(self._plain.read_exact(trailer_length))
        except FormatError as exc:
            raise PayloadError(f"trailer is malformed: {exc}") from exc
        if (
            not isinstance(trailer, dict)
            or set(trailer) != {"sha256", "size"}
            or type(trailer["size"]) is not int  # not bool: `true` would equal 1
            or not isinstance(trailer["sha256"], str)
            or not _SHA256_HEX.fullmatch(trailer["sha256"])
        ):
            raise PayloadError("trailer is malformed")
        unpadded = self._plain.total
        for block in self._plain.rest():
            if block.count(0) != len(block):
                raise PayloadError("padding is not all zero: malformed envelope")
        if self._plain.total != padme(unpadded):
            raise PayloadError("padding has the wrong length: malformed envelope")
        digest = self._hash.hexdigest()
        if trailer["size"] != self._size or not hmac.compare_digest(trailer["sha256"], digest):
            raise PayloadError("content does not match its recorded size and SHA-256")
        return OpenedEnvelope(self.metadata, self._size, digest)


__all__ = [
    "MAGIC",
    "MAGIC_V1",
    "CryptoError",
    "EnvelopeReader",
    "EnvelopeWriter",
    "OpenedEnvelope",
    "Opener",
    "SealResult",
    "Sealer",
    "padme",
]
