"""Export bundles (server -> offline), reply bundles and acks (offline -> server)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import secrets
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.bundle import (
    MAGIC,
    MAX_ENVELOPES,
    Arrived,
    BundleReader,
    BundleTruncated,
    BundleWriter,
    Manifest,
    ManifestEntry,
    Missing,
    UnsupportedBundleVersion,
)
from crypto.encoding import canonical_json
from crypto.envelope import Opener, Sealer
from crypto.errors import CryptoError, FormatError, HeaderError, PayloadError, SignatureError
from crypto.replies import (
    make_ack,
    make_reply,
    open_reply,
    read_reply_bundle,
    verify_ack,
    verify_reply,
    write_reply_bundle,
)
from crypto.statements import sign_statement

INSTANCE = SigningKey.generate()
ADMIN = SigningKey.generate()
RECIPIENT = PrivateKey.generate()
INSTANCE_ID = secrets.token_hex(16)
SOURCE_ID = secrets.token_hex(32)
REPLY_KEY = PrivateKey.generate()


def make_envelopes(sizes: list[int]) -> list[tuple[str, bytes, bytes]]:
    """(envelope id, content, envelope) for each size."""
    sealer = Sealer([RECIPIENT.public_key])
    out = []
    for size in sizes:
        content = os.urandom(size)
        out.append((secrets.token_hex(16), content, sealer.seal_bytes(content, {"kind": "file"})))
    return out


def entry_of(eid: str, envelope: bytes) -> ManifestEntry:
    """The manifest entry of one envelope."""
    return ManifestEntry(eid, len(envelope), SOURCE_ID, hashlib.sha256(envelope).hexdigest())


def build(
    envelopes: list[tuple[str, bytes, bytes]], key: SigningKey = INSTANCE
) -> tuple[Manifest, bytes]:
    """A manifest and the bundle bytes carrying `envelopes` in order."""
    manifest = Manifest(
        INSTANCE_ID,
        key.verify_key,
        "2026-11-29",
        tuple(entry_of(eid, env) for eid, _, env in envelopes),
        {SOURCE_ID: bytes(REPLY_KEY.public_key)} if envelopes else {},
    )
    out = io.BytesIO()
    writer = BundleWriter(out, key, manifest)
    for eid, _, env in envelopes:
        writer.add(eid, io.BytesIO(env))
    writer.close()
    return manifest, out.getvalue()


ENVELOPES = make_envelopes([0, 70_000, 300])
IDS = [eid for eid, _, _ in ENVELOPES]
MANIFEST, BUNDLE = build(ENVELOPES)


def entry_offsets(bundle: bytes) -> list[int]:
    """Offset of each entry (id || size || envelope) in a bundle."""
    (length,) = struct.unpack(">I", bundle[len(MAGIC) : len(MAGIC) + 4])
    offset = len(MAGIC) + 4 + length
    offsets = []
    while offset < len(bundle):
        offsets.append(offset)
        (size,) = struct.unpack(">Q", bundle[offset + 16 : offset + 24])
        offset += 24 + size
    return offsets


def parts(bundle: bytes) -> tuple[bytes, list[bytes]]:
    """The bundle's magic + manifest, and each entry's bytes."""
    offsets = [*entry_offsets(bundle), len(bundle)]
    return bundle[: offsets[0]], [bundle[a:b] for a, b in itertools.pairwise(offsets)]


def outcomes(bundle: bytes, key=INSTANCE.verify_key) -> list[tuple[str, str | None, str]]:  # type: ignore[no-untyped-def]
    """What the reader says about each slot: ("ok" | "skip" | "stray", id, reason)."""
    reader = BundleReader(io.BytesIO(bundle), key)
    said: list[tuple[str, str | None, str]] = []
    for event in reader.entries():
        if isinstance(event, Arrived):
            problem = event.body.problem()
            said.append(("skip" if problem else "ok", event.entry.envelope_id, problem or ""))
        elif isinstance(event, Missing):
            said.append(("skip", event.entry.envelope_id, event.reason))
        else:
            said.append(("stray", event.envelope_id, event.reason))
    return said


def read_all(bundle: bytes, key=INSTANCE.verify_key) -> list[tuple[str, bytes]]:  # type: ignore[no-untyped-def]
    """Every (envelope id, opened content); CryptoError if any slot is not intact."""
    reader = BundleReader(io.BytesIO(bundle), key)
    carried = []
    for event in reader.entries():
        if not isinstance(event, Arrived):
            raise FormatError(event.reason)
        envelope = event.body.read()
        event.body.verify()
        carried.append((event.entry.envelope_id, envelope))
    opener = Opener([RECIPIENT])
    return [(eid, opener.open_bytes(envelope)[1]) for eid, envelope in carried]


def test_bundle_round_trip() -> None:
    reader = BundleReader(io.BytesIO(BUNDLE), INSTANCE.verify_key)
    assert reader.manifest == MANIFEST
    assert BUNDLE.startswith(b"sealdrop-bundle/v2\n")
    assert read_all(BUNDLE) == [(eid, content) for eid, content, _ in ENVELOPES]
    assert MANIFEST.envelopes[1].sha256 == hashlib.sha256(ENVELOPES[1][2]).hexdigest()


def test_first_contact_uses_the_manifest_key() -> None:
    # Trust on first use: the caller sees which key signed and decides to pin it.
    reader = BundleReader(io.BytesIO(BUNDLE), None)
    assert bytes(reader.manifest.instance_key) == bytes(INSTANCE.verify_key)


def test_empty_bundle() -> None:
    _, bundle = build([])
    assert read_all(bundle) == []


def test_unread_envelope_bytes_are_hashed_and_skipped() -> None:
    reader = BundleReader(io.BytesIO(BUNDLE), INSTANCE.verify_key)
    ids = []
    for event in reader.entries():
        assert isinstance(event, Arrived)
        event.body.read(10)
        ids.append(event.entry.envelope_id)
    assert ids == IDS
    assert outcomes(BUNDLE) == [("ok", eid, "") for eid in IDS]


def test_version_1_is_refused_with_what_to_do() -> None:
    v1 = b"sealdrop-bundle/v1\n" + BUNDLE[len(MAGIC) :]
    with pytest.raises(
        UnsupportedBundleVersion, match=r"version 1 bundle.*export the envelopes again"
    ):
        BundleReader(io.BytesIO(v1), INSTANCE.verify_key)
    with pytest.raises(UnsupportedBundleVersion, match="'v9' is not supported"):
        BundleReader(io.BytesIO(b"sealdrop-bundle/v9\n" + BUNDLE[len(MAGIC) :]), None)


def test_swapped_same_size_envelope_is_skipped_by_id() -> None:
    # What a seized server (or anyone with the public identity) can make: a valid envelope
    # of exactly the same size, put in the genuine one's place.
    forged = Sealer([RECIPIENT.public_key]).seal_bytes(os.urandom(300), {"kind": "file"})
    assert len(forged) == len(ENVELOPES[2][2])
    head, entries = parts(BUNDLE)
    swapped = head + b"".join(entries[:2]) + entries[2][:24] + forged
    assert outcomes(swapped) == [
        ("ok", IDS[0], ""),
        ("ok", IDS[1], ""),
        (
            "skip",
            IDS[2],
            "its SHA-256 is not the one the signed manifest lists: "
            "the envelope was swapped or damaged",
        ),
    ]


def test_reordered_entries_skip_the_one_out_of_place() -> None:
    head, entries = parts(BUNDLE)
    said = outcomes(head + entries[1] + entries[0] + entries[2])
    assert said == [
        ("skip", IDS[0], "it is not in the bundle where the manifest lists it"),
        ("ok", IDS[1], ""),
        ("stray", IDS[0], "it arrived out of the manifest's order, or a second time"),
        ("ok", IDS[2], ""),
    ]


def test_duplicated_entry_is_ignored_the_second_time() -> None:
    head, entries = parts(BUNDLE)
    said = outcomes(head + entries[0] + entries[1] + entries[1] + entries[2])
    assert said == [
        ("ok", IDS[0], ""),
        ("ok", IDS[1], ""),
        ("stray", IDS[1], "it arrived out of the manifest's order, or a second time"),
        ("ok", IDS[2], ""),
    ]


def test_entry_from_another_bundle_is_a_stray_and_its_slot_missing() -> None:
    other_envelopes = make_envelopes([300])
    _, other = build(other_envelopes)
    _, other_entries = parts(other)
    head, entries = parts(BUNDLE)
    said = outcomes(head + entries[0] + entries[1] + other_entries[0])
    assert said == [
        ("ok", IDS[0], ""),
        ("ok", IDS[1], ""),
        ("stray", other_envelopes[0][0], "it is not listed in the manifest"),
        ("skip", IDS[2], "the bundle ends before it (the bundle is truncated)"),
    ]


def test_entry_from_another_bundle_under_a_listed_id_fails_its_hash() -> None:
    other = make_envelopes([300])[0][2]
    head, entries = parts(BUNDLE)
    said = outcomes(head + entries[0] + entries[1] + entries[2][:24] + other)
    assert said[2][:2] == ("skip", IDS[2])
    assert "SHA-256" in said[2][2]


@pytest.mark.parametrize("cut_in", [0, 1, 2])
@pytest.mark.parametrize("where", ["entry-head", "envelope"])
def test_truncated_bundle_keeps_what_came_before(cut_in: int, where: str) -> None:
    offset = entry_offsets(BUNDLE)[cut_in] + (10 if where == "entry-head" else 100)
    reader = BundleReader(io.BytesIO(BUNDLE[:offset]), INSTANCE.verify_key)
    said = outcomes(BUNDLE[:offset])
    assert said[:cut_in] == [("ok", eid, "") for eid in IDS[:cut_in]]
    assert [(o, e) for o, e, _ in said[cut_in:]] == [("skip", eid) for eid in IDS[cut_in:]]
    assert "truncated" in said[cut_in][2]
    list(reader.entries())
    assert reader.truncated


def test_bundle_cut_right_after_an_envelope() -> None:
    said = outcomes(BUNDLE[: entry_offsets(BUNDLE)[2]])
    assert said[-1] == ("skip", IDS[2], "the bundle ends before it (the bundle is truncated)")


@pytest.mark.parametrize("cut", [len(MAGIC) + 2, len(MAGIC) + 50])
def test_bundle_cut_inside_the_manifest(cut: int) -> None:
    with pytest.raises(BundleTruncated):
        BundleReader(io.BytesIO(BUNDLE[:cut]), INSTANCE.verify_key)


def test_size_that_differs_from_the_manifest_skips_the_slot() -> None:
    offset = entry_offsets(BUNDLE)[2] + 16
    bundle = bytearray(BUNDLE)
    bundle[offset + 7] ^= 1  # one more byte than listed: the reader then runs into the end
    size = len(ENVELOPES[2][2])
    said = outcomes(bytes(bundle))
    why = f"its size in the bundle ({size + 1}) is not the manifest's ({size})"
    assert said[2] == ("skip", IDS[2], why)


def test_trailing_data_is_reported() -> None:
    assert outcomes(BUNDLE + b"\x00")[-1] == (
        "stray",
        None,
        "1 bytes of data after the last envelope",
    )


def test_damaged_envelope_inside_a_bundle_fails_on_its_own() -> None:
    bundle = bytearray(BUNDLE)
    bundle[entry_offsets(BUNDLE)[1] + 24 + 500] ^= 1
    said = outcomes(bytes(bundle))
    assert [o for o, _, _ in said] == ["ok", "skip", "ok"]


def test_wrong_instance_key_is_refused() -> None:
    with pytest.raises(SignatureError):
        BundleReader(io.BytesIO(BUNDLE), SigningKey.generate().verify_key)


def test_altered_manifest_is_refused() -> None:
    (length,) = struct.unpack(">I", BUNDLE[len(MAGIC) : len(MAGIC) + 4])
    wire = json.loads(BUNDLE[len(MAGIC) + 4 : len(MAGIC) + 4 + length])
    wire["body"]["envelopes"][2]["sha256"] = hashlib.sha256(b"forged").hexdigest()
    signed = canonical_json(wire)
    bundle = MAGIC + struct.pack(">I", len(signed)) + signed + BUNDLE[len(MAGIC) + 4 + length :]
    with pytest.raises(SignatureError, match="altered"):
        BundleReader(io.BytesIO(bundle), INSTANCE.verify_key)


@pytest.mark.parametrize(
    "prefix",
    [b"sealdrop-envelope/v1\n", b"", b"PK\x03\x04"],
)
def test_not_a_bundle(prefix: bytes) -> None:
    with pytest.raises(HeaderError):
        BundleReader(io.BytesIO(prefix + BUNDLE[len(MAGIC) :]), INSTANCE.verify_key)


def test_oversized_manifest_length_is_refused_before_reading() -> None:
    with pytest.raises(HeaderError, match="larger than 40 MiB"):
        BundleReader(io.BytesIO(MAGIC + b"\xff\xff\xff\xff"), INSTANCE.verify_key)


def _signed_manifest_bundle(body: dict[str, object]) -> bytes:
    signed = sign_statement(INSTANCE, "bundle-manifest", body)
    return MAGIC + struct.pack(">I", len(signed)) + signed


OTHER = {"reply_public_key": "A" * 43 + "=", "source_id": "ff" * 32}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b["envelopes"].append(dict(b["envelopes"][0])), "listed twice"),
        (lambda b: b["envelopes"][0].update(id="AB" * 16), "lowercase hex"),
        (lambda b: b["envelopes"][0].update(id="ab" * 15), "32 lowercase hex"),
        (lambda b: b["envelopes"][0].update(sha256="ab" * 31), "SHA-256 must be 64"),
        (lambda b: b["envelopes"][0].pop("sha256"), "entry is malformed"),
        (lambda b: b["envelopes"][0].update(size=-1), "integer from 0"),
        (lambda b: b["envelopes"][0].update(size=True), "integer from 0"),
        (lambda b: b["envelopes"][0].update(size=2**64), "integer from 0"),
        (lambda b: b["envelopes"][0].update(extra=1), "entry is malformed"),
        (lambda b: b["sources"][0].update(reply_public_key="AAAA"), "expected 32 bytes"),
        (lambda b: b["sources"].append(dict(b["sources"][0])), "listed twice or out of order"),
        (
            lambda b: b["sources"].insert(0, OTHER),
            "listed twice or out of order",
        ),
        (
            lambda b: b["sources"].append(OTHER),
            "not exactly the sources of its envelopes",
        ),
        (lambda b: b.update(sources=[]), "not exactly the sources of its envelopes"),
        (lambda b: b.update(extra=1), "unexpected fields"),
        (lambda b: b.update(envelopes={}), "malformed"),
        (lambda b: b.update(instance_id="zz" * 16), "hex"),
        (lambda b: b.update(created="2026-02-30"), "not a real date"),
        (lambda b: b.update(created="2026-1-03"), "YYYY-MM-DD"),
        (lambda b: b.update(created="\u0662\u0660\u0662\u0666-11-29"), "YYYY-MM-DD"),
        (lambda b: b.update(created="\x1b]0;owned\x07[bold red]x"), "YYYY-MM-DD"),
        (lambda b: b.update(created=20261129), "YYYY-MM-DD"),
    ],
)
def test_malformed_signed_manifest_is_refused(change, message: str) -> None:  # type: ignore[no-untyped-def]
    body = MANIFEST.body()
    change(body)
    with pytest.raises(FormatError, match=message):
        BundleReader(io.BytesIO(_signed_manifest_bundle(body)), INSTANCE.verify_key)


def test_too_many_envelopes_are_refused() -> None:
    body = MANIFEST.body()
    entry = body["envelopes"][0]
    body["envelopes"] = [dict(entry, id=f"{i:032x}") for i in range(MAX_ENVELOPES + 1)]
    with pytest.raises(FormatError, match="at most 100000 envelopes"):
        BundleReader(io.BytesIO(_signed_manifest_bundle(body)), INSTANCE.verify_key)


def test_writer_keeps_to_the_manifest() -> None:
    with pytest.raises(ValueError, match="does not match the signing key"):
        BundleWriter(io.BytesIO(), SigningKey.generate(), MANIFEST)
    writer = BundleWriter(io.BytesIO(), INSTANCE, MANIFEST)
    with pytest.raises(ValueError, match="expected envelope"):
        writer.add(ENVELOPES[1][0], io.BytesIO(ENVELOPES[1][2]))
    with pytest.raises(ValueError, match="not every envelope"):
        writer.close()
    writer.add(ENVELOPES[0][0], io.BytesIO(ENVELOPES[0][2]))
    with pytest.raises(ValueError, match="shorter than its listed size"):
        writer.add(ENVELOPES[1][0], io.BytesIO(ENVELOPES[1][2][:-1]))


def test_writer_refuses_an_envelope_that_changed_since_the_manifest() -> None:
    writer = BundleWriter(io.BytesIO(), INSTANCE, MANIFEST)
    changed = bytes(len(ENVELOPES[0][2]))
    writer.add(ENVELOPES[0][0], io.BytesIO(ENVELOPES[0][2]))
    with pytest.raises(ValueError, match="changed since its manifest was made"):
        writer.add(ENVELOPES[1][0], io.BytesIO(bytes(len(ENVELOPES[1][2]))))
    del changed


# --- replies ------------------------------------------------------------------------------


def reply(
    text: str = "我们收到了您的材料。", instance_id: str = INSTANCE_ID, key: SigningKey = ADMIN
) -> bytes:
    """A signed reply to SOURCE_ID."""
    return make_reply(key, instance_id, SOURCE_ID, REPLY_KEY.public_key, text, "2026-11-29")


def test_reply_round_trip() -> None:
    data = reply()
    verified = verify_reply(data, ADMIN.verify_key, INSTANCE_ID)
    assert (verified.instance_id, verified.source_id, verified.created) == (
        INSTANCE_ID,
        SOURCE_ID,
        "2026-11-29",
    )
    assert len(verified.reply_id) == 32
    assert verified.statement == data
    assert "我们" not in data.decode()  # the text travels sealed
    assert open_reply(verified.sealed, REPLY_KEY) == "我们收到了您的材料。"


def test_reply_opens_only_with_the_source_key() -> None:
    verified = verify_reply(reply(), ADMIN.verify_key, INSTANCE_ID)
    with pytest.raises(PayloadError):
        open_reply(verified.sealed, PrivateKey.generate())


def test_reply_for_another_instance_is_refused() -> None:
    with pytest.raises(SignatureError, match="another instance"):
        verify_reply(reply(instance_id=secrets.token_hex(16)), ADMIN.verify_key, INSTANCE_ID)


def test_reply_signed_by_a_stolen_staff_key_is_refused() -> None:
    with pytest.raises(SignatureError):
        verify_reply(reply(key=INSTANCE), ADMIN.verify_key, INSTANCE_ID)


def test_ack_replayed_as_a_reply_and_back_is_refused() -> None:
    ack = make_ack(ADMIN, INSTANCE_ID, [ENVELOPES[0][0]], "2026-11-29")
    with pytest.raises(SignatureError, match="expected a 'reply'"):
        verify_reply(ack, ADMIN.verify_key, INSTANCE_ID)
    with pytest.raises(SignatureError, match="expected a 'ack'"):
        verify_ack(reply(), ADMIN.verify_key, INSTANCE_ID)


@pytest.mark.parametrize("text", ["", "x" * (64 * 1024 + 1)])
def test_reply_text_size_is_bounded(text: str) -> None:
    with pytest.raises(ValueError, match="1 to 65536"):
        reply(text)


def test_reply_bundle_round_trip() -> None:
    statements = [reply(f"reply {i}") for i in range(3)]
    replies = read_reply_bundle(
        io.BytesIO(write_reply_bundle(statements)), ADMIN.verify_key, INSTANCE_ID
    )
    assert [r.statement for r in replies] == statements
    assert [open_reply(r.sealed, REPLY_KEY) for r in replies] == ["reply 0", "reply 1", "reply 2"]
    assert (
        read_reply_bundle(io.BytesIO(write_reply_bundle([])), ADMIN.verify_key, INSTANCE_ID) == []
    )


def test_one_bad_signature_refuses_the_whole_reply_bundle() -> None:
    wire = json.loads(reply("second"))
    wire["body"]["source_id"] = secrets.token_hex(32)  # redirected to another source
    statements = [reply("first"), canonical_json(wire), reply("third")]
    with pytest.raises(SignatureError, match="reply 2 of 3"):
        read_reply_bundle(io.BytesIO(write_reply_bundle(statements)), ADMIN.verify_key, INSTANCE_ID)


def test_reply_bundle_for_another_instance_is_refused() -> None:
    bundle = write_reply_bundle([reply(instance_id=secrets.token_hex(16))])
    with pytest.raises(SignatureError, match="another instance"):
        read_reply_bundle(io.BytesIO(bundle), ADMIN.verify_key, INSTANCE_ID)


def test_duplicated_reply_is_refused() -> None:
    one = reply()
    with pytest.raises(FormatError, match="twice"):
        read_reply_bundle(io.BytesIO(write_reply_bundle([one, one])), ADMIN.verify_key, INSTANCE_ID)


def test_reply_bundle_truncation_and_trailing_data() -> None:
    bundle = write_reply_bundle([reply("a"), reply("b")])
    for cut in (5, len(bundle) // 2, len(bundle) - 1):
        with pytest.raises(FormatError):
            read_reply_bundle(io.BytesIO(bundle[:cut]), ADMIN.verify_key, INSTANCE_ID)
    with pytest.raises(FormatError, match="after the last reply"):
        read_reply_bundle(io.BytesIO(bundle + b"\n"), ADMIN.verify_key, INSTANCE_ID)
    with pytest.raises(FormatError, match="not a Sealdrop reply bundle"):
        read_reply_bundle(io.BytesIO(BUNDLE), ADMIN.verify_key, INSTANCE_ID)


def test_ack_round_trip_and_other_instance() -> None:
    ids = [eid for eid, _, _ in ENVELOPES]
    ack = verify_ack(make_ack(ADMIN, INSTANCE_ID, ids, "2026-11-29"), ADMIN.verify_key, INSTANCE_ID)
    assert ack.envelope_ids == tuple(sorted(ids))
    assert ack.created == "2026-11-29"
    other = make_ack(ADMIN, secrets.token_hex(16), ids, "2026-11-29")
    with pytest.raises(SignatureError, match="another instance"):
        verify_ack(other, ADMIN.verify_key, INSTANCE_ID)
    with pytest.raises(SignatureError):
        verify_ack(
            make_ack(INSTANCE, INSTANCE_ID, ids, "2026-11-29"), ADMIN.verify_key, INSTANCE_ID
        )


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(BUNDLE) - 1), st.integers(1, 255))
def test_any_changed_byte_of_a_bundle_is_caught(offset: int, xor: int) -> None:
    # Either the bundle structure refuses it, or the envelope it hit fails to open.
    damaged = bytearray(BUNDLE)
    damaged[offset] ^= xor
    with pytest.raises(CryptoError):
        read_all(bytes(damaged))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, len(BUNDLE) - 1))
def test_any_truncated_bundle_is_caught(cut: int) -> None:
    with pytest.raises(CryptoError):
        read_all(BUNDLE[:cut])


FOREIGN = make_envelopes([300, 70_000])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(range(len(ENVELOPES) + len(FOREIGN) + 1)), max_size=7),
    st.integers(0, 200_000) | st.none(),
)
def test_any_sequence_of_entries_reports_each_listed_envelope_once(
    picks: list[int], cut: int | None
) -> None:
    # Entries in any order, repeated, foreign, forged (index len: a listed id carrying
    # other bytes), cut anywhere: every listed envelope is reported once, "ok" only with
    # exactly its genuine bytes, and nothing else is ever taken for a listed envelope.
    head, entries = parts(BUNDLE)
    _, foreign_entries = parts(build(FOREIGN)[1])
    pool = entries + foreign_entries
    size = len(ENVELOPES[2][2])
    forged = bytes.fromhex(IDS[2]) + struct.pack(">Q", size) + bytes(size)
    data = head + b"".join(forged if i == len(pool) else pool[i] for i in picks)
    if cut is not None:
        data = data[: len(head) + cut]
    reader = BundleReader(io.BytesIO(data), INSTANCE.verify_key)
    reported: list[str] = []
    for event in reader.entries():
        if isinstance(event, Arrived):
            got = event.body.read()
            ok = event.body.problem() is None
            genuine = {eid: env for eid, _, env in ENVELOPES}[event.entry.envelope_id]
            assert ok == (got == genuine)
            reported.append(event.entry.envelope_id)
        elif isinstance(event, Missing):
            reported.append(event.entry.envelope_id)
    assert reported == IDS


def test_a_known_manifest_is_reused_only_for_the_same_bytes() -> None:
    first = BundleReader(io.BytesIO(BUNDLE), INSTANCE.verify_key).manifest
    assert first.signed_sha256
    again = BundleReader(io.BytesIO(BUNDLE), INSTANCE.verify_key, known=first)
    assert again.manifest is first  # not parsed a second time
    _, other = build(make_envelopes([10]))
    fresh = BundleReader(io.BytesIO(other), INSTANCE.verify_key, known=first)
    assert fresh.manifest is not first
    assert fresh.manifest != first
