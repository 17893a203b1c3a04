"""$EDITOR drafts (reply, case note) kept in memory-backed storage only.

A draft is plaintext a person is writing about a source. click.edit() would put it in
the system temp folder (/tmp, often on disk). Here it goes into a new 0700 folder on a
tmpfs ($XDG_RUNTIME_DIR, else /dev/shm; checked with statfs, not by name), which is
removed with everything the editor put beside it (swap and backup files) once the text
is read back. With no tmpfs, the draft is refused and the user is told to pass the text
on the command line instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import sys
import tempfile
from pathlib import Path

import click

from .errors import AdminError

TMPFS_MAGIC = 0x01021994
RAMFS_MAGIC = 0x858458F6
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def is_memory_filesystem(path: Path) -> bool:
    """True if `path` is on tmpfs or ramfs (statfs f_type)."""
    if _LIBC is None or not hasattr(_LIBC, "statfs"):
        return False
    buf = ctypes.create_string_buffer(512)  # struct statfs; f_type is its first field
    if _LIBC.statfs(os.fsencode(path), buf) != 0:
        return False
    f_type = ctypes.c_long.from_buffer(buf).value & 0xFFFFFFFF
    return f_type in (TMPFS_MAGIC, RAMFS_MAGIC)


def draft_base() -> Path | None:
    """The first writable memory-backed folder for drafts, or None."""
    candidates = [os.environ.get("XDG_RUNTIME_DIR", ""), "/dev/shm"]  # noqa: S108 - checked below
    for text in candidates:
        if not text:
            continue
        path = Path(text)
        if path.is_dir() and os.access(path, os.W_OK | os.X_OK) and is_memory_filesystem(path):
            return path
    return None


def edit_draft(hint: str, what: str, option: str) -> str | None:
    """Open $EDITOR on a draft holding `hint`; the text without # lines, None if unsaved."""
    base = draft_base()
    if base is None:
        raise AdminError(
            f"no memory-only folder for the {what} draft: $XDG_RUNTIME_DIR is unset or not "
            "a tmpfs and /dev/shm is missing, and a draft must never touch the disk. "
            f"Give the text with {option} instead."
        )
    folder = Path(tempfile.mkdtemp(prefix="sealdrop-draft-", dir=base))  # mode 0700
    try:
        draft = folder / f"{what}.txt"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(hint)
        click.edit(filename=str(draft))
        text = draft.read_text(encoding="utf-8")
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(folder)
    if text == hint:
        return None
    return "\n".join(x for x in text.splitlines() if not x.startswith("#")).strip()
