"""Sealed envelopes on disk: written under storage/tmp/HOST, fsynced, then renamed into place.

Only sealed bytes ever reach these files. Names are the envelope id (32 hex digits) plus
a suffix; anything else, and any symlink, is refused.

A committed file shows only the day it was written (atime/mtime set to midnight UTC); its
change and birth times, which no program can set, are blurred by rewriting it into a new
file later (`rebirth`, run hourly by `sealdrop serve`; docs/threat-model.md).

Several intake hosts may share storage/ (docs/scale-out.md). Each writes its partial
uploads in its own folder under tmp/, so one host's clean-up at start and stop never
touches another's uploads in progress; and a committed file stays locked by its writer
until the database has recorded it, so no host's start-up takes it for a crash's leftover.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import secrets
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from .write_behind import BATCH_BYTES, WriteBehind

SUFFIX = ".sealed"
PART_SUFFIX = ".part"
_ID = re.compile(r"[0-9a-f]{32}")
_HOST = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
_FLAGS = os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
# How many bytes an envelope may grow between two free-space checks.
SPACE_CHECK_BYTES = 1024 * 1024
# Past this many bytes an envelope's writes go to a WriteBehind thread (large files only).
WRITE_BEHIND_AFTER = 2 * 1024 * 1024


DAY_SECONDS = 86400


def day_start(when: float | None = None) -> int:
    """Midnight UTC of the day of WHEN (default: now), in seconds: the only time an
    envelope file shows."""
    moment = time.time() if when is None else when
    return int(moment // DAY_SECONDS * DAY_SECONDS)


class StorageError(Exception):
    """A path in storage is not what it should be (unexpected name, symlink, not a file)."""


class ReserveReached(OSError):
    """Accepting more would eat into the free-space reserve; nothing more is written."""

    def __init__(self) -> None:
        super().__init__(errno.ENOSPC, "free-space reserve reached")


def new_envelope_id() -> str:
    """A fresh random envelope id (16 bytes, hex)."""
    return secrets.token_hex(16)


def host_folder(host: str = "") -> str:
    """The name of this host's folder under storage/tmp: `host` (`[storage] host`), else
    this machine's host name (hashed if it is not a plain name)."""
    if host:
        if not _HOST.fullmatch(host):
            raise StorageError(
                f"[storage] host {host!r}: use letters, digits, '.', '_' or '-' "
                "(at most 63, not starting with a dot or dash)"
            )
        return host
    name = socket.gethostname()
    if _HOST.fullmatch(name):
        return name
    return "host-" + hashlib.blake2b(name.encode(), digest_size=8).hexdigest()


@contextlib.contextmanager
def _unless_held(path: str | Path) -> Iterator[bool]:
    """Hold an exclusive lock on `path` for the block if no writer holds one: yields True
    then, False when a writer holds it or the file is gone.

    Opened for writing: where flock is emulated with POSIX locks (NFS), an exclusive lock
    needs a descriptor open for writing."""
    try:
        fd = os.open(path, os.O_RDWR | _FLAGS)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def _check_id(envelope_id: str) -> str:
    if not _ID.fullmatch(envelope_id):
        raise StorageError("not an envelope id")
    return envelope_id


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PendingEnvelope:
    """An envelope being written under storage/tmp; commit() moves it into place."""

    def __init__(self, store: EnvelopeStore, envelope_id: str) -> None:
        self.envelope_id = envelope_id
        self._store = store
        self.tmp_path = store.tmp_dir / f"{envelope_id}{PART_SUFFIX}"
        # The file is locked for as long as it is being written (the kernel drops the lock
        # when the writing process dies), so remove_abandoned() can tell a live upload from
        # the leftover of a killed worker. Created and locked under a shared lock on tmp/,
        # so a sweep never sees a file before its lock is taken.
        with store.tmp_lock(fcntl.LOCK_SH):
            fd = os.open(self.tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FLAGS, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
        self.file: BinaryIO = os.fdopen(fd, "wb")
        self.committed = False
        self._unchecked = 0
        self._written = 0
        self._behind: WriteBehind | None = None
        self._inline = False  # no helper thread could be started: write here
        self._batch: list[bytes] = []
        self._batch_bytes = 0

    def write(self, data: bytes) -> int:
        """Append sealed bytes (ReserveReached once the disk is down to the reserve).

        Past WRITE_BEHIND_AFTER bytes they are written by a helper thread; an error there
        surfaces at a later write() or at commit()."""
        size = len(data)
        self._unchecked += size
        if self._unchecked >= SPACE_CHECK_BYTES:
            self._unchecked = 0
            self._store.ensure_space(size)
        self._written += size
        if self._inline or self._written <= WRITE_BEHIND_AFTER:
            return self.file.write(data)
        # Queued bytes must not change under the helper: copy anything but bytes.
        self._batch.append(data if type(data) is bytes else bytes(data))
        self._batch_bytes += size
        if self._batch_bytes >= BATCH_BYTES:
            self._hand_over()
        return size

    def _hand_over(self) -> None:
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if self._behind is None:
            try:
                self._behind = WriteBehind(self.file)
            except RuntimeError:  # "can't start new thread": slower, but nothing is lost
                self._inline = True
                for data in batch:
                    self.file.write(data)
                return
        self._behind.put(batch)

    def _write_pending(self) -> None:
        """Everything written so far is in the file object (not yet flushed)."""
        if self._batch:
            self._hand_over()
        if self._behind is not None:
            self._behind.finish()

    def commit(self, day: int | None = None) -> int:
        """Times set to the day, fsync, rename into storage/, fsync the directory; returns
        the size on disk.

        The file stays open and locked until release(), which the caller makes after the
        database has recorded it: until then a start-up's orphan sweep (maybe on another
        host sharing storage/) leaves it alone."""
        self._write_pending()
        self.file.flush()
        coarse = day_start() if day is None else day
        os.utime(self.file.fileno(), (coarse, coarse))
        os.fsync(self.file.fileno())
        size = os.fstat(self.file.fileno()).st_size
        final = self._store.path(self.envelope_id)
        os.rename(self.tmp_path, final)
        _fsync_dir(self._store.root)
        self.committed = True
        return size

    def release(self) -> None:
        """Close the committed file, dropping its lock: the database records it now."""
        self.file.close()

    def discard(self) -> None:
        """Remove the partial (or committed) file; safe to call more than once."""
        if self._behind is not None:
            self._behind.stop()
        self._batch.clear()
        if not self.file.closed:
            # On a full disk the final flush fails again; the descriptor is closed anyway
            # and the bytes were being thrown away, so the file must still be removed.
            with contextlib.suppress(OSError):
                self.file.close()
        target = self._store.path(self.envelope_id) if self.committed else self.tmp_path
        target.unlink(missing_ok=True)


class EnvelopeStore:
    """The envelope directory of one instance (DIR/storage)."""

    def __init__(self, root: Path, reserve_bytes: int = 0, host: str = "") -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp" / host_folder(host)
        self.reserve_bytes = reserve_bytes
        for directory in (self.root, self.tmp_dir.parent):
            info = os.lstat(directory)
            if not stat.S_ISDIR(info.st_mode):
                raise StorageError(f"{directory} is not a directory (or is a symlink)")
        self._tmp_ready = self._has_tmp_dir()  # checked once, as storage/ itself is

    def _has_tmp_dir(self, create: bool = False) -> bool:
        """Whether this host's folder exists (made first if `create`); never a symlink.

        Only writers make it, so a command run as another user (an export as root) never
        leaves a folder the service cannot write to."""
        if create:
            with contextlib.suppress(FileExistsError):
                self.tmp_dir.mkdir(mode=0o700)
        try:
            info = os.lstat(self.tmp_dir)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            raise StorageError(f"{self.tmp_dir} is not a directory (or is a symlink)")
        return True

    def free_bytes(self) -> int:
        """Free space on the storage disk, as an unprivileged writer sees it."""
        info = os.statvfs(self.root)
        return info.f_bavail * info.f_frsize

    def ensure_space(self, incoming: int = 0) -> None:
        """Raise ReserveReached if writing `incoming` more bytes would leave less free space
        than the reserve."""
        if self.reserve_bytes and self.free_bytes() - incoming < self.reserve_bytes:
            raise ReserveReached

    def path(self, envelope_id: str) -> Path:
        """Where a committed envelope lives."""
        return self.root / f"{_check_id(envelope_id)}{SUFFIX}"

    def begin(self, envelope_id: str | None = None) -> PendingEnvelope:
        """Start writing a new envelope under tmp/ (ReserveReached if the disk is at the
        reserve)."""
        self.ensure_space()
        if not self._tmp_ready:
            self._tmp_ready = self._has_tmp_dir(create=True)
        return PendingEnvelope(self, _check_id(envelope_id or new_envelope_id()))

    def open(self, envelope_id: str) -> BinaryIO:
        """Open a committed envelope for reading; refuses symlinks and non-files."""
        try:
            fd = os.open(self.path(envelope_id), os.O_RDONLY | _FLAGS)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise StorageError("refusing to follow a symlink in storage") from exc
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StorageError("envelope is not a regular file")
        return os.fdopen(fd, "rb")

    def exists(self, envelope_id: str) -> bool:
        """Whether a committed envelope file is present."""
        return self.path(envelope_id).is_file()

    def size(self, envelope_id: str) -> int:
        """Size on disk of a committed envelope."""
        return os.lstat(self.path(envelope_id)).st_size

    def delete(self, envelope_id: str) -> bool:
        """Remove a committed envelope; False if it was already gone."""
        path = self.path(envelope_id)
        try:
            if stat.S_ISLNK(os.lstat(path).st_mode):
                raise StorageError("refusing to follow a symlink in storage")
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(self.root)
        return True

    def remove_unrecorded(self, envelope_id: str, is_recorded: Callable[[str], bool]) -> bool:
        """Remove a committed envelope no database row names (a crash between the rename and
        the database commit); True if it was removed.

        A file its writer still holds is being recorded right now and is kept. The lock is
        taken before `is_recorded` asks the database again: a writer lets go only after its
        commit, so a row that exists by then is seen."""
        path = self.path(envelope_id)
        with _unless_held(path) as ours:
            if not ours or is_recorded(envelope_id):
                return False  # gone, being recorded by its writer, or recorded by now
            path.unlink()
        _fsync_dir(self.root)
        return True

    def rebirth(self, envelope_id: str, is_recorded: Callable[[str], bool]) -> bool:
        """Rewrite a recorded envelope into a new file (same bytes, same day) that replaces
        it, so its change and birth times become now instead of when the tip came; True if
        it was rewritten.

        Skipped: a file its writer still holds (not recorded yet), one no row names (a
        crash's leftover, or deleted meanwhile), or no room above the reserve. The copy is
        written like an upload (under tmp/HOST, locked, fsynced, renamed), so a crash
        leaves only a partial file that start-up removes. Readers keep reading the old file
        they opened. An ack applied during the copy may see its file come back: it is
        removed at once if the row is gone by then, else by the next start's orphan sweep."""
        path = self.path(envelope_id)
        with _unless_held(path) as ours:
            if not ours or not is_recorded(envelope_id):
                return False
            try:
                source = self.open(envelope_id)
            except FileNotFoundError:
                return False
            with source:
                info = os.fstat(source.fileno())
                try:
                    self.ensure_space(info.st_size)
                except ReserveReached:
                    return False
                copy = self.begin(envelope_id)
                try:
                    while chunk := source.read(1024 * 1024):
                        copy.write(chunk)
                    copy.commit(day_start(info.st_mtime))
                except BaseException:
                    copy.discard()
                    raise
                copy.release()
        if not is_recorded(envelope_id):
            path.unlink(missing_ok=True)  # its ack was applied while it was copied
            _fsync_dir(self.root)
        return True

    def ids(self) -> Iterator[str]:
        """Ids of committed envelopes (unexpected names are skipped)."""
        for entry in os.scandir(self.root):
            name = entry.name
            if name.endswith(SUFFIX) and entry.is_file(follow_symlinks=False):
                stem = name[: -len(SUFFIX)]
                if _ID.fullmatch(stem):
                    yield stem

    @contextlib.contextmanager
    def tmp_lock(self, operation: int) -> Iterator[None]:
        """flock on the tmp/ directory itself: shared to create a partial file, exclusive to
        sweep abandoned ones."""
        fd = os.open(self.tmp_dir, os.O_RDONLY | os.O_DIRECTORY | _FLAGS)
        try:
            fcntl.flock(fd, operation)
            yield
        finally:
            os.close(fd)  # releases the lock

    def remove_abandoned(self) -> int:
        """Remove partial uploads nobody is writing any more (their writer died: a worker
        killed mid-upload); safe while other workers are uploading. Returns how many."""
        if not self._has_tmp_dir():
            return 0
        removed = 0
        with self.tmp_lock(fcntl.LOCK_EX):
            for entry in os.scandir(self.tmp_dir):
                if not entry.is_file(follow_symlinks=False):
                    continue
                # Skipped: a live upload holds it, or it was committed or discarded meanwhile.
                with _unless_held(entry.path) as ours:
                    if ours:
                        os.unlink(entry.path)
                        removed += 1
        return removed

    def cleanup_tmp(self, older_than_seconds: float = 0) -> int:
        """Remove partial writes left by a crash; returns how many were removed.

        With several workers, pass a delay longer than any upload may stall so a live
        upload's file is never taken from under it.
        """
        if not self._has_tmp_dir():
            return 0
        removed = 0
        cutoff = time.time() - older_than_seconds
        for entry in os.scandir(self.tmp_dir):
            info = entry.stat(follow_symlinks=False)
            if older_than_seconds and info.st_mtime > cutoff:
                continue
            if stat.S_ISDIR(info.st_mode):
                continue
            os.unlink(entry.path)
            removed += 1
        return removed
