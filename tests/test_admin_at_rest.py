"""The vault holds no plaintext: a canary submitted as text, answer, filename and file
content appears nowhere under the vault directory, database included."""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
from pathlib import Path

import pytest
import sqlcipher3.dbapi2 as sqlcipher
from admin_support import PASSPHRASE, AdminRunner, FakeInstance, Source, make_vault
from nacl.public import PrivateKey

from admin.schema import SCHEMA_VERSION
from admin.vault import connect_database, db_key
from crypto.envelope import MAGIC, Opener
from crypto.errors import NoMatchingKey
from crypto.keys import unlock_private_key


def _needles(canary: str) -> list[bytes]:
    return [
        canary.encode("utf-8"),
        canary.encode("utf-16-le"),
        canary.encode("utf-16-be"),
        canary.lower().encode("utf-8"),
    ]


def _every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.usefixtures("admin_kdf")
def test_no_plaintext_of_an_imported_canary_anywhere_in_the_vault(tmp_path: Path) -> None:
    canary = "CANARY" + secrets.token_hex(8)
    zh_canary = "金丝雀" + secrets.token_hex(4)
    file_body = os.urandom(100_000) + f"inside the file {canary}".encode() + os.urandom(1000)
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source()
    envelopes = instance.submit(
        source,
        f"My story {canary} {zh_canary}",
        answers={"where": f"city {canary}", "names": [zh_canary]},
        files=[
            (f"{canary}.txt", "text/plain", file_body),
            ("utf16.txt", "text/plain", canary.encode("utf-16")),
        ],
    )
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    # Everything staff do with the tip: import, view, search, cases, reply, export elsewhere.
    for args in (
        ("import", str(bundle), "--ack-out", str(tmp_path / "ack.sda")),
        ("inbox",),
        ("show", "T1"),
        ("search", canary),
        ("search", zh_canary[:2]),
        ("case", "new", "Case about the tip"),
        ("case", "add", "C1", "T1"),
        ("case", "status", "C1", "triaged"),
        ("case", "export", "C1", "--out", str(tmp_path / "evidence"), "--silent"),
        ("open", "T1", f"{canary}.txt", "--to", str(tmp_path)),
        ("reply", source.source_id[:8], "--message", "Thank you"),
        ("export-replies", "--out", str(tmp_path / "replies.sdr")),
    ):
        result = admin(*args)
        assert result.exit_code == 0, (args, result.output)
    # The plaintext really did come out where staff asked for it (so the needles are right).
    assert canary.encode() in (tmp_path / f"{canary}.txt").read_bytes()
    assert canary.encode() in (tmp_path / "evidence" / "report.md").read_bytes()

    files = _every_file(admin.vault)
    assert {p.relative_to(admin.vault).parts[0] for p in files} == {
        "admin-identity.pub",
        "keys",
        "vault.db",
        "content",
        "vault.lock",
    }
    for path in files:
        data = path.read_bytes()
        for needle in _needles(canary) + _needles(zh_canary):
            assert needle not in data, f"plaintext found in {path}"
    # No SQLite journal or temporary file ever lands in the vault.
    assert not [p for p in files if p.name.endswith(("-journal", "-wal", "-shm", ".tmp", ".part"))]


@pytest.mark.usefixtures("admin_kdf")
def test_stored_content_is_sealed_to_the_vault_key_not_the_recipient_key(tmp_path: Path) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    assert (
        admin(
            "import", str(instance.bundle(tmp_path / "b.sdb", instance.submit(Source(), "x")))
        ).exit_code
        == 0
    )
    stored = next((admin.vault / "content").glob("*.sdv")).read_bytes()
    assert stored.startswith(MAGIC)
    recipient = unlock_private_key(
        (admin.vault / "keys" / "recipient.key").read_text(), PASSPHRASE.encode()
    )
    with pytest.raises(NoMatchingKey):
        Opener([recipient]).open_bytes(stored)  # type: ignore[list-item]
    vault_key = unlock_private_key(
        (admin.vault / "keys" / "vault.key").read_text(), PASSPHRASE.encode()
    )
    opened, plain = Opener([vault_key]).open_bytes(stored)  # type: ignore[list-item]
    assert plain == b"x"
    assert opened.metadata["metadata"]["kind"] == "message"
    assert opened.metadata["instance_id"] == instance.instance_id


def test_the_database_key_is_the_documented_blake2b_of_the_vault_key() -> None:
    # docs/vault-format.md's vector, computed with the standard library's own BLAKE2b.
    vault_key = bytes(range(32))
    expected = hashlib.blake2b(b"", digest_size=32, key=vault_key, person=b"sealdrop-vdb-sqc")
    assert db_key(PrivateKey(vault_key)).hex() == expected.hexdigest()
    assert expected.hexdigest() == (
        "d1223078aeca8f0fc2d80a79f1a2daf20e7a59b66c16304be902634d7f38f06e"
    )


@pytest.mark.usefixtures("admin_kdf")
def test_the_database_file_is_not_sqlite_in_the_clear(tmp_path: Path) -> None:
    admin: AdminRunner = make_vault(tmp_path)
    data = (admin.vault / "vault.db").read_bytes()
    assert b"SQLite format 3" not in data
    assert b"CREATE TABLE" not in data
    with pytest.raises(sqlite3.DatabaseError, match="not a database"):
        sqlite3.connect(admin.vault / "vault.db").execute("SELECT * FROM sqlite_master")
    # The same file opens with the key derived from the vault key, and with nothing else.
    vault_key = unlock_private_key(
        (admin.vault / "keys" / "vault.key").read_text(), PASSPHRASE.encode()
    )
    assert isinstance(vault_key, PrivateKey)
    db = connect_database(admin.vault / "vault.db", db_key(vault_key))
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert version == str(SCHEMA_VERSION)
    db.close()
    with pytest.raises(sqlcipher.DatabaseError, match="not a database"):
        connect_database(admin.vault / "vault.db", bytes(32))
