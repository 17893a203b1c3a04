"""$EDITOR drafts of replies and case notes live only on a tmpfs, in a 0700 folder that is
removed afterwards; with no tmpfs the command refuses and names --message / --text."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from admin_support import AdminRunner, FakeInstance, Source, make_vault

from crypto.kdf import Argon2Cost

ADMIN = Path(sys.executable).parent / "sealdrop-admin"


@pytest.fixture
def world(tmp_path: Path, admin_kdf: Argon2Cost) -> tuple[AdminRunner, Source]:
    admin = make_vault(tmp_path)
    instance = FakeInstance(admin.identity())
    source = Source()
    assert (
        admin(
            "import", str(instance.bundle(tmp_path / "b.sdb", instance.submit(source, "hi")))
        ).exit_code
        == 0
    )
    assert admin("case", "new", "A").exit_code == 0
    return admin, source


def _editor(tmp_path: Path) -> tuple[Path, Path]:
    """An editor that records where its draft is, the folder's filesystem and mode."""
    seen = tmp_path / "seen.txt"
    editor = tmp_path / "editor.sh"
    editor.write_text(
        "#!/bin/sh\n"
        f'echo "$1" >> {seen}\n'
        f'stat -f -c %T "$(dirname "$1")" >> {seen}\n'
        f'stat -c %a "$(dirname "$1")" >> {seen}\n'
        'printf "drafted text\\n" > "$1"\n'
        'touch "$1.swp"\n'  # as vim leaves beside the file
    )
    editor.chmod(0o755)
    return editor, seen


@pytest.mark.parametrize("command", ["reply", "note"])
@pytest.mark.parametrize("xdg", ["tmpfs", "on-disk", "unset"])
def test_the_draft_is_on_a_tmpfs_in_a_private_folder_removed_afterwards(
    world: tuple[AdminRunner, Source], tmp_path: Path, command: str, xdg: str
) -> None:
    admin, source = world
    editor, seen = _editor(tmp_path)
    env = {**os.environ, **admin.env(), "EDITOR": str(editor)}
    env.pop("XDG_RUNTIME_DIR", None)
    if xdg == "tmpfs":
        runtime = Path("/dev/shm") / f"runtime-{os.getpid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = str(runtime)
    elif xdg == "on-disk":
        env["XDG_RUNTIME_DIR"] = str(tmp_path)  # not a tmpfs: must not be used
    args = ["reply", source.source_id[:8]] if command == "reply" else ["case", "note", "C1"]
    try:
        done = subprocess.run(
            [str(ADMIN), *args, "--actor", "t"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        if xdg == "tmpfs":
            Path(env["XDG_RUNTIME_DIR"]).rmdir()
    assert done.returncode == 0, done.stderr
    path, fs_type, mode = seen.read_text().split("\n")[:3]
    draft = Path(path)
    assert fs_type == "tmpfs"
    assert mode == "700"
    if xdg == "tmpfs":
        assert draft.parent.parent == Path(env["XDG_RUNTIME_DIR"])
    else:
        assert draft.parent.parent == Path("/dev/shm")
    assert not draft.parent.exists(), "the draft folder (and the editor's swap file) is gone"
    assert tmp_path not in draft.parents


@pytest.mark.skipif(os.geteuid() != 0, reason="a private mount namespace needs root")
@pytest.mark.parametrize(
    ("args", "option"), [(["reply", "SOURCE"], "--message"), (["case", "note", "C1"], "--text")]
)
def test_with_no_tmpfs_the_editor_is_refused_and_the_option_named(
    world: tuple[AdminRunner, Source], tmp_path: Path, args: list[str], option: str
) -> None:
    admin, source = world
    editor, seen = _editor(tmp_path)
    args = [source.source_id[:8] if a == "SOURCE" else a for a in args]
    disk = tmp_path / "not-shm"
    disk.mkdir()
    env = {**os.environ, **admin.env(), "EDITOR": str(editor), "XDG_RUNTIME_DIR": str(tmp_path)}
    # In a mount namespace of its own, /dev/shm is a folder on disk: no tmpfs anywhere.
    script = f'mount --bind {disk} /dev/shm && exec "$@"'
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            script,
            "sh",
            str(ADMIN),
            *args,
            "--actor",
            "t",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("Error: no memory-only folder for the ")
    assert f"Give the text with {option} instead." in done.stderr
    assert not seen.exists(), "the editor never ran"
    assert not any(disk.iterdir())
