"""No plaintext outside the vault, ever: every command runs on a vault holding canaries,
and while it runs every file it (or its editor) holds open is read through /proc/PID/fd,
deleted ones included; afterwards the temp folders hold nothing new. The only plaintext
anywhere is what staff asked for (`open --to`, `case export --out`) and the draft on a
tmpfs while the editor has it."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from admin_support import PASSPHRASE, FakeInstance, Source, make_vault

from crypto.kdf import Argon2Cost

ADMIN = Path(sys.executable).parent / "sealdrop-admin"
CANARY = "CANARY" + secrets.token_hex(8)
ZH_CANARY = "金丝雀" + secrets.token_hex(4)
REPLY_CANARY = "REPLYCANARY" + secrets.token_hex(6)
NOTE_CANARY = "NOTECANARY" + secrets.token_hex(6)
V1_CANARY = "金丝雀-v1-甲"  # in tests/fixtures/vault_v1
FILLER_TIPS = 300  # enough that sorts and searches take a moment while being watched
SKIP_PREFIXES = (sys.prefix, sys.base_prefix, "/usr/", "/etc/", "/proc/", "/sys/", "/dev/null")


def _needles() -> list[bytes]:
    out = []
    for text in (CANARY, ZH_CANARY, REPLY_CANARY, NOTE_CANARY, V1_CANARY):
        out += [text.encode(), text.encode("utf-16-le"), text.lower().encode()]
    return out


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    kids = [int(x) for x in text.split()]
    return kids + [g for k in kids for g in _children(k)]


def _is_tmpfs(path: str) -> bool:
    done = subprocess.run(
        ["stat", "-f", "-c", "%T", path], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() == "tmpfs"


def _watch(
    proc: subprocess.Popen[bytes], allowed: list[Path], folders: list[Path], since: float
) -> tuple[int, list[str]]:
    """Poll the command's (and its children's) open files, and the temp folders, until it
    exits; returns how many open files were read and where a canary was found."""
    read: set[tuple[str, int]] = set()
    found: list[str] = []
    needles = _needles()
    rounds = 0
    while proc.poll() is None:
        rounds += 1
        if rounds % 20 == 0:  # files that exist while no process holds them open
            for path in _new_files(folders, since):
                if any(path.is_relative_to(a) for a in allowed):
                    continue
                try:
                    data = path.read_bytes() if path.stat().st_size < (64 << 20) else b""
                except OSError:
                    continue
                if any(n in data for n in needles) and not _is_tmpfs(str(path.parent)):
                    found.append(str(path))
                    break
        for pid in [proc.pid, *_children(proc.pid)]:
            try:
                fds = os.listdir(f"/proc/{pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if not link.startswith("/") or link.startswith(SKIP_PREFIXES):
                        continue
                    with open(f"/proc/{pid}/fd/{fd}", "rb") as held:  # deleted files too
                        data = held.read(64 << 20)
                except OSError:
                    continue
                read.add((link, len(data)))
                where = link.removesuffix(" (deleted)")
                if any(Path(where).is_relative_to(a) for a in allowed):
                    continue
                if where.startswith("/dev/shm/sealdrop-draft-") or (
                    "sealdrop-draft-" in where and _is_tmpfs(os.path.dirname(where))
                ):
                    continue  # the draft itself, on a tmpfs, is where it may be
                if any(n in data for n in needles):
                    found.append(link)
        time.sleep(0.0005)
    return len(read), found


def _new_files(folders: list[Path], since: float) -> list[Path]:
    """Files changed since `since`: all under our own folders, the top level of shared
    ones (where SQLite and tempfile put theirs)."""
    out = []
    for folder in folders:
        own = folder.is_relative_to(Path(__file__).parent.parent) or "pytest-of-" in str(folder)
        for p in (folder.rglob("*") if own else folder.iterdir()) if folder.is_dir() else []:
            try:
                if p.is_file() and p.stat().st_mtime >= since:
                    out.append(p)
            except OSError:
                continue
    return out


@pytest.mark.slow
def test_no_command_leaves_or_holds_plaintext_outside_the_vault(
    tmp_path: Path, admin_kdf: Argon2Cost
) -> None:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source()
    envelopes = []
    for n in range(FILLER_TIPS):
        envelopes += instance.submit(Source(), f"第{n}份举报。" + "新疆喀什的情况。" * 200)
    envelopes += instance.submit(
        source,
        f"My story {CANARY} {ZH_CANARY} " + "在新疆。" * 300,
        answers={"where": f"city {CANARY}", "names": [ZH_CANARY]},
        files=[(f"{CANARY}.txt", "text/plain", os.urandom(50_000) + CANARY.encode())],
    )
    bundle = instance.bundle(tmp_path / "b.sdb", envelopes)
    home, tmpdir, outputs = tmp_path / "home", tmp_path / "tmpdir", tmp_path / "outputs"
    for d in (home, tmpdir, outputs):
        d.mkdir()
    slow_editor = tmp_path / "editor.sh"
    slow_editor.write_text(
        '#!/bin/sh\nsleep 0.5\nprintf "%s\\n" "$SEALDROP_TEST_TEXT" > "$1"\nsleep 0.5\n'
    )
    slow_editor.chmod(0o755)
    tip = FILLER_TIPS + 1
    v1 = tmp_path / "v1"
    shutil.copytree(Path(__file__).parent / "fixtures" / "vault_v1", v1)
    commands: list[tuple[list[str], dict[str, str]]] = [
        (["import", str(bundle), "--silent", "--ack-out", str(tmp_path / "ack.sda")], {}),
        (["inbox"], {}),
        (["inbox", "--all", "--page", "3", "--json"], {}),
        (["show", f"T{tip}"], {}),
        (["show", f"T{tip}", "--json"], {}),
        (["search", CANARY], {}),
        (["search", ZH_CANARY[:3]], {}),
        (["search", "新疆"], {}),
        (["search", "喀"], {}),
        (["open", f"T{tip}", f"{CANARY}.txt", "--to", str(outputs)], {}),
        (["case", "new", "Case"], {}),
        (["case", "add", "C1", f"T{tip}", "T1", "T2"], {}),
        (["case", "note", "C1"], {"SEALDROP_TEST_TEXT": NOTE_CANARY}),
        (["case", "tag", "C1", "--add", "x"], {}),
        (["case", "status", "C1", "triaged"], {}),
        (["case", "grade", "C1", "B2"], {}),
        (["case", "show", "C1"], {}),
        (["case", "list"], {}),
        (["case", "export", "C1", "--out", str(outputs / "evidence")], {}),
        (["reply", source.source_id[:8]], {"SEALDROP_TEST_TEXT": REPLY_CANARY}),
        (["export-replies", "--out", str(tmp_path / "replies.sdr")], {}),
        (["log"], {}),
        (["log", "--object", f"tip:{tip}", "--json"], {}),
        (["verify-log"], {}),
        (["upgrade", "--vault", str(v1)], {}),
        (["inbox", "--vault", str(v1), "--all"], {}),
    ]
    base_env = {
        **os.environ,
        **admin.env(),
        "SEALDROP_ADMIN_PASSPHRASE": PASSPHRASE,
        "EDITOR": str(slow_editor),
        "HOME": str(home),
        "TMPDIR": str(tmpdir),
    }
    base_env.pop("XDG_RUNTIME_DIR", None)
    watched = [tmpdir, home, Path("/var/tmp"), Path("/dev/shm"), Path("/tmp")]
    files_read = 0
    for args, extra in commands:
        started = time.time()
        errors = tmp_path / "stderr.txt"
        with open(errors, "wb") as err:
            proc = subprocess.Popen(
                [str(ADMIN), *args, "--actor", "t"],
                env={**base_env, **extra},
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
            count, found = _watch(proc, [outputs, errors], watched, started)
            assert proc.wait(timeout=120) == 0, (args, errors.read_text())
        files_read += count
        assert found == [], f"{args}: plaintext in {found}"
        for path in _new_files(watched, started):
            if path.is_relative_to(tmp_path):
                if path.is_relative_to(home) or path.is_relative_to(tmpdir):
                    data = path.read_bytes()
                    assert not any(n in data for n in _needles()), f"{args}: {path}"
                continue
            data = path.read_bytes() if path.stat().st_size < (64 << 20) else b""
            assert not any(n in data for n in _needles()), f"{args}: plaintext in {path}"
        assert not list(Path("/dev/shm").glob("sealdrop-draft-*")), "a draft folder was left"
    # The watch did see the commands' files (the vault database, the bundle, ...).
    assert files_read > len(commands)
    # What staff asked for did come out in the clear, so the needles are right.
    assert CANARY.encode() in (outputs / f"{CANARY}.txt").read_bytes()
    # Inside the vault: only encrypted files.
    for path in admin.vault.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n in data for n in _needles()), f"plaintext in {path}"
