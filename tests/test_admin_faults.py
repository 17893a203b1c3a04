"""Faults around the vault: a lock held by another command, a damaged database or key
file, a wrong passphrase, and a disk that fills up during an import."""

from __future__ import annotations

import fcntl
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from admin_support import PASSPHRASE, AdminRunner, FakeInstance, Source, make_vault, tree_digest

from crypto.kdf import Argon2Cost

ADMIN = Path(sys.executable).parent / "sealdrop-admin"


@pytest.fixture
def admin(tmp_path: Path, admin_kdf: Argon2Cost) -> AdminRunner:
    vault = make_vault(tmp_path)
    instance = FakeInstance(vault.identity())
    bundle = instance.bundle(tmp_path / "b.sdb", instance.submit(Source(), "a first tip"))
    assert vault("import", str(bundle)).exit_code == 0
    assert vault("case", "new", "A case").exit_code == 0
    return vault


COMMANDS = [
    ("inbox",),
    ("show", "T1"),
    ("search", "first"),
    ("case", "new", "Another"),
    ("case", "add", "C1", "T1"),
    ("case", "status", "C1", "triaged"),
    ("case", "grade", "C1", "B2"),
    ("verify-log",),
]


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a))
def test_wrong_passphrase_changes_nothing(admin: AdminRunner, args: tuple[str, ...]) -> None:
    before = tree_digest(admin.vault)
    result = admin(*args, passphrase="wrong passphrase")
    assert result.exit_code == 1
    assert result.output.startswith("Error: wrong passphrase: nothing was changed.")
    assert tree_digest(admin.vault) == before


@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: "-".join(a))
def test_a_vault_in_use_by_another_command_is_refused(
    admin: AdminRunner, args: tuple[str, ...]
) -> None:
    before = tree_digest(admin.vault)
    with open(admin.vault / "vault.lock", "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = admin(*args)
    assert result.exit_code == 1
    assert "the vault is in use by another sealdrop-admin command" in result.output
    assert "Wait for that command to finish" in result.output
    assert tree_digest(admin.vault) == before


def test_the_lock_is_released_after_a_command(admin: AdminRunner) -> None:
    assert admin("inbox").exit_code == 0
    with open(admin.vault / "vault.lock", "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if still held


PAGE = 4096  # SQLCipher 4's default page size


@pytest.mark.parametrize(
    ("damage", "command"),
    [
        (lambda d: d[:100] + bytes([d[100] ^ 1]) + d[101:], "inbox"),  # page 1: every open
        (lambda d: d[: -PAGE + 40] + bytes([d[-PAGE + 40] ^ 1]) + d[-PAGE + 41 :], "verify-log"),
        (lambda d: d[: len(d) // 2], "verify-log"),
        (lambda d: b"SQLite format 3\x00" + d[16:], "inbox"),
    ],
    ids=["flipped-byte-first-page", "flipped-byte-last-page", "truncated", "not-a-vault-db"],
)
def test_a_damaged_vault_database_is_reported_and_left_alone(
    admin: AdminRunner, damage: object, command: str
) -> None:
    db = admin.vault / "vault.db"
    db.write_bytes(damage(db.read_bytes()))  # type: ignore[operator]
    before = tree_digest(admin.vault)
    result = admin(command)
    assert result.exit_code == 1
    assert f"Error: the vault database ({db}) is damaged or was tampered with" in result.output
    assert "restore the vault directory from your backup copy of it" in result.output
    assert "Traceback" not in result.output
    assert tree_digest(admin.vault) == before


def test_a_damaged_key_file_is_named(admin: AdminRunner) -> None:
    key = admin.vault / "keys" / "vault.key"
    key.write_text(key.read_text().replace("kdf: argon2id", "kdf: scrypt"))
    before = tree_digest(admin.vault)
    result = admin("inbox")
    assert result.exit_code == 1
    assert f"the key file {key} is damaged" in result.output
    assert tree_digest(admin.vault) == before


def test_no_vault_in_the_directory(tmp_path: Path, admin_kdf: Argon2Cost) -> None:
    result = AdminRunner(tmp_path / "nowhere")("inbox")
    assert result.exit_code == 1
    assert "no vault in" in result.output
    assert "sealdrop-admin init --vault DIR" in result.output


def test_missing_vault_option_is_a_usage_error(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from admin.cli import main

    result = CliRunner().invoke(main, ["inbox"], env={"SEALDROP_VAULT": None})
    assert result.exit_code == 2
    assert "Missing option '--vault'" in result.output


def _limited_file_size(limit: int) -> None:
    """In the child: files may not grow past `limit`; writes past it fail with EFBIG."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_disk_that_fills_during_import_keeps_what_was_imported_and_a_rerun_completes(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    first = instance.submit(Source(), "small tip before the big file")
    big = instance.submit(
        Source(), "tip with a video", files=[("v.mp4", "video/mp4", os.urandom(2 << 20))]
    )
    last = instance.submit(Source(), "small tip after the big file")
    bundle = instance.bundle(tmp_path / "b.sdb", [*first, *big, *last])
    env = {
        **os.environ,
        "SEALDROP_VAULT": str(admin.vault),
        "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE,
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    full = subprocess.run(
        [str(ADMIN), "import", str(bundle), "--silent"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: _limited_file_size(1 << 20),
    )
    assert full.returncode == 1, full.stderr
    assert "the disk is full (while storing envelope" in full.stderr
    assert big[1].envelope_id in full.stderr
    assert "2 envelope(s) were imported and saved; no ack was written" in full.stderr
    assert "run the same import again" in full.stderr
    assert not any((admin.vault / "content" / "tmp").iterdir())
    listed = json.loads(admin("inbox", "--json").stdout)["tips"]
    assert sorted(t["first_words"] for t in listed) == [
        "small tip before the big file",
        "tip with a video",
    ]
    # The tip whose file did not fit has its message but not yet its file.
    video_tip = next(t for t in listed if t["first_words"] == "tip with a video")
    assert video_tip["files"] == 0
    assert admin("verify-log").exit_code == 0

    ack = tmp_path / "ack.sda"
    rerun = admin("import", str(bundle), "--ack-out", str(ack), "--json")
    assert rerun.exit_code == 0, rerun.output
    data = json.loads(rerun.stdout)
    assert sorted(data["imported"]) == sorted([big[1].envelope_id, last[0].envelope_id])
    assert len(data["ack_envelopes"]) == 4
    shown = json.loads(admin("show", str(video_tip["tip"]), "--json").stdout)
    assert [f["filename"] for f in shown["files"]] == ["v.mp4"]


def _partial_bigger_than(folder: Path, size: int) -> bool:
    """True once a partial content file in `folder` has grown past `size` bytes."""
    try:
        return any(p.stat().st_size > size for p in folder.iterdir())
    except FileNotFoundError:  # the folder does not exist yet, or a file was just renamed
        return False


@pytest.mark.slow
def test_an_import_killed_midway_leaves_a_usable_vault_and_a_rerun_completes(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    import time

    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    envelopes = instance.submit(Source(), "before the big file")
    envelopes += instance.submit(
        Source(),
        "with a big file",
        files=[("big.bin", "application/octet-stream", os.urandom(40 << 20))],
    )
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    env = {
        **os.environ,
        "SEALDROP_VAULT": str(admin.vault),
        "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE,
    }
    proc = subprocess.Popen([str(ADMIN), "import", str(bundle), "--silent"], env=env)
    tmp_dir = admin.vault / "content" / "tmp"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if _partial_bigger_than(tmp_dir, 1 << 20):
            break
        time.sleep(0.002)
    assert proc.poll() is None, "the import finished before it could be interrupted"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    assert admin("verify-log").exit_code == 0
    rerun = admin("import", str(bundle), "--json")
    assert rerun.exit_code == 0, rerun.output
    assert (
        len(json.loads(rerun.stdout)["imported"])
        + len(json.loads(rerun.stdout)["already_imported"])
        == 3
    )
    assert not any(tmp_dir.iterdir())
    tips = json.loads(admin("inbox", "--json").stdout)["tips"]
    assert sorted(t["first_words"] for t in tips) == ["before the big file", "with a big file"]
