"""sealdrop-admin import: real envelopes and bundles sealed with crypto/."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from admin_support import (
    PASSPHRASE,
    AdminRunner,
    FakeInstance,
    SealedEnvelope,
    Source,
    make_vault,
    submit_and_bundle,
    tree_digest,
)

from crypto.kdf import Argon2Cost
from crypto.replies import verify_ack

TIP = {
    "narrative": "They took my brother to the re-education centre in Kashgar.",
    "answers": {"where": "Kashgar", "what_done": ["detention", "forced re-education"]},
    "files": [
        ("photo.jpg", "image/jpeg", b"\xff\xd8 not really a jpeg"),
        ("list.txt", "text/plain", b"names"),
    ],
}


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    return make_vault(tmp_path)


def _json(result: object) -> dict:
    return json.loads(result.stdout)  # type: ignore[attr-defined]


def test_import_groups_a_submission_into_one_tip_and_writes_a_signed_ack(
    admin: AdminRunner, tmp_path: Path
) -> None:
    instance, source, envelopes, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    ack = tmp_path / "ack.sda"
    result = admin("import", str(bundle), "--ack-out", str(ack))
    assert result.exit_code == 0, result.output
    assert "is now trusted" in result.stdout
    assert "Imported 3 envelope(s) into tip(s) T1." in result.stdout
    assert f"Ack for 3 envelope(s) written to {ack}." in result.stdout
    verified = verify_ack(ack.read_bytes(), admin.identity().signer, instance.instance_id)
    assert sorted(verified.envelope_ids) == sorted(e.envelope_id for e in envelopes)

    shown = _json(admin("show", "T1", "--json"))
    assert shown["narrative"] == TIP["narrative"]
    assert shown["answers"] == TIP["answers"]
    assert shown["source"] == source.source_id
    assert [f["filename"] for f in shown["files"]] == ["list.txt", "photo.jpg"]
    import hashlib

    assert {f["filename"]: f["sha256"] for f in shown["files"]} == {
        "list.txt": hashlib.sha256(b"names").hexdigest(),
        "photo.jpg": hashlib.sha256(b"\xff\xd8 not really a jpeg").hexdigest(),
    }


def test_import_json_output(admin: AdminRunner, tmp_path: Path) -> None:
    instance, _source, envelopes, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    result = admin("import", str(bundle), "--json")
    assert result.exit_code == 0
    data = _json(result)
    assert data["instance_id"] == instance.instance_id
    assert data["new_instance"] is True
    assert sorted(data["imported"]) == sorted(e.envelope_id for e in envelopes)
    assert data["already_imported"] == []
    assert data["skipped"] == []
    assert data["tips"] == [1]
    assert data["ack"] is None


def test_reimport_imports_nothing_and_can_redo_a_lost_ack(
    admin: AdminRunner, tmp_path: Path
) -> None:
    instance, _source, envelopes, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    assert admin("import", str(bundle)).exit_code == 0
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle), "--ack-out", str(tmp_path / "again.sda"))
    assert result.exit_code == 0
    assert (
        "Nothing new: all 3 envelope(s) of this bundle are already in the vault." in result.stdout
    )
    ack = verify_ack(
        (tmp_path / "again.sda").read_bytes(), admin.identity().signer, instance.instance_id
    )
    assert sorted(ack.envelope_ids) == sorted(e.envelope_id for e in envelopes)
    after = tree_digest(admin.vault)
    assert {k for k in after if k.startswith("content/")} == {
        k for k in before if k.startswith("content/")
    }
    assert _json(admin("inbox", "--all", "--json"))["tips"][0]["tip"] == 1
    assert len(_json(admin("inbox", "--all", "--json"))["tips"]) == 1


def _tamper(envelope: SealedEnvelope, offset: int) -> SealedEnvelope:
    data = bytearray(envelope.data)
    data[offset] ^= 0x01
    return SealedEnvelope(envelope.envelope_id, envelope.source_id, bytes(data))


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda e: _tamper(e, len(e.data) - 5), "payload failed authentication"),
        (lambda e: _tamper(e, 30), "not sealed to any of the keys"),
        (
            # Cut at a chunk boundary: header (159 bytes for one recipient) + one full chunk.
            lambda e: SealedEnvelope(e.envelope_id, e.source_id, e.data[: 159 + 65536 + 17]),
            "the final chunk is missing: the envelope is truncated",
        ),
    ],
    ids=["tampered-payload", "tampered-header", "truncated-envelope"],
)
def test_damaged_envelope_is_skipped_by_id_and_the_rest_imported(
    admin: AdminRunner, tmp_path: Path, damage: object, reason: str
) -> None:
    instance = FakeInstance(admin.identity())
    good = instance.submit(Source(), "first tip", files=[("a.txt", "text/plain", b"a")])
    second = instance.submit(Source(), "second tip " * 10_000)
    bad = damage(second[0])  # type: ignore[operator]
    bundle = instance.bundle(tmp_path / "b.sdb", [*good, bad])
    ack = tmp_path / "ack.sda"
    result = admin("import", str(bundle), "--ack-out", str(ack))
    assert result.exit_code == 3, result.output
    assert f"SKIPPED envelope {bad.envelope_id}:" in result.stdout
    assert reason in result.stdout
    assert "Imported 2 envelope(s) into tip(s) T1." in result.stdout
    listed = verify_ack(ack.read_bytes(), admin.identity().signer, instance.instance_id)
    assert sorted(listed.envelope_ids) == sorted(e.envelope_id for e in good)
    assert bad.envelope_id not in listed.envelope_ids
    log = _json(admin("log", "--json"))["entries"]
    assert any(e["action"] == "import-skipped" and bad.envelope_id in e["object"] for e in log)
    # The same damaged envelope stays skipped on a re-run; the good ones are not re-imported.
    again = admin("import", str(bundle), "--json")
    assert again.exit_code == 3
    assert _json(again)["imported"] == []
    assert len(_json(again)["skipped"]) == 1


def test_metadata_that_contradicts_the_manifest_is_skipped(
    admin: AdminRunner, tmp_path: Path
) -> None:
    instance = FakeInstance(admin.identity())
    real, other = Source(), Source()
    envelopes = instance.submit(real, "hello")
    # The manifest claims another source than the one sealed inside the envelope.
    moved = SealedEnvelope(envelopes[0].envelope_id, other.source_id, envelopes[0].data)
    instance.sources[other.source_id] = other.reply_key.public_key
    bundle = instance.bundle(tmp_path / "b.sdb", [moved])
    result = admin("import", str(bundle))
    assert result.exit_code == 3
    assert "does not match the bundle manifest" in result.stdout


def test_truncated_bundle_imports_what_arrived_intact_and_acks_only_that(
    admin: AdminRunner, tmp_path: Path
) -> None:
    # Every envelope before the cut was checked against its signed SHA-256, so it is
    # imported; the cut one and any after it are skipped by id and stay on the server.
    instance, _source, envelopes, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    bundle.write_bytes(bundle.read_bytes()[:-10])
    ack = tmp_path / "ack.sda"
    result = admin("import", str(bundle), "--ack-out", str(ack))
    assert result.exit_code == 3, result.output
    cut = envelopes[-1].envelope_id
    assert (
        f"SKIPPED envelope {cut}: the bundle ends inside it (the bundle is truncated)"
        in result.stdout
    )
    assert "The bundle is truncated" in result.stdout
    listed = verify_ack(ack.read_bytes(), admin.identity().signer, instance.instance_id)
    assert sorted(listed.envelope_ids) == sorted(e.envelope_id for e in envelopes[:-1])
    assert list((admin.vault / "content" / "tmp").glob("*")) == []


def test_bundle_truncated_in_its_manifest_is_refused_and_the_vault_is_unchanged(
    admin: AdminRunner, tmp_path: Path
) -> None:
    _instance, _source, _envelopes, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    bundle.write_bytes(bundle.read_bytes()[:100])
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle))
    assert result.exit_code == 1
    assert "Error: the bundle bundle.sdb is truncated in its manifest" in result.output
    assert "Nothing was imported" in result.output
    assert tree_digest(admin.vault) == before


def test_data_after_the_last_envelope_is_reported_and_ignored(
    admin: AdminRunner, tmp_path: Path
) -> None:
    _instance, _source, envelopes, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    bundle.write_bytes(bundle.read_bytes() + b"x")
    result = admin("import", str(bundle), "--json")
    assert result.exit_code == 3
    data = _json(result)
    assert sorted(data["imported"]) == sorted(e.envelope_id for e in envelopes)
    assert data["ignored"] == [
        {"envelope_id": None, "reason": "1 bytes of data after the last envelope"}
    ]


@pytest.mark.parametrize(
    "mangle",
    [lambda d: b"garbage" + d, lambda d: d[:40] + bytes([d[40] ^ 1]) + d[41:]],
    ids=["bad-magic", "manifest-altered"],
)
def test_corrupt_bundle_is_refused_and_the_vault_is_unchanged(
    admin: AdminRunner, tmp_path: Path, mangle: object
) -> None:
    _instance, _source, _envelopes, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    bundle.write_bytes(mangle(bundle.read_bytes()))  # type: ignore[operator]
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle))
    assert result.exit_code == 1
    assert "is not a valid Sealdrop bundle or is damaged" in result.output
    assert "Nothing was imported" in result.output
    assert tree_digest(admin.vault) == before


def test_missing_bundle_file(admin: AdminRunner, tmp_path: Path) -> None:
    result = admin("import", str(tmp_path / "nope.sdb"))
    assert result.exit_code == 1
    assert "Error: no file" in result.output
    assert "Check the path" in result.output


def test_bundle_from_another_instance_is_refused_unless_trusted(
    admin: AdminRunner, tmp_path: Path
) -> None:
    _first, _s, _e, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    assert admin("import", str(bundle)).exit_code == 0
    other, _s2, _other_envelopes, other_bundle = submit_and_bundle(
        admin, tmp_path, name="other.sdb", narrative="from elsewhere"
    )
    before = tree_digest(admin.vault)
    result = admin("import", str(other_bundle))
    assert result.exit_code == 1
    assert f"this bundle comes from instance {other.instance_id}" in result.output
    assert "--trust-new-instance" in result.output
    assert "Nothing was imported" in result.output
    assert tree_digest(admin.vault) == before

    trusted = admin("import", str(other_bundle), "--trust-new-instance")
    assert trusted.exit_code == 0, trusted.output
    assert f"Instance {other.instance_id} is now trusted" in trusted.stdout
    assert "Imported 1 envelope(s) into tip(s) T2." in trusted.stdout


def test_same_instance_id_with_a_new_key_is_refused(admin: AdminRunner, tmp_path: Path) -> None:
    first, _s, _e, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    assert admin("import", str(bundle)).exit_code == 0
    impostor = FakeInstance(admin.identity())
    impostor.instance_id = first.instance_id
    envelopes = impostor.submit(Source(), "fake")
    fake = impostor.bundle(tmp_path / "fake.sdb", envelopes)
    result = admin("import", str(fake))
    assert result.exit_code == 1
    assert "--trust-new-instance" in result.output


def test_ack_target_that_exists_is_refused_before_anything_happens(
    admin: AdminRunner, tmp_path: Path
) -> None:
    _i, _s, _e, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    ack = tmp_path / "ack.sda"
    ack.write_text("keep me")
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle), "--ack-out", str(ack))
    assert result.exit_code == 1
    assert "already exists: it is never overwritten" in result.output
    assert ack.read_text() == "keep me"
    assert tree_digest(admin.vault) == before


def test_wrong_passphrase_changes_nothing(admin: AdminRunner, tmp_path: Path) -> None:
    _i, _s, _e, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle), passphrase="not the passphrase")
    assert result.exit_code == 1
    assert "Error: wrong passphrase: nothing was changed." in result.output
    assert tree_digest(admin.vault) == before


def test_files_sent_in_a_later_bundle_join_their_submission(
    admin: AdminRunner, tmp_path: Path
) -> None:
    instance = FakeInstance(admin.identity())
    envelopes = instance.submit(
        Source(), "message first", files=[("later.txt", "text/plain", b"x")]
    )
    assert admin("import", str(instance.bundle(tmp_path / "1.sdb", envelopes[:1]))).exit_code == 0
    assert admin("import", str(instance.bundle(tmp_path / "2.sdb", envelopes[1:]))).exit_code == 0
    shown = _json(admin("show", "T1", "--json"))
    assert [f["filename"] for f in shown["files"]] == ["later.txt"]
    assert len(_json(admin("inbox", "--json"))["tips"]) == 1


def test_a_big_file_streams_through_with_its_hash_checked(
    admin: AdminRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib
    import os

    import admin.vault as vault_module

    # Start writeback every 64 KiB (not 8 MiB) so this file goes through that path often.
    monkeypatch.setattr(vault_module, "WRITE_BACK_BYTES", 64 * 1024)
    content = os.urandom(3 * 1024 * 1024 + 123)
    _i, _s, _e, bundle = submit_and_bundle(
        admin, tmp_path, narrative="video attached", files=[("clip.mp4", "video/mp4", content)]
    )
    assert admin("import", str(bundle)).exit_code == 0
    out = tmp_path / "out"
    out.mkdir()
    result = admin("open", "T1", "clip.mp4", "--to", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "clip.mp4").read_bytes() == content
    assert hashlib.sha256(content).hexdigest() in result.stdout
    # The custody log records the SHA-256 of exactly the bytes that were stored.
    log = _json(admin("log", "--json", "--object", "tip:1"))["entries"]
    imported = {
        e["details"]["filename"]: e["details"]["sha256"] for e in log if e["action"] == "import"
    }
    assert imported["clip.mp4"] == hashlib.sha256(content).hexdigest()


def test_bundle_is_read_from_a_stream_in_order(tmp_path: Path) -> None:
    """The helper writes what crypto's reader expects (guards the other tests' premise)."""
    from nacl.public import PrivateKey
    from nacl.signing import SigningKey

    from crypto.bundle import Arrived, BundleReader
    from crypto.keys import AdminIdentity

    identity = AdminIdentity((PrivateKey.generate().public_key,), SigningKey.generate().verify_key)
    instance = FakeInstance(identity)
    envelopes = instance.submit(Source(), "x", files=[("f", "text/plain", b"y")])
    path = instance.bundle(tmp_path / "b.sdb", envelopes)
    reader = BundleReader(io.BytesIO(path.read_bytes()), instance.signing_key.verify_key)
    events = list(reader.entries())
    assert all(isinstance(e, Arrived) and e.body.problem() is None for e in events)
    assert [e.entry.envelope_id for e in events] == [e.envelope_id for e in envelopes]  # type: ignore[union-attr]


def test_a_submission_id_reused_by_another_source_never_merges_tips(
    admin: AdminRunner, tmp_path: Path
) -> None:
    from crypto.encoding import b64encode
    from crypto.envelope import Sealer

    instance = FakeInstance(admin.identity())
    sealer = Sealer(list(admin.identity().recipients))
    shared = "ab" * 16
    envelopes = []
    for text in ("from source one", "from source two"):
        source = Source()
        instance.sources[source.source_id] = source.reply_key.public_key
        meta = {
            "kind": "message",
            "source_id": source.source_id,
            "reply_public_key": b64encode(bytes(source.reply_key.public_key)),
            "received": "2024-05-01",
            "submission_id": shared,
            "answers": {},
        }
        envelopes.append(
            SealedEnvelope(
                f"{len(envelopes):032x}", source.source_id, sealer.seal_bytes(text.encode(), meta)
            )
        )
    result = admin("import", str(instance.bundle(tmp_path / "b.sdb", envelopes)))
    assert result.exit_code == 0, result.output
    tips = json.loads(admin("inbox", "--json").stdout)["tips"]
    assert sorted(t["first_words"] for t in tips) == ["from source one", "from source two"]


def test_an_empty_bundle_imports_nothing_and_says_so(admin: AdminRunner, tmp_path: Path) -> None:
    instance = FakeInstance(admin.identity())
    result = admin("import", str(instance.bundle(tmp_path / "empty.sdb", [])))
    assert result.exit_code == 0
    assert "The bundle holds no envelopes: nothing to import." in result.stdout


def test_stored_content_and_database_are_private_files(admin: AdminRunner, tmp_path: Path) -> None:
    import stat

    _i, _s, _e, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    assert admin("import", str(bundle)).exit_code == 0
    for path in [admin.vault / "vault.db", *(admin.vault / "content").glob("*.sdv")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_a_new_vault_opens_old_envelopes_with_the_backup_key(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    backup = tmp_path / "backup.key"
    old = AdminRunner(tmp_path / "old-vault")
    assert old("init", "--vault", str(old.vault), "--backup-recipient", str(backup)).exit_code == 0
    instance = FakeInstance(old.identity())
    envelopes = instance.submit(Source(), "sealed before the laptop was lost")
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)

    new = AdminRunner(tmp_path / "new-vault")
    other = "the new vault's own passphrase"
    assert new("init", "--vault", str(new.vault), passphrase=other).exit_code == 0
    before = tree_digest(new.vault)
    wrong = new(
        "import",
        str(bundle),
        "--backup-key",
        str(backup),
        input="not it\n",
        passphrase=other,
    )
    assert wrong.exit_code == 1
    assert f"wrong passphrase for {backup}: nothing was changed" in wrong.output
    assert tree_digest(new.vault) == before

    without = new("import", str(bundle), "--json", passphrase=other)
    assert without.exit_code == 3
    assert "not sealed to any of the keys" in _json(without)["skipped"][0]["reason"]
    # The vault passphrase does not open the backup key, so its own passphrase is asked.
    with_backup = new(
        "import",
        str(bundle),
        "--backup-key",
        str(backup),
        "--json",
        passphrase=other,
        input=PASSPHRASE + "\n",
    )
    assert with_backup.exit_code == 0, with_backup.output
    assert _json(with_backup)["imported"] == [envelopes[0].envelope_id]
    assert (
        _json(new("show", "T1", "--json", passphrase=other))["narrative"]
        == "sealed before the laptop was lost"
    )


def test_a_bundle_that_changes_between_check_and_import_records_nothing(
    admin: AdminRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import admin.commands.importing as importing

    instance, _s, _e, bundle = submit_and_bundle(admin, tmp_path, **TIP)
    other = instance.bundle(tmp_path / "other.sdb", instance.submit(Source(), "another"))
    real_scan = importing.scan_bundle

    def scan_then_swap(path: Path) -> object:
        manifest = real_scan(path)
        path.write_bytes(other.read_bytes())  # the file is replaced after its check
        return manifest

    monkeypatch.setattr(importing, "scan_bundle", scan_then_swap)
    before = tree_digest(admin.vault)
    result = admin("import", str(bundle))
    assert result.exit_code == 1
    assert "the bundle changed while it was being imported" in result.output
    assert "nothing of this import was recorded" in result.output
    after = tree_digest(admin.vault)
    assert {k: v for k, v in after.items() if not k.startswith("content/")} == before
