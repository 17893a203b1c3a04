"""Upgrading a vault made by the first format's code (tests/fixtures/vault_v1, made by
tests/fixtures/make_vault_v1.py on that code) to the SQLCipher database: every row kept,
the custody chain re-verified, the old database kept, and a kill or a full disk leaves the
old vault as it was."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from admin_support import PASSPHRASE, AdminRunner, FakeInstance, Source, tree_digest
from nacl.public import PrivateKey

from admin.upgrade import read_old_database
from admin.vault import connect_database, db_key
from crypto.keys import unlock_private_key

FIXTURE = Path(__file__).parent / "fixtures" / "vault_v1"
ADMIN = Path(sys.executable).parent / "sealdrop-admin"


def _old_vault(tmp_path: Path) -> AdminRunner:
    root = tmp_path / "vault"
    shutil.copytree(FIXTURE, root)
    os.chmod(root, 0o700)
    return AdminRunner(root)


def _vault_key(root: Path) -> PrivateKey:
    key = unlock_private_key((root / "keys" / "vault.key").read_text(), PASSPHRASE.encode())
    assert isinstance(key, PrivateKey)
    return key


def _rows(db: Any, table: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in db.execute(f"SELECT rowid, * FROM {table} ORDER BY rowid")]  # noqa: S608


TABLES = [
    "instances",
    "sources",
    "tips",
    "envelopes",
    "tip_text",
    "cases",
    "case_tips",
    "case_status_history",
    "case_notes",
    "case_tags",
    "replies",
    "custody",
]


def test_an_old_vault_is_refused_with_the_upgrade_command_named(tmp_path: Path) -> None:
    admin = _old_vault(tmp_path)
    before = tree_digest(admin.vault)
    for args in (("inbox",), ("show", "T1"), ("case", "add", "C1", "T2"), ("verify-log",)):
        result = admin(*args)
        assert result.exit_code == 1
        assert result.output.startswith("Error: the vault in ")
        assert f"sealdrop-admin upgrade --vault {admin.vault}" in result.output
    assert tree_digest(admin.vault) == before


def test_upgrade_keeps_every_row_and_the_custody_chain(tmp_path: Path) -> None:
    admin = _old_vault(tmp_path)
    old = read_old_database(admin.vault, _vault_key(admin.vault))
    old_rows = {t: _rows(old, t) for t in TABLES}
    old.close()
    assert all(old_rows.values()), "the fixture must hold a row in every table"
    old_file = (admin.vault / "vault.db.enc").read_bytes()

    result = admin("upgrade", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rows"] == {**{t: len(r) for t, r in old_rows.items()}, "meta": 0}
    assert report["custody_entries"] == len(old_rows["custody"])
    # The old database is kept, byte for byte, under a name no command opens.
    assert not (admin.vault / "vault.db.enc").exists()
    assert (admin.vault / "vault.db.enc.v1").read_bytes() == old_file
    assert not list(admin.vault.glob("vault.db.upgrading*"))

    new = connect_database(admin.vault / "vault.db", db_key(_vault_key(admin.vault)))
    for table in TABLES:
        got = _rows(new, table)
        if table == "custody":  # the chain goes on with one entry recording the upgrade
            assert got[:-1] == old_rows[table]
            assert got[-1][4:6] == ("upgrade", "vault")
        else:
            assert got == old_rows[table], table
    new.close()

    verified = admin("verify-log", "--json")
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.stdout)["entries"] == len(old_rows["custody"]) + 1
    old_mark = report["custody_mark"]
    assert admin("verify-log", "--expect", old_mark).exit_code == 0
    # Every kind of thing reads back through the commands.
    shown = json.loads(admin("show", "T1", "--json").stdout)
    assert shown["narrative"] == "我在乌鲁木齐看到警察抓人。金丝雀-v1-甲"
    assert [f["filename"] for f in shown["files"]] == ["photo.jpg"]
    out = tmp_path / "out"
    out.mkdir()
    assert admin("open", "T1", "photo.jpg", "--to", str(out)).exit_code == 0
    assert (out / "photo.jpg").read_bytes() == b"\xff\xd8\xff fake jpeg bytes"
    assert [h["tip"] for h in json.loads(admin("search", "乌鲁木齐", "--json").stdout)["hits"]] == [
        1
    ]
    assert [h["tip"] for h in json.loads(admin("search", "新疆", "--json").stdout)["hits"]] == [1]
    case = json.loads(admin("case", "show", "C1", "--json").stdout)
    assert (case["tips"], case["tags"], case["grade"], case["status"]) == (
        [1, 2],
        ["xinjiang"],
        "B2",
        "verifying",
    )
    assert [n["text"] for n in case["notes"]] == ["笔记：需要核实。"]  # noqa: RUF001
    sent = admin("export-replies", "--out", str(tmp_path / "r.sdr"), "--json")
    assert sent.exit_code == 0, sent.output
    # And the upgraded vault takes new tips from the instance it already trusts... or a
    # new one (the fixture's instance key is not kept, so trust a new instance here).
    instance = FakeInstance(admin.identity())
    bundle = instance.bundle(tmp_path / "b.sdb", instance.submit(Source(), "after the upgrade"))
    imported = admin("import", str(bundle), "--trust-new-instance")
    assert imported.exit_code == 0, imported.output
    assert json.loads(admin("inbox", "--json").stdout)["tips"][0]["tip"] == 3
    again = admin("upgrade")
    assert (again.exit_code, again.stdout) == (
        0,
        "This vault is already in the current format. Nothing to do.\n",
    )


_KILL_AT = """
import os, signal, sys
import admin.upgrade as upgrade
from admin.cli import main
setattr(upgrade, sys.argv[1], lambda *_a, **_k: os.kill(os.getpid(), signal.SIGKILL))
sys.argv = ["sealdrop-admin", "upgrade"]
main()
"""


@pytest.mark.parametrize("point", ["_copy_table", "_verify", "_finish"])
def test_a_killed_upgrade_leaves_a_vault_and_a_rerun_completes(tmp_path: Path, point: str) -> None:
    admin = _old_vault(tmp_path)
    old_file = (admin.vault / "vault.db.enc").read_bytes()
    env = {**os.environ, **admin.env(), "PYTHONDONTWRITEBYTECODE": "1"}
    killed = subprocess.run(
        [sys.executable, "-c", _KILL_AT, point],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if point == "_finish":  # the new database had been verified and put in place
        assert (admin.vault / "vault.db").is_file()
        assert admin("verify-log").exit_code == 0
    else:  # the old one is still the vault, untouched
        assert not (admin.vault / "vault.db").exists()
        assert (admin.vault / "vault.db.enc").read_bytes() == old_file
        assert "sealdrop-admin upgrade" in admin("inbox").output
    rerun = admin("upgrade")
    assert rerun.exit_code == 0, rerun.output
    assert (admin.vault / "vault.db.enc.v1").read_bytes() == old_file
    assert not list(admin.vault.glob("vault.db.upgrading*"))
    assert admin("verify-log").exit_code == 0
    assert len(json.loads(admin("inbox", "--all", "--json").stdout)["tips"]) == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_upgrade_on_a_full_disk_changes_nothing_and_says_how_much_is_needed(
    tmp_path: Path,
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=220k", "tmpfs", str(small)], check=True)
    try:
        admin = _old_vault(small)
        before = tree_digest(admin.vault)
        env = {**os.environ, **admin.env()}
        full = subprocess.run(
            [str(ADMIN), "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert full.returncode == 1, full.stderr
        assert "Error: the disk is full: the upgrade needs about" in full.stderr
        assert "Nothing was changed: the old vault.db.enc is still the vault." in full.stderr
        assert "Traceback" not in full.stderr
        assert tree_digest(admin.vault) == before
        # Moved to a disk with room, the same vault upgrades.
        roomy = tmp_path / "roomy"
        shutil.copytree(admin.vault, roomy)
        assert AdminRunner(roomy)("upgrade").exit_code == 0
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_an_additive_schema_step_is_applied_once_at_open_and_a_newer_vault_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import admin.schema as schema

    admin = _old_vault(tmp_path)
    assert admin("upgrade").exit_code == 0
    key = db_key(_vault_key(admin.vault))
    base = schema.SCHEMA_VERSION  # the step after every real one (3 is the workspace's)
    monkeypatch.setattr(
        schema,
        "MIGRATIONS",
        {**schema.MIGRATIONS, base + 1: "CREATE TABLE tip_flags (tip_id INTEGER PRIMARY KEY)"},
    )
    monkeypatch.setattr(schema, "SCHEMA_VERSION", base + 1)
    assert admin("inbox").exit_code == 0
    db = connect_database(admin.vault / "vault.db", key)
    assert schema.schema_version(db) == base + 1
    assert db.execute("SELECT count(*) FROM tip_flags").fetchone()[0] == 0
    db.close()
    assert admin("inbox").exit_code == 0  # applied once: a second open does nothing
    monkeypatch.setattr(schema, "SCHEMA_VERSION", base)
    older = admin("inbox")
    assert older.exit_code == 1
    assert (
        f"this vault has schema version {base + 1}, newer than this sealdrop-admin knows "
        f"({base})" in older.output
    )
