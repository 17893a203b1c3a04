"""Import durability: content is made durable (syncfs, or fsync per file) before the
database that names it is saved, and a kill between the two loses nothing."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_vault, tree_digest

import admin.vault as vault_module
from admin.vault import Vault
from crypto.kdf import Argon2Cost

# Runs `sealdrop-admin import` in a child that SIGKILLs itself when it reaches one method.
_KILL_AT = """
import os, signal, sys
from admin.cli import main
from admin.vault import Vault
setattr(Vault, sys.argv[1], lambda *_a, **_k: os.kill(os.getpid(), signal.SIGKILL))
sys.argv = ["sealdrop-admin", "import", sys.argv[2], "--silent"]
main()
"""


def _bundle(admin: AdminRunner, path: Path) -> tuple[Path, list[str]]:
    instance = FakeInstance(admin.identity())
    envelopes = instance.submit(Source(), "first tip", files=[("a.pdf", "application/pdf", b"A")])
    envelopes += instance.submit(Source(), "second tip", files=[("b.jpg", "image/jpeg", b"B")])
    return instance.bundle(path, envelopes), sorted(e.envelope_id for e in envelopes)


@pytest.mark.parametrize("point", ["commit_content", "save"])
def test_a_kill_between_storing_content_and_saving_the_database_loses_nothing(
    tmp_path: Path, admin_kdf: Argon2Cost, point: str
) -> None:
    admin = make_vault(tmp_path)
    bundle, ids = _bundle(admin, tmp_path / "b.sdb")
    database = tree_digest(admin.vault)["vault.db"]
    env = {**os.environ, **admin.env(), "PYTHONDONTWRITEBYTECODE": "1"}
    killed = subprocess.run(
        [sys.executable, "-c", _KILL_AT, point, str(bundle)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    content, tmp_dir = admin.vault / "content", admin.vault / "content" / "tmp"
    # Before commit_content the sealed copies wait in content/tmp; after it they are in
    # place. Either way the database is the one from before the import (the commit never
    # ran; a journal left behind is rolled back by the next open).
    waiting = sorted(p.name for p in tmp_dir.iterdir())
    in_place = sorted(p.name for p in content.glob("*.sdv"))
    if point == "commit_content":
        assert (waiting, in_place) == ([f"{i}.part" for i in ids], [])
    else:
        assert (waiting, in_place) == ([], [f"{i}.sdv" for i in ids])
    assert tree_digest(admin.vault)["vault.db"] == database
    assert json.loads(admin("inbox", "--json").stdout)["tips"] == []
    assert admin("verify-log").exit_code == 0

    rerun = admin("import", str(bundle), "--json")
    assert rerun.exit_code == 0, rerun.output
    assert sorted(json.loads(rerun.stdout)["imported"]) == ids
    assert not any(tmp_dir.iterdir())
    assert sorted(p.name for p in content.glob("*.sdv")) == [f"{i}.sdv" for i in ids]
    tips = json.loads(admin("inbox", "--json").stdout)["tips"]
    assert sorted(t["first_words"] for t in tips) == ["first tip", "second tip"]
    out = tmp_path / "out"
    out.mkdir()
    for tip, name, data in ((1, "a.pdf", b"A"), (2, "b.jpg", b"B")):
        opened = admin("open", f"T{tip}", name, "--to", str(out))
        assert opened.exit_code == 0, opened.output
        assert (out / name).read_bytes() == data
    assert admin("verify-log").exit_code == 0


@pytest.mark.parametrize(
    ("use_syncfs", "alone_bytes"),
    [(True, 1 << 20), (True, 1), (False, 1 << 20)],
    ids=["syncfs", "syncfs-but-all-large-enough-to-fsync-alone", "fsync-each-file"],
)
def test_content_is_durable_before_the_database_that_names_it_is_saved(
    tmp_path: Path,
    admin_kdf: Argon2Cost,
    monkeypatch: pytest.MonkeyPatch,
    use_syncfs: bool,
    alone_bytes: int,
) -> None:
    if use_syncfs and sys.platform != "linux":
        pytest.skip("syncfs(2) is Linux only")
    admin = make_vault(tmp_path)
    bundle, ids = _bundle(admin, tmp_path / "b.sdb")
    # Spies around the real calls: the order in which content is written, synced and the
    # database saved.
    events: list[tuple[str, str]] = []
    real_syncfs, real_fsync, real_save = vault_module._syncfs, os.fsync, Vault.save
    real_writer = Vault.content_writer

    def syncfs(fd: int) -> None:
        events.append(("syncfs", ""))
        real_syncfs(fd)

    def fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    @contextlib.contextmanager
    def writer(self: Vault, envelope_id: str, record: dict[str, Any]) -> Iterator[Any]:
        with real_writer(self, envelope_id, record) as sealed:
            yield sealed
        events.append(("written", envelope_id))

    def save(self: Vault) -> None:
        named = [row[0] for row in self.db.execute("SELECT envelope_id FROM envelopes")]
        events.append(("db", ",".join(sorted(named))))
        for envelope_id in named:  # in place (not in content/tmp) when the commit names it
            assert (self.root / "content" / f"{envelope_id}.sdv").is_file()
        real_save(self)

    monkeypatch.setattr(vault_module, "_syncfs_is_enough", lambda _fd: use_syncfs)
    monkeypatch.setattr(vault_module, "FSYNC_ALONE_BYTES", alone_bytes)
    monkeypatch.setattr(vault_module, "_syncfs", syncfs)
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(Vault, "content_writer", writer)
    monkeypatch.setattr(Vault, "save", save)

    assert admin("import", str(bundle)).exit_code == 0
    saved = max(i for i, (kind, _) in enumerate(events) if kind == "db")
    assert events[saved] == ("db", ",".join(ids))
    for envelope_id in ids:
        written = events.index(("written", envelope_id))
        durable = [
            i
            for i, (kind, what) in enumerate(events)
            if (kind == "syncfs" and i > written)
            or (kind == "fsync" and what.endswith(f"/{envelope_id}.part"))
        ]
        assert durable, f"{envelope_id} was never made durable"
        assert durable[0] < saved, f"{envelope_id} was made durable only after the save"
    syncfs_used = use_syncfs and alone_bytes > 1
    assert [kind for kind, _ in events].count("syncfs") == (1 if syncfs_used else 0)
    fsynced = [what for kind, what in events if kind == "fsync" and what.endswith(".part")]
    assert len(fsynced) == (0 if syncfs_used else len(ids))
