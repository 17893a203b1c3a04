"""sealdrop-admin add-recipient: a hybrid recipient added to an existing vault (rotation)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from admin_support import PASSPHRASE, AdminRunner, FakeInstance, Source, make_vault
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.envelope import Opener, Sealer
from crypto.kdf import Argon2Cost
from crypto.keys import AdminIdentity, lock_private_key, parse_key_file, unlock_private_key
from crypto.xwing import XWingPublicKey


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    return make_vault(tmp_path)


def _make_classical(admin: AdminRunner, cost: Argon2Cost) -> PrivateKey:
    """Turn the new vault into one made before v2: an X25519 recipient, a v1 identity."""
    classical = PrivateKey.generate()
    keys = admin.vault / "keys"
    (keys / "recipient.key").write_text(lock_private_key(classical, PASSPHRASE.encode(), cost))
    signing = unlock_private_key((keys / "signing.key").read_text(), PASSPHRASE.encode())
    assert isinstance(signing, SigningKey)
    old = AdminIdentity((classical.public_key,), signing.verify_key, version=1)
    (admin.vault / "admin-identity.pub").write_text(old.to_text())
    return classical


def test_new_vaults_are_hybrid(admin: AdminRunner) -> None:
    identity = admin.identity()
    assert identity.version == 2
    assert identity.hybrid
    assert parse_key_file((admin.vault / "keys" / "recipient.key").read_text()).kind == "hybrid"


def test_add_recipient_rotates_a_classical_vault_and_keeps_opening_old_tips(
    admin: AdminRunner, tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    _make_classical(admin, admin_kdf)
    old_identity = admin.identity()
    instance = FakeInstance(old_identity)
    source = Source()
    waiting = instance.submit(source, "sealed before the rotation")  # a v2 X25519 envelope

    result = admin("add-recipient", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    new_identity = admin.identity()
    assert report["fingerprint"] == new_identity.fingerprint != old_identity.fingerprint
    assert report["previous_fingerprint"] == old_identity.fingerprint
    assert report["hybrid"] is True
    assert new_identity.hybrid
    assert new_identity.signer == old_identity.signer
    assert (admin.vault / "keys" / "recipient-2.key").exists()

    # The server seals to the new identity: the tip opens, and so does the one waiting.
    instance.identity = new_identity
    after = instance.submit(source, "sealed after the server has the new identity")
    bundle = instance.bundle(tmp_path / "b.sdb", [*waiting, *after])
    result = admin("import", str(bundle))
    assert result.exit_code == 0, result.output
    assert "Imported 2 envelope(s)" in result.stdout
    listing = json.loads(admin("inbox", "--all", "--json").stdout)
    assert len(listing["tips"]) == 2


def test_add_recipient_with_a_backup_and_keep_old(
    admin: AdminRunner, tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    classical = _make_classical(admin, admin_kdf)
    backup = tmp_path / "pq-backup.key"
    result = admin("add-recipient", "--backup-recipient", str(backup), "--keep-old")
    assert result.exit_code == 0, result.output
    assert "WARNING: the identity still lists a classical (X25519) recipient" in result.stdout
    identity = admin.identity()
    assert len(identity.recipients) == 3
    assert isinstance(identity.recipients[0], XWingPublicKey)
    assert isinstance(identity.recipients[1], XWingPublicKey)
    assert identity.recipients[2] == classical.public_key
    backup_key = unlock_private_key(backup.read_text(), PASSPHRASE.encode())
    envelope = Sealer(list(identity.recipients)).seal_bytes(b"x", {"kind": "message"})
    assert Opener([backup_key]).open_bytes(envelope)[1] == b"x"  # type: ignore[list-item]


def test_add_recipient_twice_numbers_the_keys(admin: AdminRunner) -> None:
    assert admin("add-recipient").exit_code == 0
    assert admin("add-recipient").exit_code == 0
    keys = sorted(p.name for p in (admin.vault / "keys").iterdir())
    assert "recipient-2.key" in keys
    assert "recipient-3.key" in keys


def test_add_recipient_refuses_an_existing_backup_file_and_changes_nothing(
    admin: AdminRunner, tmp_path: Path
) -> None:
    backup = tmp_path / "exists.key"
    backup.write_text("keep me")
    before = (admin.vault / "admin-identity.pub").read_text()
    result = admin("add-recipient", "--backup-recipient", str(backup))
    assert result.exit_code == 1
    assert "Error: " in result.output
    assert "already exists" in result.output
    assert backup.read_text() == "keep me"
    assert (admin.vault / "admin-identity.pub").read_text() == before
    assert not (admin.vault / "keys" / "recipient-2.key").exists()


def test_add_recipient_with_a_wrong_passphrase_changes_nothing(admin: AdminRunner) -> None:
    before = (admin.vault / "admin-identity.pub").read_text()
    result = admin("add-recipient", passphrase="not the passphrase")
    assert result.exit_code == 1
    assert "wrong passphrase" in result.output
    assert (admin.vault / "admin-identity.pub").read_text() == before


def test_add_recipient_has_help_with_an_example(admin: AdminRunner) -> None:
    result = admin("add-recipient", "--help")
    assert "Example:" in result.output
    assert "sealdrop-admin add-recipient --vault" in result.output


def test_a_v1_envelope_waiting_on_the_server_imports_after_the_rotation(
    admin: AdminRunner, tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    """A tip sealed by a server before v2 (envelope v1), imported into a rotated vault."""
    import secrets

    from admin_support import SealedEnvelope

    from crypto.encoding import b64encode
    from tests.vectors.generate import canonical, header, payload, plaintext

    classical = _make_classical(admin, admin_kdf)
    assert admin("add-recipient").exit_code == 0
    instance = FakeInstance(admin.identity())
    source = Source()
    instance.sources[source.source_id] = source.reply_key.public_key
    meta = {
        "answers": {},
        "kind": "message",
        "language": "en",
        "received": "2026-12-01",
        "reply_public_key": b64encode(bytes(source.reply_key.public_key)),
        "source_id": source.source_id,
        "submission_id": secrets.token_hex(16),
    }
    data = header([classical.public_key], file_key=(file_key := secrets.token_bytes(32)))
    data += payload(plaintext(b"sealed by a v1 server", canonical(meta)), file_key=file_key)
    assert data.startswith(b"sealdrop-envelope/v1\n")
    v1 = SealedEnvelope(secrets.token_hex(16), source.source_id, data)
    result = admin("import", str(instance.bundle(tmp_path / "b.sdb", [v1])))
    assert result.exit_code == 0, result.output
    shown = admin("show", "T1", "--json")
    assert "sealed by a v1 server" in shown.stdout
