"""Faults of the SQLCipher vault: a disk that fills while the database grows, a vault
copied while a command writes to it, a damaged page after an upgrade (the message names
the kept old database). Each checks the message and that nothing accepted is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_vault

from crypto.kdf import Argon2Cost

ADMIN = Path(sys.executable).parent / "sealdrop-admin"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")


def _tips(admin: AdminRunner) -> list[int]:
    result = admin("inbox", "--all", "--limit", "1000", "--json")
    assert result.exit_code == 0, result.output
    return sorted(t["tip"] for t in json.loads(result.stdout)["tips"])


@needs_root
def test_a_disk_that_fills_while_the_database_grows_loses_nothing_accepted(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)], check=True)
    try:
        admin = make_vault(small)
        instance = FakeInstance(admin.identity())
        first = instance.bundle(tmp_path / "a.sdb", instance.submit(Source(), "accepted first"))
        assert admin("import", str(first)).exit_code == 0
        assert admin("case", "new", "kept").exit_code == 0
        assert admin("case", "add", "C1", "T1").exit_code == 0
        # Text only (no big file): the database itself, with its full-text index, outgrows
        # the disk, not a content file.
        envelopes = []
        for i in range(300):
            envelopes += instance.submit(Source(), f"第{i}份。" + "很长的证词。" * 400)
        big = instance.bundle(tmp_path / "big.sdb", envelopes)
        env = {**os.environ, **admin.env()}
        full = subprocess.run(
            [str(ADMIN), "import", str(big), "--silent", "--actor", "t"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert full.returncode == 1, full.stderr
        assert full.stderr.startswith("Error: ")
        assert "Traceback" not in full.stderr
        assert "disk" in full.stderr
        assert "run the same import again" in full.stderr or "run it again" in full.stderr
        # What was accepted before is all there, and the log is whole.
        assert admin("verify-log").exit_code == 0
        tips = _tips(admin)
        assert tips[0] == 1
        assert json.loads(admin("case", "show", "C1", "--json").stdout)["tips"] == [1]
        assert not list(admin.vault.glob("*-journal"))
        # Moved to a disk with room, the rest of the import completes.
        roomy = tmp_path / "roomy"
        shutil.copytree(admin.vault, roomy)
    finally:
        subprocess.run(["umount", str(small)], check=True)
    moved = AdminRunner(roomy)
    done = moved("import", str(big), "--json")
    assert done.exit_code == 0, done.output
    assert len(_tips(moved)) == 301
    assert moved("verify-log").exit_code == 0


def test_a_vault_copied_while_a_command_writes_opens_as_before_or_after_or_says_damaged(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    envelopes = []
    for i in range(150):
        envelopes += instance.submit(Source(), f"第{i}份。" + "证词。" * 250)
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    env = {**os.environ, **admin.env()}
    proc = subprocess.Popen(
        [str(ADMIN), "import", str(bundle), "--silent", "--actor", "t"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    copies: list[Path] = []
    while proc.poll() is None and len(copies) < 200:
        copy = tmp_path / f"copy{len(copies)}"
        try:
            shutil.copytree(admin.vault, copy)
        except (shutil.Error, FileNotFoundError):
            shutil.rmtree(copy, ignore_errors=True)  # a file vanished mid-copy: try again
            continue
        copies.append(copy)
        time.sleep(0.005)
    assert proc.wait(timeout=300) == 0
    assert copies, "no copy was made while the import ran"
    seen = set()
    for copy in copies:
        other = AdminRunner(copy)
        result = other("inbox", "--all", "--limit", "1", "--json")
        if result.exit_code != 0:  # a torn copy: refused with the damaged-database message
            assert "is damaged or was tampered with" in result.output, result.output
            seen.add("damaged")
            continue
        total = json.loads(result.stdout)["total"]
        assert total in (0, 150), total
        assert other("verify-log").exit_code == 0
        seen.add(total)
    # The vault itself has everything.
    assert len(_tips(admin)) == 150
    assert admin("verify-log").exit_code == 0
    print("copies:", len(copies), "outcomes:", seen)


def test_a_damaged_page_after_an_upgrade_names_the_kept_old_database(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    shutil.copytree(Path(__file__).parent / "fixtures" / "vault_v1", root)
    admin = AdminRunner(root)
    assert admin("upgrade").exit_code == 0
    db = root / "vault.db"
    data = bytearray(db.read_bytes())
    data[len(data) - 2000] ^= 0x40  # inside the last page
    db.write_bytes(bytes(data))
    result = admin("verify-log")
    assert result.exit_code == 1
    assert "is damaged or was tampered with" in result.output
    assert "restore the vault directory from your backup copy of it" in result.output
    assert "(vault.db.enc.v1)" in result.output
    assert "HMAC verification failed for page" in result.output
