"""Envelope v1: round trips, streaming, and every way a damaged envelope must be refused."""

from __future__ import annotations

import gc
import hashlib
import io
import itertools
import os
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey

from crypto.envelope import (
    CHUNK_BYTES,
    FRAME_BYTES,
    HEADER_MAC_BYTES,
    MAGIC,
    SEALED_CHUNK_BYTES,
    STANZA_BYTES,
    STREAM_HEADER_BYTES,
    Opener,
    Sealer,
    _HashWorker,
    _Sha256,
    padme,
)
from crypto.errors import CryptoError, FormatError, HeaderError, NoMatchingKey, PayloadError

MiB = 1024 * 1024
V2_X25519 = 1 + STANZA_BYTES  # a v2 X25519 stanza: type byte, then the sealed box
KEY = PrivateKey.generate()
OTHER = PrivateKey.generate()
META = {"kind": "file", "filename": "photo.jpg"}
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def seal(data: bytes, metadata: dict[str, object] | None = None, keys=(KEY,)) -> bytes:
    """Seal `data` to the public halves of `keys`."""
    return Sealer([k.public_key for k in keys]).seal_bytes(
        data, META if metadata is None else metadata
    )


def open_env(envelope: bytes, keys=(KEY,)) -> tuple[dict[str, object], bytes]:
    """Open completely; return metadata and content."""
    opened, content = Opener(list(keys)).open_bytes(envelope)
    return opened.metadata, content


def header_size(recipients: int = 1) -> int:
    """Bytes before the first payload chunk."""
    return len(MAGIC) + 2 + recipients * V2_X25519 + HEADER_MAC_BYTES + STREAM_HEADER_BYTES


def chunk_starts(envelope: bytes, recipients: int = 1) -> list[int]:
    """Offset of each sealed chunk."""
    return list(range(header_size(recipients), len(envelope), SEALED_CHUNK_BYTES))


def flip(data: bytes, offset: int) -> bytes:
    """`data` with one bit flipped at `offset`."""
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


def plaintext_offset(envelope_offset_of_chunk: int, index_in_chunk: int) -> int:
    """Ciphertext offset of a plaintext byte: each chunk starts with one encrypted tag byte."""
    return envelope_offset_of_chunk + 1 + index_in_chunk


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [0, 1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES - 12, 3 * MiB + 7],
)
def test_round_trip_at_chunk_edges(size: int) -> None:
    data = os.urandom(size)
    metadata, content = open_env(seal(data))
    assert content == data
    assert metadata == META


@FAST
@given(st.binary(max_size=300_000))
def test_round_trip_random_content(data: bytes) -> None:
    envelope = seal(data)
    opened, content = Opener([KEY]).open_bytes(envelope)
    assert content == data
    assert opened.size == len(data)
    assert opened.sha256 == hashlib.sha256(data).hexdigest()


JSON_SCALARS = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | st.text(max_size=20)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@FAST
@given(st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=6))
def test_metadata_round_trips_any_json_object(metadata: dict[str, object]) -> None:
    assert open_env(seal(b"x", metadata))[0] == metadata


def test_metadata_with_a_float_is_refused_when_sealing_not_when_opening() -> None:
    # Found while testing: json.dumps accepted floats, so the tip sealed fine and then
    # could never be opened. It must fail at seal time, before anything is accepted.
    with pytest.raises(FormatError, match="floating-point"):
        seal(b"x", {"gps": [48.85, 2.35]})
    with pytest.raises(FormatError, match="keys must be strings"):
        seal(b"x", {"answers": {1: "yes"}})


@FAST
@given(
    data=st.binary(min_size=0, max_size=200_000),
    cuts=st.lists(st.integers(0, 200_000), max_size=40),
)
def test_many_small_writes_give_the_same_content(data: bytes, cuts: list[int]) -> None:
    points = sorted({c for c in cuts if c <= len(data)} | {0, len(data)})
    out = io.BytesIO()
    with Sealer([KEY.public_key]).writer(out, META) as env:
        for start, end in itertools.pairwise(points):
            assert env.write(data[start:end]) == end - start
    whole = Sealer([KEY.public_key]).seal(io.BytesIO(data), io.BytesIO(), META)
    assert env.result == whole  # same size, hash and (padded) envelope size
    assert env.result.envelope_size == len(out.getvalue())
    assert open_env(out.getvalue())[1] == data


def test_writer_copies_what_it_keeps_from_a_reused_buffer() -> None:
    data = os.urandom(3 * CHUNK_BYTES + 100)
    out = io.BytesIO()
    buffer = bytearray(1000)
    with Sealer([KEY.public_key]).writer(out, META) as env:
        for start in range(0, len(data), 1000):
            piece = data[start : start + 1000]
            buffer[: len(piece)] = piece
            env.write(memoryview(buffer)[: len(piece)])
            buffer[:] = b"\xff" * len(buffer)  # the caller reuses its buffer at once
    assert open_env(out.getvalue())[1] == data


def test_metadata_spanning_many_chunks_opens_intact() -> None:
    # The reader decrypts into two buffers in turn: a read over three or more chunks must
    # copy before the third chunk overwrites the first one's buffer.
    metadata = {"kind": "file", "note": os.urandom(200_000).hex()}  # about 6 chunks
    data = os.urandom(2 * CHUNK_BYTES + 7)
    opened, content = Opener([KEY]).open_bytes(seal(data, metadata))
    assert opened.metadata == metadata
    assert content == data


def test_blocks_from_read_stay_intact_while_reading_goes_on() -> None:
    data = os.urandom(5 * CHUNK_BYTES + 12345)
    env = Opener([KEY]).reader(io.BytesIO(seal(data)))
    blocks = []
    while block := env.read(10_000):
        blocks.append(block)
    env.finish()
    assert all(type(block) is bytes for block in blocks)
    assert b"".join(blocks) == data


class _ReadOnly:
    """A source with read() only: Sealer.seal takes its general path."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._src.read(size)


class _Trickle(io.BufferedIOBase):
    """A buffered source whose readinto() gives at most 1000 bytes, as a pipe may."""

    def __init__(self, data: bytes) -> None:
        self._src = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1, /) -> bytes:
        return self._src.read(1000 if size is None or size < 0 else min(size, 1000))

    def readinto(self, buffer: memoryview, /) -> int:  # type: ignore[override]
        return self._src.readinto(memoryview(buffer)[:1000])


def _payload_plaintext(envelope: bytes) -> tuple[dict[str, object], bytes]:
    """Metadata and every plaintext byte after it: frames, trailer and padding."""
    reader = Opener([KEY]).reader(io.BytesIO(envelope))
    return reader.metadata, b"".join(reader._plain.rest())


@pytest.mark.parametrize(
    "size",
    [0, 1, FRAME_BYTES - 1, FRAME_BYTES, FRAME_BYTES + 1, 4 * FRAME_BYTES, 9 * FRAME_BYTES - 3],
)
@pytest.mark.parametrize("note", [0, CHUNK_BYTES - 40, CHUNK_BYTES - 31])
def test_sealing_from_a_file_lays_out_the_same_plaintext(size: int, note: int) -> None:
    # Files and BytesIO are read straight into place; the plaintext must be exactly what
    # writing the same content gives. `note` moves where the first frame starts in a chunk
    # (CHUNK_BYTES - 31: its length prefix straddles the first chunk's end).
    data = os.urandom(size)
    metadata = {"kind": "file", "note": "n" * note}
    sealer = Sealer([KEY.public_key])
    results, plaintexts = [], []
    for src in (io.BytesIO(data), _ReadOnly(data), _Trickle(data)):
        out = io.BytesIO()
        results.append(sealer.seal(src, out, metadata))
        assert open_env(out.getvalue()) == (metadata, data)
        plaintexts.append(_payload_plaintext(out.getvalue()))
    assert results[0] == results[1] == results[2]
    assert plaintexts[0] == plaintexts[1] == plaintexts[2]


def test_one_byte_writes() -> None:
    data = os.urandom(CHUNK_BYTES + 3)
    out = io.BytesIO()
    with Sealer([KEY.public_key]).writer(out, META) as env:
        for i in range(len(data)):
            env.write(data[i : i + 1])
    assert open_env(out.getvalue())[1] == data


def test_seal_result_reports_size_and_sha256() -> None:
    data = b"the evidence" * 1000
    out = io.BytesIO()
    result = Sealer([KEY.public_key]).seal(io.BytesIO(data), out, META)
    assert result.size == len(data)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.envelope_size == len(out.getvalue())


def test_reader_streams_content_and_metadata_comes_first() -> None:
    data = os.urandom(5 * CHUNK_BYTES + 5)
    reader = Opener([KEY]).reader(io.BytesIO(seal(data)))
    assert reader.metadata == META
    parts = []
    while block := reader.read(1000):
        assert len(block) <= 1000
        parts.append(block)
    opened = reader.finish()
    assert b"".join(parts) == data
    assert opened.size == len(data)


@pytest.mark.parametrize("size", [-1, 0])
def test_reader_read_with_a_file_like_size(size: int) -> None:
    # read(-1) once returned b"" at the start of the content (and moved the read position
    # backwards); b"" must only ever mean "no more content".
    data = os.urandom(2 * CHUNK_BYTES + 9)
    reader = Opener([KEY]).reader(io.BytesIO(seal(data)))
    assert reader.read(0) == b""
    parts = []
    while block := reader.read(size if size < 0 else 4096):
        parts.append(block)
    assert b"".join(parts) == data
    assert reader.finish().size == len(data)


def test_padding_follows_padme() -> None:
    sizes = set()
    for n in range(200, 260):
        sizes.add(len(seal(bytes(n * 1000), {})))
    assert len(sizes) < 20  # many content sizes share an envelope size
    assert [padme(n) for n in (0, 1, 2, 3, 7, 8, 9, 100, 1000, 65536, 65537)] == [
        0,
        1,
        2,
        3,
        7,
        8,
        10,
        104,
        1024,
        65536,
        67584,
    ]


@FAST
@given(st.integers(1, 2**40))
def test_padme_is_within_12_percent_and_keeps_few_bits(length: int) -> None:
    padded = padme(length)
    assert length <= padded <= length * 1.12 + 1
    exponent = length.bit_length() - 1
    low_bits = exponent - exponent.bit_length()
    assert padded % (1 << low_bits) == 0


# --- recipients -------------------------------------------------------------------------


def test_wrong_recipient_is_no_match() -> None:
    with pytest.raises(NoMatchingKey):
        open_env(seal(b"secret"), keys=(OTHER,))


def test_every_one_of_several_recipients_opens() -> None:
    keys = [PrivateKey.generate() for _ in range(16)]
    envelope = seal(b"for all", keys=keys)
    for key in keys:
        assert open_env(envelope, keys=(key,))[1] == b"for all"
    assert open_env(envelope, keys=(OTHER, keys[7]))[1] == b"for all"


@pytest.mark.parametrize("count", [0, 17])
def test_sealer_refuses_recipient_count(count: int) -> None:
    with pytest.raises(ValueError, match="1 to 16"):
        Sealer([PrivateKey.generate().public_key for _ in range(count)])


def test_types_that_cannot_be_misused() -> None:
    with pytest.raises(TypeError):
        Sealer([KEY])  # a private key where a public key belongs
    with pytest.raises(TypeError):
        Opener([KEY.public_key])
    with pytest.raises(TypeError):
        Opener([])


@pytest.mark.parametrize("count", [0, 17, 255])
def test_header_with_bad_recipient_count_is_refused(count: int) -> None:
    envelope = bytearray(seal(b"x"))
    envelope[len(MAGIC) + 1] = count
    with pytest.raises(HeaderError, match="recipient count"):
        open_env(bytes(envelope))


# --- tampering --------------------------------------------------------------------------

DATA = os.urandom(2 * CHUNK_BYTES + 500)
ENVELOPE = seal(DATA)


@pytest.mark.parametrize("offset", [0, 9, len(MAGIC) - 2, len(MAGIC) - 1])
def test_flipped_magic_is_a_header_error(offset: int) -> None:
    with pytest.raises(HeaderError):
        open_env(flip(ENVELOPE, offset))


def test_other_version_is_named_as_such() -> None:
    envelope = ENVELOPE.replace(b"/v2\n", b"/v3\n", 1)
    with pytest.raises(HeaderError, match="unsupported envelope version"):
        open_env(envelope)


def test_flags_must_be_zero() -> None:
    with pytest.raises(HeaderError, match="flags"):
        open_env(flip(ENVELOPE, len(MAGIC)))


def test_flipped_count_is_a_header_error() -> None:
    with pytest.raises(HeaderError):
        open_env(flip(ENVELOPE, len(MAGIC) + 1))  # count 1 -> 0
    envelope = bytearray(ENVELOPE)
    envelope[len(MAGIC) + 1] = 2  # the second "stanza" is really the MAC and payload
    with pytest.raises(HeaderError):
        open_env(bytes(envelope))


@pytest.mark.parametrize("index", [0, 31, 32, 47, 48, 79])
def test_flipped_own_stanza_is_no_match(index: int) -> None:
    # Ephemeral key, MAC or wrapped file key: the sealed box no longer opens.
    with pytest.raises(NoMatchingKey):
        open_env(flip(ENVELOPE, len(MAGIC) + 3 + index))


def test_flipped_stanza_type_is_a_header_error() -> None:
    with pytest.raises(HeaderError, match="stanza type"):
        open_env(flip(ENVELOPE, len(MAGIC) + 2))  # type 0x01 -> 0x00


def test_flipped_stanza_of_another_recipient_fails_the_header_mac() -> None:
    envelope = seal(b"two", keys=(KEY, OTHER))
    with pytest.raises(HeaderError, match="authentication"):
        open_env(flip(envelope, len(MAGIC) + 2 + V2_X25519 + 50), keys=(KEY,))


@pytest.mark.parametrize("index", [0, 15, 31])
def test_flipped_header_mac_is_a_header_error(index: int) -> None:
    with pytest.raises(HeaderError, match="authentication"):
        open_env(flip(ENVELOPE, len(MAGIC) + 2 + V2_X25519 + index))


@pytest.mark.parametrize("index", [0, 12, 23])
def test_flipped_stream_header_is_a_payload_error(index: int) -> None:
    with pytest.raises(PayloadError):
        open_env(flip(ENVELOPE, header_size() - STREAM_HEADER_BYTES + index))


@pytest.mark.parametrize("chunk", [0, 1, 2])
@pytest.mark.parametrize("where", ["tag", "first", "middle", "mac"])
def test_flipped_byte_in_each_chunk_is_a_payload_error(chunk: int, where: str) -> None:
    starts = chunk_starts(ENVELOPE)
    assert len(starts) == 3
    start = starts[chunk]
    end = min(start + SEALED_CHUNK_BYTES, len(ENVELOPE))
    offset = {"tag": start, "first": start + 1, "middle": (start + end) // 2, "mac": end - 1}
    with pytest.raises(PayloadError, match="authentication"):
        open_env(flip(ENVELOPE, offset[where]))


def _layout(content: bytes, metadata: dict[str, object]) -> tuple[int, int]:
    """(plaintext offset of the trailer, unpadded plaintext length) for an envelope."""
    from crypto.encoding import canonical_json

    meta = canonical_json(metadata)
    frames = len(content) // CHUNK_BYTES + (1 if len(content) % CHUNK_BYTES else 0)
    trailer_at = 4 + len(meta) + 4 * frames + len(content) + 4
    trailer = canonical_json({"sha256": "0" * 64, "size": len(content)})
    return trailer_at, trailer_at + 4 + len(trailer)


def test_flipped_trailer_and_padding_are_payload_errors() -> None:
    content = b"a short tip" * 3
    envelope = seal(content, {})
    trailer_at, unpadded = _layout(content, {})
    assert padme(unpadded) > unpadded  # this size has padding to tamper with
    assert len(envelope) == header_size() + padme(unpadded) + 17
    chunk = header_size()
    for offset in (trailer_at + 10, unpadded, padme(unpadded) - 1):
        with pytest.raises(PayloadError, match="authentication"):
            open_env(flip(envelope, plaintext_offset(chunk, offset)))


# --- truncation, reordering, splicing -----------------------------------------------------


def test_truncation_inside_the_header_is_a_header_error() -> None:
    for cut in (0, 5, len(MAGIC), len(MAGIC) + 1, len(MAGIC) + 2, header_size() - 1):
        with pytest.raises(HeaderError):
            open_env(ENVELOPE[:cut])


@pytest.mark.parametrize("chunk", [0, 1, 2])
def test_truncation_at_every_chunk_boundary(chunk: int) -> None:
    cut = chunk_starts(ENVELOPE)[chunk]
    with pytest.raises(PayloadError, match="truncated"):
        open_env(ENVELOPE[:cut])


@pytest.mark.parametrize("chunk", [0, 1, 2])
@pytest.mark.parametrize("inside", [1, 17, 1000, -1])
def test_truncation_in_the_middle_of_a_chunk(chunk: int, inside: int) -> None:
    starts = [*chunk_starts(ENVELOPE), len(ENVELOPE)]
    cut = starts[chunk] + inside if inside > 0 else starts[chunk + 1] + inside
    with pytest.raises(PayloadError):
        open_env(ENVELOPE[:cut])


def test_every_truncation_of_a_small_envelope_is_refused() -> None:
    envelope = seal(b"tiny", {"k": "v"})
    for cut in range(len(envelope)):
        with pytest.raises((HeaderError, PayloadError)):
            open_env(envelope[:cut])


def _chunks(envelope: bytes) -> tuple[bytes, list[bytes]]:
    starts = chunk_starts(envelope)
    return envelope[: starts[0]], [envelope[s : s + SEALED_CHUNK_BYTES] for s in starts]


@pytest.mark.parametrize(
    "order",
    [[1, 0, 2], [0, 2, 1], [0, 0, 1, 2], [0, 1, 1, 2], [0, 1, 2, 2], [0, 2], [1, 2], [0, 1, 2, 0]],
)
def test_reordered_duplicated_or_dropped_chunks_are_refused(order: list[int]) -> None:
    head, chunks = _chunks(ENVELOPE)
    with pytest.raises(PayloadError):
        open_env(head + b"".join(chunks[i] for i in order))


def test_chunk_spliced_from_another_envelope_is_refused() -> None:
    head, chunks = _chunks(ENVELOPE)
    _, others = _chunks(seal(DATA))
    with pytest.raises(PayloadError):
        open_env(head + chunks[0] + others[1] + chunks[2])


@pytest.mark.parametrize("extra", [b"\x00", b"x" * 17, b"y" * SEALED_CHUNK_BYTES, ENVELOPE])
def test_trailing_data_is_refused(extra: bytes) -> None:
    with pytest.raises(PayloadError):
        open_env(ENVELOPE + extra)


def test_trailing_data_after_a_full_final_chunk_is_refused() -> None:
    # Find a content size whose final chunk is exactly full, so the extra byte is not
    # swallowed into a short final chunk.
    content = next(
        bytes(n)
        for n in range(CHUNK_BYTES - 200, CHUNK_BYTES)
        if (len(seal(bytes(n), {})) - header_size()) % SEALED_CHUNK_BYTES == 0
    )
    envelope = seal(content, {})
    assert open_env(envelope)[1] == content
    with pytest.raises(PayloadError, match="follows the final chunk"):
        open_env(envelope + b"\x00")


def test_errors_share_one_root_and_the_builtin() -> None:
    for error in (FormatError, HeaderError, NoMatchingKey, PayloadError):
        assert issubclass(error, CryptoError)
        assert issubclass(error, ValueError)


# --- writer life cycle --------------------------------------------------------------------


def test_exception_inside_the_writer_aborts_it() -> None:
    out = io.BytesIO()
    writer = Sealer([KEY.public_key]).writer(out, META)

    def interrupted_upload() -> None:
        with writer:
            writer.write(b"partial")
            raise RuntimeError("upload interrupted")

    with pytest.raises(RuntimeError):
        interrupted_upload()
    with pytest.raises(ValueError, match="aborted"):
        writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"more")
    with pytest.raises(PayloadError):
        open_env(out.getvalue())  # what was written is not an envelope: the caller discards it


def test_close_is_idempotent_and_result_needs_close() -> None:
    writer = Sealer([KEY.public_key]).writer(io.BytesIO(), META)
    with pytest.raises(ValueError, match="not closed"):
        _ = writer.result
    first = writer.close()
    assert writer.close() is first
    with pytest.raises(ValueError, match="closed"):
        writer.write(b"late")


def test_oversized_metadata_is_refused_when_sealing() -> None:
    with pytest.raises(FormatError, match="1 MiB"):
        seal(b"", {"answers": "x" * (1024 * 1024)})


# --- the SHA-256 helper thread ----------------------------------------------------------


def _helper_threads() -> int:
    return sum(1 for t in threading.enumerate() if t.daemon and t is not threading.main_thread())


def test_large_content_hashes_on_a_helper_thread_that_ends() -> None:
    before = _helper_threads()
    writer = Sealer([KEY.public_key]).writer(io.BytesIO(), META)
    writer.write(os.urandom(2 * MiB))
    assert _helper_threads() == before + 1
    writer.close()
    assert _helper_threads() == before


@pytest.mark.parametrize("how", ["abort", "abandon"])
def test_aborted_or_abandoned_writer_leaves_no_thread(how: str) -> None:
    before = _helper_threads()
    writer = Sealer([KEY.public_key]).writer(io.BytesIO(), META)
    writer.write(os.urandom(2 * MiB))
    if how == "abort":
        writer.abort()
    else:
        del writer
        gc.collect()
    assert _helper_threads() == before


def test_abandoned_reader_leaves_no_thread() -> None:
    envelope = seal(os.urandom(3 * MiB))
    before = _helper_threads()
    reader = Opener([KEY]).reader(io.BytesIO(envelope))
    for _ in range(20):
        reader.read()
    assert _helper_threads() == before + 1
    del reader
    gc.collect()
    assert _helper_threads() == before


def test_concurrent_seals_and_opens_stay_apart() -> None:
    contents = [os.urandom(MiB + i * 7919) for i in range(6)]

    def round_trip(content: bytes) -> bytes:
        return open_env(seal(content))[1]

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(round_trip, contents)) == contents


# --- properties: any damage is refused, and only with the documented classes ----------------

SMALL_ENVELOPE = seal(os.urandom(CHUNK_BYTES + 3000), {"kind": "file"})


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(SMALL_ENVELOPE) - 1), st.integers(1, 255))
def test_any_changed_byte_is_refused(offset: int, xor: int) -> None:
    damaged = bytearray(SMALL_ENVELOPE)
    damaged[offset] ^= xor
    with pytest.raises((HeaderError, NoMatchingKey, PayloadError)):
        open_env(bytes(damaged))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(SMALL_ENVELOPE) - 1))
def test_any_truncation_is_refused(cut: int) -> None:
    with pytest.raises((HeaderError, PayloadError)):
        open_env(SMALL_ENVELOPE[:cut])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_refused_with_a_crypto_error(data: bytes) -> None:
    with pytest.raises((HeaderError, NoMatchingKey, PayloadError)):
        open_env(data)
    with pytest.raises((HeaderError, NoMatchingKey, PayloadError)):
        open_env(MAGIC + data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 300_000), max_size=12))
def test_threaded_sha256_keeps_the_order_of_updates(sizes: list[int]) -> None:
    # Once found wrong: a small update after one that had been queued was hashed first.
    pieces = [os.urandom(n) for n in sizes]
    hasher = _Sha256()
    for piece in pieces:
        hasher.update(piece)
    assert hasher.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_writes_that_cross_the_inline_hashing_budget_seal_correctly() -> None:
    pieces = [os.urandom(200_000), os.urandom(100_000), os.urandom(10_000), os.urandom(5)]
    out = io.BytesIO()
    with Sealer([KEY.public_key]).writer(out, META) as env:
        for piece in pieces:
            env.write(piece)
    assert open_env(out.getvalue())[1] == b"".join(pieces)


@pytest.mark.parametrize(("depth", "max_waiting"), [(0, 0), (0, 16), (1, 1), (8, 16)])
def test_batches_hash_in_order_whoever_hashes_them(
    depth: int, max_waiting: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # depth 0: the caller tries to hash every batch itself, racing the helper for each one;
    # max_waiting 0: and it waits for the lock rather than skip its turn.
    monkeypatch.setattr(_HashWorker, "DEPTH", depth)
    monkeypatch.setattr(_HashWorker, "MAX_WAITING", max_waiting)
    for _ in range(5):
        pieces = [os.urandom(random.randrange(1, 200_000)) for _ in range(40)]
        hasher = _Sha256()
        for piece in pieces:
            hasher.update(piece)
        assert hasher.hexdigest() == hashlib.sha256(b"".join(pieces)).hexdigest()


def test_sealing_goes_on_when_no_thread_can_start(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    data = os.urandom(3 * MiB + 5)
    assert open_env(seal(data))[1] == data
