"""Write the envelope test vectors in this directory (docs/envelope-format.md, "Test vectors").

Usage:  python tests/vectors/generate.py [--out DIR]

Each vector is one file: `key: value` header lines, a blank line, then the raw envelope.
Keys: `expect` (success | header failure | no match | payload failure), `identity` (hex
X25519 private key that should open it), `payload` (SHA-256 of the expected content, for
success), `comment`.

This encoder is written from the spec alone and does not import crypto/: the vectors then
check crypto/ against the document rather than against itself. It can also misbehave on
purpose (wrong padding, broken frame rules, a lying trailer...), producing envelopes that
authenticate but are malformed, which crypto/'s sealer can never make.

Sealed boxes use fresh randomness, so a run gives different bytes: the files are generated
once and committed; tests read them and never regenerate them.

The export bundle v2 vectors (bundle/, docs/bundle-format.md) are made by the functions
under "export bundle v2 vectors" below, from fixed seeds only: a run gives the same bytes,
and tests/test_crypto_bundle_vectors.py checks that it does.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import struct
from collections.abc import Callable, Sequence
from pathlib import Path

import nacl.bindings as sodium
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey, PublicKey, SealedBox
from nacl.signing import SigningKey

MAGIC = b"sealdrop-envelope/v1\n"
CHUNK = 65536
FRAME = 65536
TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL
# A point of order 8: its shared secret with any private key is all zeros.
LOW_ORDER_POINT = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")


def key_from(label: str) -> PrivateKey:
    """A fixed test identity, so the vectors' `identity:` lines never change meaning."""
    return PrivateKey(hashlib.sha256(b"sealdrop test vector " + label.encode()).digest())


ALICE = key_from("alice")
BOB = key_from("bob")
FILE_KEY = hashlib.sha256(b"sealdrop test vector file key").digest()


def content_of(size: int, label: str = "content") -> bytes:
    """Deterministic content of `size` bytes."""
    return hashlib.shake_256(label.encode()).digest(size) if size else b""


def canonical(value: object) -> bytes:
    """Canonical JSON as the spec defines it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def padme(length: int) -> int:
    """Padmé, from the spec's formula."""
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


# --- header ---------------------------------------------------------------------------------


def subkey(file_key: bytes, person: bytes) -> bytes:
    """BLAKE2b-256 of the empty string keyed with the file key, with a personalisation."""
    return blake2b(b"", digest_size=32, key=file_key, person=person, encoder=RawEncoder)


def header(
    recipients: Sequence[PublicKey],
    *,
    file_key: bytes = FILE_KEY,
    magic: bytes = MAGIC,
    flags: int = 0,
    count: int | None = None,
    stanzas: bytes | None = None,
) -> bytes:
    """Magic, flags, count, stanzas and a header MAC that is correct for these bytes."""
    if stanzas is None:
        stanzas = b"".join(SealedBox(r).encrypt(file_key) for r in recipients)
    n = len(recipients) if count is None else count
    head = magic + bytes([flags, n]) + stanzas
    mac_key = subkey(file_key, b"sealdrop-env-mac")
    return head + blake2b(head, digest_size=32, key=mac_key, encoder=RawEncoder)


# --- payload --------------------------------------------------------------------------------


def u32(n: int) -> bytes:
    """Big-endian 32-bit length."""
    return struct.pack(">I", n)


def frames_of(content: bytes) -> list[bytes]:
    """Content cut into frames of 65536 bytes, the last one possibly shorter."""
    return [content[i : i + FRAME] for i in range(0, len(content), FRAME)]


def plaintext(
    content: bytes,
    metadata: bytes = b"{}",
    *,
    frames: list[bytes] | None = None,
    terminator: bytes = u32(0),
    trailer: bytes | None = None,
    padding: bytes | None = None,
) -> bytes:
    """The plaintext stream: metadata record, frames, terminator, trailer, padding."""
    body = u32(len(metadata)) + metadata
    body += b"".join(u32(len(f)) + f for f in (frames_of(content) if frames is None else frames))
    body += terminator
    if trailer is None:
        trailer = canonical({"sha256": hashlib.sha256(content).hexdigest(), "size": len(content)})
    body += u32(len(trailer)) + trailer
    if padding is None:
        padding = bytes(padme(len(body)) - len(body))
    return body + padding


def payload(
    plain: bytes,
    *,
    file_key: bytes = FILE_KEY,
    cuts: list[int] | None = None,
    tags: Callable[[int, int], int] | None = None,
) -> bytes:
    """Stream header and chunks. `cuts`: chunk sizes to use instead of 65536 each;
    `tags(index, count)`: the tag of each chunk instead of MESSAGE..., FINAL."""
    if cuts is None:
        cuts = [CHUNK] * ((len(plain) - 1) // CHUNK) + [
            len(plain) - CHUNK * ((len(plain) - 1) // CHUNK)
        ]
    state = sodium.crypto_secretstream_xchacha20poly1305_state()
    out = sodium.crypto_secretstream_xchacha20poly1305_init_push(
        state, subkey(file_key, b"sealdrop-env-pay")
    )
    offset = 0
    for index, size in enumerate(cuts):
        if tags is not None:
            tag = tags(index, len(cuts))
        else:
            tag = TAG_FINAL if index == len(cuts) - 1 else TAG_MESSAGE
        out += sodium.crypto_secretstream_xchacha20poly1305_push(
            state, plain[offset : offset + size], None, tag
        )
        offset += size
    assert offset == len(plain), "cuts must cover the plaintext"
    return out


def envelope(content: bytes, metadata: bytes = b"{}", to: Sequence[PrivateKey] = (ALICE,)) -> bytes:
    """A well-formed envelope."""
    return header([k.public_key for k in to]) + payload(plaintext(content, metadata))


def flip(data: bytes, offset: int) -> bytes:
    """One bit flipped."""
    out = bytearray(data)
    out[offset] ^= 0x01
    return bytes(out)


# --- the cases ------------------------------------------------------------------------------

HEADER_1 = len(MAGIC) + 2 + 80 + 32  # bytes before the stream header, one recipient
PAYLOAD_START = HEADER_1 + 24
SEALED_CHUNK = CHUNK + 17
META = canonical({"filename": "证据.jpg", "kind": "file", "received": "2026-11-29"})
BIG = content_of(70_000, "big")


def exact_chunk_content() -> bytes:
    """Content whose padded plaintext is exactly one full chunk (a FINAL chunk of 65536)."""
    size = next(n for n in range(63_000, 65_536) if len(plaintext(content_of(n))) == CHUNK)
    return content_of(size)


def cases() -> list[tuple[str, dict[str, str], bytes]]:
    """(file name, header fields, envelope bytes) for every vector."""
    out: list[tuple[str, dict[str, str], bytes]] = []

    def ok(name: str, content: bytes, data: bytes, comment: str, key: PrivateKey = ALICE) -> None:
        out.append((name, _fields("success", key, comment, content), data))

    def bad(name: str, expect: str, data: bytes, comment: str, key: PrivateKey = ALICE) -> None:
        out.append((name, _fields(expect, key, comment), data))

    ok("success_empty", b"", envelope(b""), "empty content, empty metadata object")
    example = header([ALICE.public_key]) + payload(plaintext(b"hi", b'{"kind":"message"}'))
    ok(
        "success_spec_example",
        b"hi",
        example,
        "the worked example in docs/envelope-format.md: content 'hi', "
        'metadata {"kind":"message"}',
    )
    small = "你好, Sealdrop! A short tip.".encode()
    ok("success_small", small, envelope(small, META), "a short message with metadata")
    ok(
        "success_multichunk",
        BIG,
        envelope(BIG, META),
        "70000 bytes: two chunks, frames straddle chunks",
    )
    exact = exact_chunk_content()
    ok(
        "success_full_final_chunk",
        exact,
        envelope(exact),
        "the padded plaintext is exactly 65536 bytes",
    )
    two = envelope(small, META, to=(ALICE, BOB))
    ok(
        "success_two_recipients",
        small,
        two,
        "sealed to two recipients; opened with the second",
        BOB,
    )

    pub = [ALICE.public_key]
    body = payload(plaintext(small))
    bad(
        "header_bad_magic",
        "header failure",
        header(pub, magic=b"Sealdrop-envelope/v1\n") + body,
        "magic line is wrong",
    )
    bad(
        "header_bad_version",
        "header failure",
        header(pub, magic=b"sealdrop-envelope/v2\n") + body,
        "a future version",
    )
    bad(
        "header_bad_flags",
        "header failure",
        header(pub, flags=1) + body,
        "flags byte 1, with a MAC that covers it",
    )
    bad(
        "header_count_zero",
        "header failure",
        header(pub, count=0, stanzas=b"") + body,
        "no recipients",
    )
    bad(
        "header_count_17",
        "header failure",
        header([ALICE.public_key] * 17) + body,
        "17 stanzas, over the limit of 16",
    )
    bad(
        "header_truncated",
        "header failure",
        header(pub)[: len(MAGIC) + 40],
        "ends inside the first stanza",
    )
    bad(
        "header_truncated_stream_header",
        "header failure",
        header(pub) + body[:10],
        "ends inside the stream header",
    )
    bad(
        "header_bad_mac",
        "header failure",
        flip(header(pub), HEADER_1 - 1) + body,
        "last byte of the header MAC flipped",
    )
    other_flipped = flip(two, len(MAGIC) + 2 + 80 + 40)
    bad(
        "header_other_stanza_tampered",
        "header failure",
        other_flipped,
        "Bob's stanza altered: Alice's key still opens hers, the MAC fails",
    )

    bad(
        "no_match",
        "no match",
        envelope(small, to=(BOB,)),
        "sealed to Bob only; opened with Alice's key",
    )
    weak = LOW_ORDER_POINT + bytes(48)
    bad(
        "no_match_low_order_stanza",
        "no match",
        header(pub, stanzas=weak) + body,
        "stanza's ephemeral key is a low-order point: all-zero shared secret, refused",
    )
    bad(
        "no_match_own_stanza_tampered",
        "no match",
        flip(header(pub), len(MAGIC) + 2 + 60) + body,
        "the wrapped file key was altered: the sealed box no longer opens",
    )

    big = envelope(BIG)
    bad(
        "payload_flipped_chunk_byte",
        "payload failure",
        flip(big, PAYLOAD_START + SEALED_CHUNK + 100),
        "one byte of the second chunk flipped",
    )
    bad(
        "payload_flipped_stream_header",
        "payload failure",
        flip(big, HEADER_1 + 3),
        "the secretstream header altered",
    )
    bad(
        "payload_truncated_at_chunk_boundary",
        "payload failure",
        big[: PAYLOAD_START + SEALED_CHUNK],
        "the last chunk is missing",
    )
    bad(
        "payload_truncated_mid_chunk",
        "payload failure",
        big[: PAYLOAD_START + SEALED_CHUNK + 1000],
        "cut inside the second chunk",
    )
    bad("payload_no_chunks", "payload failure", big[:PAYLOAD_START], "header only")
    plain_big = plaintext(BIG)
    no_final = header(pub) + payload(plain_big, tags=lambda i, n: TAG_MESSAGE)
    bad(
        "payload_missing_final",
        "payload failure",
        no_final,
        "every chunk is TAG_MESSAGE: truncation cannot be ruled out",
    )
    early = payload(
        plain_big,
        tags=lambda i, n: TAG_FINAL if i == 0 else TAG_MESSAGE if i < n - 1 else TAG_FINAL,
    )
    bad(
        "payload_final_not_last",
        "payload failure",
        header(pub) + early,
        "TAG_FINAL on the first chunk, then more chunks",
    )
    bad(
        "payload_trailing_data_after_full_final",
        "payload failure",
        envelope(exact) + b"\x00",
        "one byte after a full-size final chunk",
    )
    bad(
        "payload_trailing_data",
        "payload failure",
        envelope(small) + b"\x00",
        "one byte after the final chunk",
    )
    cuts = [1000, len(plain_big) - 1000]
    bad(
        "payload_short_chunk_not_last",
        "payload failure",
        header(pub) + payload(plain_big, cuts=cuts),
        "a 1000-byte chunk before the end",
    )
    empty_final = payload(plaintext(exact), cuts=[CHUNK, 0])
    bad(
        "payload_empty_final_chunk",
        "payload failure",
        header(pub) + empty_final,
        "a full TAG_MESSAGE chunk, then a final chunk with no plaintext",
    )
    reordered = payload(plain_big)
    first, second = 24, 24 + SEALED_CHUNK
    swapped = (
        reordered[:first]
        + reordered[second : second + SEALED_CHUNK]
        + reordered[first:second]
        + reordered[second + SEALED_CHUNK :]
    )
    bad(
        "payload_chunks_reordered",
        "payload failure",
        header(pub) + swapped,
        "first two chunks swapped",
    )

    def authenticated(name: str, plain: bytes, comment: str) -> None:
        bad(
            name,
            "payload failure",
            header(pub) + payload(plain),
            "authenticated but malformed: " + comment,
        )

    unpadded = plaintext(small, padding=b"")
    pad = padme(len(unpadded)) - len(unpadded)
    assert pad > 1
    authenticated(
        "payload_nonzero_padding", unpadded + bytes(pad - 1) + b"\x01", "last padding byte is 1"
    )
    authenticated(
        "payload_padding_too_short", unpadded + bytes(pad - 1), "one padding byte missing"
    )
    authenticated(
        "payload_padding_too_long", unpadded + bytes(pad + 1), "one padding byte too many"
    )
    authenticated("payload_no_padding", unpadded, "padding left out")
    split = [small[:10], small[10:]]
    authenticated(
        "payload_short_frame_not_last",
        plaintext(small, frames=split),
        "a 10-byte frame followed by another frame",
    )
    long_frame = content_of(FRAME + 1)
    authenticated(
        "payload_frame_too_long",
        plaintext(long_frame, frames=[long_frame]),
        "a frame of 65537 bytes",
    )
    full = content_of(FRAME)
    authenticated(
        "payload_missing_terminator",
        plaintext(small, terminator=b""),
        "no zero-length frame before the trailer",
    )
    authenticated(
        "payload_empty_frame_before_full",
        plaintext(full, frames=[b"", full]),
        "a zero-length first frame ends the content; no trailer follows",
    )
    lie = canonical({"sha256": hashlib.sha256(b"other").hexdigest(), "size": len(small)})
    authenticated(
        "payload_trailer_sha256_mismatch",
        plaintext(small, trailer=lie),
        "trailer SHA-256 is not the content's",
    )
    lie = canonical({"sha256": hashlib.sha256(small).hexdigest(), "size": len(small) + 1})
    authenticated(
        "payload_trailer_size_mismatch",
        plaintext(small, trailer=lie),
        "trailer size is not the content's",
    )
    one = b"x"
    lie = canonical({"sha256": hashlib.sha256(one).hexdigest(), "size": True})
    authenticated(
        "payload_trailer_size_true",
        plaintext(one, trailer=lie),
        "trailer size is `true`, which is not the integer 1",
    )
    lie = canonical({"sha256": "é" * 64, "size": len(small)})
    authenticated(
        "payload_trailer_sha256_not_hex",
        plaintext(small, trailer=lie),
        "trailer SHA-256 is not lowercase hex",
    )
    lie = canonical({"sha256": hashlib.sha256(small).hexdigest(), "size": len(small), "x": 1})
    authenticated(
        "payload_trailer_extra_field", plaintext(small, trailer=lie), "trailer has a third field"
    )
    authenticated(
        "payload_metadata_not_canonical",
        plaintext(small, b'{"kind": "file"}'),
        "metadata JSON has a space",
    )
    authenticated(
        "payload_metadata_duplicate_key",
        plaintext(small, b'{"a":1,"a":1}'),
        "metadata JSON repeats a key",
    )
    authenticated(
        "payload_metadata_float", plaintext(small, b'{"a":1.5}'), "metadata JSON holds a float"
    )
    authenticated(
        "payload_metadata_not_object", plaintext(small, b"[]"), "metadata is a JSON array"
    )
    authenticated(
        "payload_metadata_lone_surrogate",
        plaintext(small, b'{"a":"\\ud800"}'),
        "metadata string escapes a lone surrogate, which has no UTF-8 encoding",
    )
    authenticated(
        "payload_metadata_too_long", u32(2**20 + 1) + bytes(100), "metadata length over 1 MiB"
    )
    return out


def _fields(
    expect: str, key: PrivateKey, comment: str, content: bytes | None = None
) -> dict[str, str]:
    fields = {"expect": expect, "identity": bytes(key).hex()}
    if content is not None:
        fields["payload"] = hashlib.sha256(content).hexdigest()
    fields["comment"] = comment
    return fields


def write_all(directory: Path) -> int:
    """Write every vector into `directory`; return how many."""
    written = cases()
    for name, fields, data in written:
        head = "".join(f"{k}: {v}\n" for k, v in fields.items()).encode()
        (directory / name).write_bytes(head + b"\n" + data)
    return len(written)


# --- export bundle v2 vectors (docs/bundle-format.md, "Test vectors") ----------------------
# Written from bundle-format.md alone, like the envelope part. Everything here is derived
# from fixed seeds (Ed25519 signatures are deterministic), so a run gives the same bytes.
# The envelopes inside are opaque bytes: the bundle layer never opens them.

BUNDLE_MAGIC = b"sealdrop-bundle/v2\n"


def bundle_seed(label: str) -> bytes:
    """32 fixed bytes for a label."""
    return hashlib.sha256(b"sealdrop bundle vector " + label.encode()).digest()


BUNDLE_INSTANCE = SigningKey(bundle_seed("instance"))
BUNDLE_INSTANCE_ID = bundle_seed("instance id")[:16].hex()


def key_text(prefix: str, payload: bytes) -> str:
    """PREFIX + lowercase unpadded base32 of payload || 4-byte BLAKE2b checksum."""
    check = blake2b(
        prefix.encode() + b"\x00" + payload,
        digest_size=4,
        person=b"sealdrop-keytext",
        encoder=RawEncoder,
    )
    return prefix + base64.b32encode(payload + check).decode().rstrip("=").lower()


def instance_fingerprint(public: bytes) -> str:
    """BLAKE2b-128 of the raw 32-byte key, person "sealdrop-fprint1", as 24 digits."""
    digest = blake2b(public, digest_size=16, person=b"sealdrop-fprint1", encoder=RawEncoder)
    digits = f"{int.from_bytes(digest, 'big') % 10**24:024d}"
    return " ".join(digits[i : i + 4] for i in range(0, 24, 4))


def signed_manifest(body: dict[str, object], key: SigningKey = BUNDLE_INSTANCE) -> bytes:
    """The statement wire form of a bundle-manifest body."""
    message = b"sealdrop-statement/v1\x00bundle-manifest\x00" + canonical(body)
    wire = {
        "body": body,
        "sig": base64.b64encode(key.sign(message).signature).decode(),
        "signer": key_text("sdsigner1", bytes(key.verify_key)),
        "type": "bundle-manifest",
        "v": 1,
    }
    return canonical(wire)


def opaque_envelope(label: str, size: int) -> tuple[str, bytes]:
    """A fixed envelope id and `size` fixed bytes standing for an envelope."""
    return bundle_seed("id " + label)[:16].hex(), hashlib.shake_256(label.encode()).digest(size)


BUNDLE_SOURCE = bundle_seed("source").hex()
BUNDLE_REPLY_KEY = bytes(PrivateKey(bundle_seed("reply key")).public_key)
ENV_A = opaque_envelope("a", 300)
ENV_B = opaque_envelope("b", 70_000)
ENV_C = opaque_envelope("c", 0)
ENV_FOREIGN = opaque_envelope("foreign", 300)


def manifest_body(listed: Sequence[tuple[str, bytes]], **changes: object) -> dict[str, object]:
    """The body an honest server signs for these envelopes, with `changes`."""
    body: dict[str, object] = {
        "created": "2026-12-06",
        "envelopes": [
            {
                "id": eid,
                "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data),
                "source_id": BUNDLE_SOURCE,
            }
            for eid, data in listed
        ],
        "instance_id": BUNDLE_INSTANCE_ID,
        "sources": (
            [
                {
                    "reply_public_key": base64.b64encode(BUNDLE_REPLY_KEY).decode(),
                    "source_id": BUNDLE_SOURCE,
                }
            ]
            if listed
            else []
        ),
    }
    body.update(changes)
    return body


def bundle_bytes(
    signed: bytes, carried: Sequence[tuple[str, bytes]], magic: bytes = BUNDLE_MAGIC
) -> bytes:
    """magic || u32(L) || manifest || each (id || u64 size || envelope), as given."""
    entries = b"".join(bytes.fromhex(i) + struct.pack(">Q", len(d)) + d for i, d in carried)
    return magic + u32(len(signed)) + signed + entries


def bundle_cases() -> list[tuple[str, dict[str, str], bytes]]:
    """(file name, header fields, bundle bytes) for every bundle vector."""
    a, b, c = ENV_A, ENV_B, ENV_C
    honest = signed_manifest(manifest_body([a, b, c]))
    out: list[tuple[str, dict[str, str], bytes]] = []

    def case(
        name: str, expect: str, comment: str, data: bytes, slots: str = "-", truncated: str = "no"
    ) -> None:
        fields = {"expect": expect}
        if expect == "success":
            fields["slots"] = slots
            fields["truncated"] = truncated
        fields["comment"] = comment
        out.append((name, fields, data))

    ok = [f"ok:{e[0]}" for e in (a, b, c)]
    case(
        "bundle_success",
        "success",
        "three envelopes in manifest order",
        bundle_bytes(honest, [a, b, c]),
        " ".join(ok),
    )
    case(
        "bundle_success_empty",
        "success",
        "no envelopes, no sources",
        bundle_bytes(signed_manifest(manifest_body([])), []),
    )
    forged = (a[0], hashlib.shake_256(b"forged").digest(300))
    case(
        "bundle_swapped_same_size",
        "success",
        "envelope a replaced by other bytes of the same size: its SHA-256 fails",
        bundle_bytes(honest, [forged, b, c]),
        f"skip:{a[0]} {ok[1]} {ok[2]}",
    )
    case(
        "bundle_reordered",
        "success",
        "b before a: a is skipped where it was listed, then ignored as out of order",
        bundle_bytes(honest, [b, a, c]),
        f"skip:{a[0]} {ok[1]} stray:{a[0]} {ok[2]}",
    )
    case(
        "bundle_duplicated",
        "success",
        "b carried twice: the second copy is a stray",
        bundle_bytes(honest, [a, b, b, c]),
        f"{ok[0]} {ok[1]} stray:{b[0]} {ok[2]}",
    )
    case(
        "bundle_foreign_entry",
        "success",
        "an envelope of another bundle in b's place: a stray, and b is skipped",
        bundle_bytes(honest, [a, ENV_FOREIGN, c]),
        f"{ok[0]} stray:{ENV_FOREIGN[0]} skip:{b[0]} {ok[2]}",
    )
    whole = bundle_bytes(honest, [a, b, c])
    cut = len(bundle_bytes(honest, [a])) + 24 + 1000
    case(
        "bundle_truncated_in_envelope",
        "success",
        "cut inside b: a is intact, b and c are skipped",
        whole[:cut],
        f"{ok[0]} skip:{b[0]} skip:{c[0]}",
        "yes",
    )
    case(
        "bundle_truncated_in_entry_head",
        "success",
        "cut 10 bytes into b's entry head",
        whole[: len(bundle_bytes(honest, [a])) + 10],
        f"{ok[0]} skip:{b[0]} skip:{c[0]}",
        "yes",
    )
    case(
        "bundle_trailing_data",
        "success",
        "one byte after the last envelope",
        whole + b"\x00",
        " ".join([*ok, "stray:-"]),
    )
    bigger = bytes.fromhex(b[0]) + struct.pack(">Q", len(b[1]) + 1) + b[1] + b"\x00"
    head_a = bundle_bytes(honest, [a])
    case(
        "bundle_size_differs",
        "success",
        "b's entry head says one byte more than listed",
        head_a + bigger + bundle_bytes(b"", [c])[len(BUNDLE_MAGIC) + 4 :],
        f"{ok[0]} skip:{b[0]} {ok[2]}",
    )
    case(
        "bundle_version_1",
        "header failure",
        "a v1 bundle: refused, export again",
        bundle_bytes(honest, [a, b, c], b"sealdrop-bundle/v1\n"),
    )
    case(
        "bundle_unknown_version",
        "header failure",
        "version 3 is not known",
        bundle_bytes(honest, [a, b, c], b"sealdrop-bundle/v3\n"),
    )
    case(
        "bundle_manifest_too_large",
        "header failure",
        "L over 40 MiB, refused before reading",
        BUNDLE_MAGIC + u32(40 * 1024 * 1024 + 1),
    )
    case(
        "bundle_manifest_truncated",
        "format failure",
        "the input ends inside the manifest",
        whole[: len(BUNDLE_MAGIC) + 4 + 100],
    )
    case(
        "bundle_created_not_a_date",
        "format failure",
        "created 2026-02-30",
        bundle_bytes(signed_manifest(manifest_body([a], created="2026-02-30")), [a]),
    )
    case(
        "bundle_created_control_bytes",
        "format failure",
        "created holds ESC and OSC bytes",
        bundle_bytes(signed_manifest(manifest_body([a], created="\x1b]0;x\x07")), [a]),
    )
    other_source = {
        "reply_public_key": base64.b64encode(bytes(32)).decode(),
        "source_id": "00" * 32,
    }
    body = manifest_body([a])
    body["sources"] = [*body["sources"], other_source]  # type: ignore[list-item,misc]
    case(
        "bundle_sources_unsorted",
        "format failure",
        "sources not sorted by source id",
        bundle_bytes(signed_manifest(body), [a]),
    )
    case(
        "bundle_source_not_listed",
        "format failure",
        "an envelope's source has no entry",
        bundle_bytes(signed_manifest(manifest_body([a], sources=[])), [a]),
    )
    body = manifest_body([a])
    body["envelopes"][0]["sha256"] = body["envelopes"][0]["sha256"].upper()  # type: ignore[index]
    case(
        "bundle_sha256_uppercase",
        "format failure",
        "a SHA-256 in uppercase hex",
        bundle_bytes(signed_manifest(body), [a]),
    )
    case(
        "bundle_wrong_signer",
        "signature failure",
        "signed by a key other than the pinned one",
        bundle_bytes(signed_manifest(manifest_body([a]), SigningKey(bundle_seed("other"))), [a]),
    )
    return out


def write_bundle_vectors(directory: Path) -> int:
    """Write every bundle vector into `directory` (made if missing); return how many."""
    directory.mkdir(exist_ok=True)
    common = {
        "instance_key": bytes(BUNDLE_INSTANCE.verify_key).hex(),
        "fingerprint": instance_fingerprint(bytes(BUNDLE_INSTANCE.verify_key)),
    }
    written = bundle_cases()
    for name, fields, data in written:
        head = "".join(f"{k}: {v}\n" for k, v in {**common, **fields}.items()).encode()
        (directory / name).write_bytes(head + b"\n" + data)
    return len(written)


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent, help="directory to write into"
    )
    args = parser.parse_args()
    print(f"wrote {write_all(args.out)} vectors to {args.out}")
    bundles = args.out / "bundle"
    print(f"wrote {write_bundle_vectors(bundles)} bundle vectors to {bundles}")


if __name__ == "__main__":
    main()
