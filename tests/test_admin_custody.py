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


def _newest_mark(admin: AdminRunner) -> str:
    entries = json.loads(admin("log", "--json").stdout)["entries"]
    return f"{entries[-1]['seq']}:{entries[-1]['hash']}"


def test_an_intact_log_verifies_and_prints_its_newest_mark(admin: AdminRunner) -> None:
    mark = _newest_mark(admin)
    assert mark.startswith("8:")
    result = admin("verify-log")
    assert result.exit_code == 0
    assert result.stdout == (
        "Custody log intact: 8 entries, hash chain verified.\n"
        f"Newest entry's mark (keep it apart from the vault): {mark}\n"
    )
    data = json.loads(admin("verify-log", "--json").stdout)
    assert data == {
        "entries": 8,
        "first_broken": None,
        "ok": True,
        "problem": None,
        "newest": mark,
        "expected": None,
    }


def test_a_kept_mark_still_fits_after_more_work(admin: AdminRunner) -> None:
    mark = _newest_mark(admin)
    assert admin("case", "grade", "C1", "B2").exit_code == 0
    result = admin("verify-log", "--expect", mark.upper().replace("8:", " 8:"))
    assert result.exit_code == 0, result.output
    assert "The mark you kept, entry 8, is in the chain unchanged." in result.stdout
    assert "Custody log intact: 9 entries" in result.stdout


def test_a_cut_off_tail_passes_the_chain_but_not_the_kept_mark(admin: AdminRunner) -> None:
    mark = _newest_mark(admin)
    _tamper(admin, "DELETE FROM custody WHERE seq >= 7")
    # What a chain alone cannot see: the shortened log is still a valid chain.
    assert admin("verify-log").exit_code == 0
    result = admin("verify-log", "--expect", mark)
    assert result.exit_code == 1
    assert "Error: entry 8 of the mark you kept is gone: the log was cut off" in result.output
    data = json.loads(admin("verify-log", "--json", "--expect", mark).stdout)
    assert data["ok"] is False
    assert data["first_broken"] is None
    assert data["newest"].startswith("6:")
    assert data["expected"] == mark


def test_a_rewritten_and_rehashed_log_passes_the_chain_but_not_the_kept_mark(
    admin: AdminRunner,
) -> None:
    mark = _newest_mark(admin)
    # Someone with the passphrase changes who viewed tip 1 and hashes the chain again.
    with open_vault(admin.vault, PASSPHRASE.encode(), "intruder") as vault:
        vault.db.execute("UPDATE custody SET actor = 'someone else' WHERE seq = 4")
        prev = custody.GENESIS
        for row in vault.db.execute("SELECT * FROM custody ORDER BY seq").fetchall():
            digest = custody.entry_hash(
                row["seq"],
                row["time"],
                row["actor"],
                row["action"],
                row["object"],
                row["details"],
                prev,
            )
            vault.db.execute(
                "UPDATE custody SET prev = ?, hash = ? WHERE seq = ?", (prev, digest, row["seq"])
            )
            prev = digest
        vault.save()
    assert admin("verify-log").exit_code == 0
    result = admin("verify-log", "--expect", mark)
    assert result.exit_code == 1
    assert (
        "entry 8 no longer has the hash of the mark you kept: the log was rewritten"
        in result.output
    )


@pytest.mark.parametrize(
    "text", ["", "8", "8:", ":" + "a" * 64, "0:" + "a" * 64, "8:" + "a" * 63, "8:" + "g" * 64]
)
def test_a_malformed_mark_is_refused_before_the_vault_is_opened(
    admin: AdminRunner, text: str
) -> None:
    result = admin("verify-log", "--expect", text, passphrase="wrong")
    assert result.exit_code == 1
    assert "a mark is SEQ:HASH as verify-log prints it" in result.output


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
