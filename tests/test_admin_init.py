"""sealdrop-admin init: keys under a passphrase, admin-identity.pub, backup recipient."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from admin_support import PASSPHRASE, AdminRunner, FakeInstance, Source, make_vault, tree_digest
from click.testing import CliRunner

from admin.cli import main
from admin.secrets import new_key_file_cost
from crypto.envelope import Opener
from crypto.kdf import KEY_FILE_COST, TEST_COST, Argon2Cost
from crypto.keys import AdminIdentity, parse_key_file, unlock_private_key


def test_init_creates_the_vault_and_prints_the_fingerprint(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    vault = tmp_path / "vault"
    result = CliRunner().invoke(
        main, ["init", "--vault", str(vault)], env={"SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE}
    )
    assert result.exit_code == 0, result.output
    identity = AdminIdentity.from_text((vault / "admin-identity.pub").read_text())
    assert f"Fingerprint:    {identity.fingerprint}\n" in result.stdout
    assert f"Admin identity: {vault / 'admin-identity.pub'}" in result.stdout
    assert len(identity.recipients) == 1
    assert sorted(p.name for p in (vault / "keys").iterdir()) == [
        "recipient.key",
        "signing.key",
        "vault.key",
    ]
    assert stat.S_IMODE(vault.stat().st_mode) == 0o700
    for key in (vault / "keys").iterdir():
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert parse_key_file(key.read_text()).cost == TEST_COST
    recipient = unlock_private_key(
        (vault / "keys" / "recipient.key").read_text(), PASSPHRASE.encode()
    )
    assert bytes(recipient.public_key) == bytes(identity.recipients[0])  # type: ignore[union-attr]
    signing = unlock_private_key((vault / "keys" / "signing.key").read_text(), PASSPHRASE.encode())
    assert bytes(signing.verify_key) == bytes(identity.signer)  # type: ignore[union-attr]


def test_init_json(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    result = CliRunner().invoke(
        main,
        ["init", "--vault", str(tmp_path / "v"), "--json"],
        env={"SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE},
    )
    data = json.loads(result.stdout)
    assert set(data) == {"vault", "identity_file", "fingerprint", "recipients", "backup_key_file"}
    assert data["recipients"] == 1


def test_the_passphrase_is_asked_twice(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    vault = tmp_path / "vault"
    runner = CliRunner()
    mismatch = runner.invoke(
        main, ["init", "--vault", str(vault)], input="first passphrase\nother passphrase\n"
    )
    assert mismatch.exit_code != 0
    assert "do not match" in mismatch.output
    assert not vault.exists()
    ok = runner.invoke(main, ["init", "--vault", str(vault)], input=f"{PASSPHRASE}\n{PASSPHRASE}\n")
    assert ok.exit_code == 0, ok.output
    assert "Type the passphrase again" in ok.output


def test_a_short_passphrase_is_refused(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    result = CliRunner().invoke(
        main, ["init", "--vault", str(tmp_path / "v")], env={"SEALDROP_ADMIN_PASSPHRASE": "short"}
    )
    assert result.exit_code == 1
    assert "shorter than 8 characters" in result.output
    assert not (tmp_path / "v").exists()


def test_passphrase_file(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    secret = tmp_path / "pass.txt"
    secret.write_text(PASSPHRASE + "\n")
    runner = CliRunner()
    vault = tmp_path / "v"
    assert (
        runner.invoke(
            main, ["init", "--vault", str(vault), "--passphrase-file", str(secret)]
        ).exit_code
        == 0
    )
    result = runner.invoke(main, ["inbox", "--vault", str(vault), "--passphrase-file", str(secret)])
    assert result.exit_code == 0
    assert result.stdout == "No new tips.\n"
    missing = runner.invoke(
        main, ["inbox", "--vault", str(vault), "--passphrase-file", str(tmp_path / "nope")]
    )
    assert missing.exit_code == 1
    assert "cannot read the passphrase file" in missing.output


def test_init_refuses_an_existing_vault(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    admin = make_vault(tmp_path)
    before = tree_digest(admin.vault)
    result = admin("init", "--vault", str(admin.vault))
    assert result.exit_code == 1
    assert (
        "already exists and is not an empty directory: a vault is never overwritten"
        in result.output
    )
    assert tree_digest(admin.vault) == before


def test_backup_recipient_can_open_what_the_server_seals(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    backup = tmp_path / "usb" / "backup.key"
    backup.parent.mkdir()
    admin = AdminRunner(tmp_path / "vault")
    result = admin("init", "--vault", str(admin.vault), "--backup-recipient", str(backup))
    assert result.exit_code == 0, result.output
    assert f"Backup recipient key (locked with the same passphrase): {backup}" in result.stdout
    identity = admin.identity()
    assert len(identity.recipients) == 2
    backup_key = unlock_private_key(backup.read_text(), PASSPHRASE.encode())
    assert not (admin.vault / "keys" / "backup.key").exists()
    envelope = FakeInstance(identity).submit(Source(), "for both keys")[0]
    _opened, plain = Opener([backup_key]).open_bytes(envelope.data)  # type: ignore[list-item]
    assert plain == b"for both keys"


def test_backup_recipient_file_is_never_overwritten(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    backup = tmp_path / "backup.key"
    backup.write_text("old key")
    result = AdminRunner(tmp_path / "vault")(
        "init", "--vault", str(tmp_path / "vault"), "--backup-recipient", str(backup)
    )
    assert result.exit_code == 1
    assert "already exists. Choose a new file for the backup key." in result.output
    assert backup.read_text() == "old key"
    assert not (tmp_path / "vault").exists()


def test_key_file_cost_is_production_unless_the_test_switch_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SEALDROP_ADMIN_KDF", raising=False)
    assert new_key_file_cost() == KEY_FILE_COST
    monkeypatch.setenv("SEALDROP_ADMIN_KDF", "cheap")
    with pytest.raises(Exception, match="may only be 'test'"):
        new_key_file_cost()


def test_unlocking_reads_the_cost_from_the_key_file_not_the_environment(
    tmp_path: Path, admin_kdf: Argon2Cost, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = make_vault(tmp_path)
    monkeypatch.delenv("SEALDROP_ADMIN_KDF")
    assert admin("inbox").exit_code == 0


def test_init_where_it_cannot_write_leaves_nothing(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    result = AdminRunner(Path("/sys/sealdrop-vault"))("init", "--vault", "/sys/sealdrop-vault")
    assert result.exit_code == 1
    assert (
        "cannot create the vault in /sys/sealdrop-vault: Operation not permitted." in result.output
    )
    assert not Path("/sys/sealdrop-vault").exists()


def test_init_on_a_full_disk_leaves_nothing_half_made(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    import os
    import resource
    import signal
    import subprocess
    import sys

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    vault = tmp_path / "vault"
    backup = tmp_path / "backup.key"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "sealdrop-admin"),
            "init",
            "--vault",
            str(vault),
            "--backup-recipient",
            str(backup),
        ],
        env={**os.environ, "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=small_files,
    )
    assert done.returncode == 1, done.stderr
    assert "cannot create the vault in" in done.stderr
    assert "Nothing was left behind" in done.stderr
    assert not vault.exists()
    assert not backup.exists()
