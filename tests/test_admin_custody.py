"""The hash-chained custody log and `verify-log`."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from admin_support import PASSPHRASE, AdminRunner, FakeInstance, Source, make_vault

from admin import custody
from admin.vault import open_vault
from crypto.kdf import Argon2Cost


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    vault = make_vault(tmp_path)
    instance = FakeInstance(vault.identity())
    envelopes = instance.submit(Source(), "tip one", files=[("a.txt", "text/plain", b"a")])
    assert vault("import", str(instance.bundle(tmp_path / "b.sdb", envelopes))).exit_code == 0
    for args in (
        ("show", "T1"),
        ("case", "new", "A"),
        ("case", "add", "C1", "T1"),
        ("case", "status", "C1", "triaged"),
        ("case", "grade", "C1", "A1"),
    ):
        assert vault(*args).exit_code == 0
    return vault


def _tamper(admin: AdminRunner, sql: str, *params: object) -> None:
    """Edit the decrypted database directly, as someone bypassing sealdrop-admin would."""
    with open_vault(admin.vault, PASSPHRASE.encode(), "intruder") as vault:
        vault.db.execute(sql, params)
        vault.save()


def test_an_intact_log_verifies(admin: AdminRunner) -> None:
    result = admin("verify-log")
    assert result.exit_code == 0
    assert result.stdout == "Custody log intact: 8 entries, hash chain verified.\n"
    data = json.loads(admin("verify-log", "--json").stdout)
    assert data == {"entries": 8, "first_broken": None, "ok": True, "problem": None}


def test_every_entry_has_the_documented_fields_and_links_to_the_previous(
    admin: AdminRunner,
) -> None:
    entries = json.loads(admin("log", "--json").stdout)["entries"]
    assert [e["action"] for e in entries] == [
        "trust-instance",
        "import",
        "import",
        "view",
        "case-new",
        "case-add",
        "status",
        "grade",
    ]
    assert set(entries[0]) == {
        "seq",
        "time",
        "actor",
        "action",
        "object",
        "details",
        "prev",
        "hash",
    }
    assert entries[0]["prev"] == custody.GENESIS
    for before, after in itertools.pairwise(entries):
        assert after["prev"] == before["hash"]
        assert after["seq"] == before["seq"] + 1
    assert entries[3]["actor"] == "tester"
    assert entries[3]["time"].endswith("Z")


def test_verify_log_names_an_edited_entry(admin: AdminRunner) -> None:
    _tamper(admin, "UPDATE custody SET details = ? WHERE seq = 7", '{"new": "corroborated"}')
    result = admin("verify-log")
    assert result.exit_code == 1
    assert (
        "the custody log is broken at entry 7: its content was changed after it was written"
        in result.output
    )
    data = json.loads(admin("verify-log", "--json").stdout)
    assert data["ok"] is False
    assert data["first_broken"] == 7


def test_verify_log_names_a_rehashed_entry_by_the_broken_link_after_it(admin: AdminRunner) -> None:
    with open_vault(admin.vault, PASSPHRASE.encode(), "intruder") as vault:
        row = vault.db.execute("SELECT * FROM custody WHERE seq = 4").fetchone()
        forged = custody.entry_hash(
            4,
            row["time"],
            "someone else",
            row["action"],
            row["object"],
            row["details"],
            row["prev"],
        )
        vault.db.execute(
            "UPDATE custody SET actor = 'someone else', hash = ? WHERE seq = 4", (forged,)
        )
        vault.save()
    result = admin("verify-log")
    assert result.exit_code == 1
    assert "broken at entry 5: its link to the previous entry does not match" in result.output


def test_verify_log_notices_a_removed_entry(admin: AdminRunner) -> None:
    _tamper(admin, "DELETE FROM custody WHERE seq = 3")
    result = admin("verify-log")
    assert result.exit_code == 1
    assert "broken at entry 4: entry 3 is missing" in result.output
