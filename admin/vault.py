"""The vault directory: locked key files, the encrypted database and encrypted content.

    DIR/admin-identity.pub      public identity for `sealdrop init --admin-identity`
    DIR/keys/recipient.key      X25519 key tips are sealed to (locked under the passphrase)
    DIR/keys/signing.key        Ed25519 key that signs replies and acks (locked)
    DIR/keys/vault.key          X25519 key only this vault uses: content and database at rest
    DIR/vault.db                the SQLCipher 4 database (every page encrypted and MACed)
    DIR/vault.db-journal        its rollback journal, only while a command writes (encrypted)
    DIR/content/ID.sdv          each imported envelope's content, sealed to the vault key
    DIR/vault.lock              held (flock) by the one command using the vault

The database is never on disk in the clear: SQLCipher encrypts each page (and each page
image in the journal) with a key derived from the vault key, so a command reads and
writes only the pages it needs, inside one transaction that a kill rolls back. Temporary
tables, sorts and indexes stay in memory (checked at open). Layout: docs/vault-format.md.
Vaults of the first format (vault.db.enc, the whole database sealed with secretbox) are
converted by `sealdrop-admin upgrade` (admin/upgrade.py).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import platform
import re
import shutil
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click
import sqlcipher3.dbapi2 as sqlcipher
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.signing import SigningKey

from crypto.envelope import EnvelopeReader, EnvelopeWriter, Opener, Sealer
from crypto.errors import FormatError, WrongPassphrase
from crypto.kdf import Argon2Cost
from crypto.keys import AdminIdentity, lock_private_key, unlock_private_key

from .errors import AdminError
from .schema import create_schema, migrate

DB_NAME = "vault.db"
OLD_DB_NAME = "vault.db.enc"  # the first format; `sealdrop-admin upgrade` converts it
DB_KEY_SIZE = 32
# SQLite result codes (the low byte of an extended code) that mean the database file is
# damaged (a page failed SQLCipher's HMAC or is not a database page) or the disk is full.
_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 11, 13, 26
KEY_NAMES = ("recipient", "signing", "vault")

# Making imported content durable. One fsync per content file cost more than half of a
# small-tip import: each forces its own journal commit. The database names content only
# once it is saved (once, at the end of an import), so the files need only be durable
# before that save, and syncfs(2) on the vault's filesystem does that for all of them in
# one journal commit. It is used only where it is as strong as fsync on every file:
# - Linux 5.8 or later: before that, syncfs did not report writeback errors (an I/O
#   error or full disk while writing back would go unnoticed); since then it reports
#   every error on the filesystem since the fd it is called on was opened, which is why
#   that fd is opened before the batch's first write.
# - ext2/3/4, XFS, Btrfs (statfs f_type): their syncfs commits the journal and flushes
#   the drive's cache. FUSE (ntfs-3g, exfat-fuse, sshfs) returns from syncfs without
#   asking its daemon to sync unless the daemon supports it, and FAT, exFAT and network
#   filesystems were not checked, so on those (and anywhere else) each file is fsynced
#   as it is written, as before.
# Measured (2,000 files of 3 KB on ext4, 2 cores shared, 8 runs): fsyncing each file just
# before the save instead of as it is written was only x0.8-1.6 as fast (every fsync
# still waits for its own journal commit); one syncfs was x1.7-3.6, within ~15% of not
# syncing at all. A writeback error syncfs reports may belong to another file on the
# filesystem: the import then fails and saves nothing, and a rerun completes it.
_SYNCFS_FILESYSTEMS = frozenset({0xEF53, 0x58465342, 0x9123683E})  # ext2/3/4, xfs, btrfs
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _syncfs_is_enough(fd: int) -> bool:
    """True if syncfs(fd) makes everything written on fd's filesystem durable (above)."""
    if _LIBC is None or not hasattr(_LIBC, "syncfs") or not hasattr(_LIBC, "fstatfs"):
        return False
    version = re.match(r"(\d+)\.(\d+)", platform.release())
    if version is None or (int(version[1]), int(version[2])) < (5, 8):
        return False
    statfs = ctypes.create_string_buffer(512)  # struct statfs; f_type is its first field
    if _LIBC.fstatfs(fd, statfs) != 0:
        return False
    f_type = ctypes.c_long.from_buffer(statfs).value & 0xFFFFFFFF
    return f_type in _SYNCFS_FILESYSTEMS


# Large content: start writing it back to the disk every few MiB while the rest is being
# opened and sealed, so disk and cipher overlap and the sync before the save finds little
# left to write. posix_fadvise(DONTNEED) on Linux starts writeback of the range without
# waiting (its pages are still dirty, so none is dropped); it is only a hint: the sync
# before the save is what makes content durable, and errors of this writeback are
# reported there. With 24 GB of RAM nothing else wrote back 1 GiB before that sync.
WRITE_BACK_BYTES = 8 * 1024 * 1024
# Content at least this large is fsynced on its own as soon as it is written: one journal
# commit is nothing next to writing it, while syncfs also waits for every other dirty file
# on the filesystem (a bundle copied there just before, say), which on a slow disk can
# take long. With 1 GiB of other dirty data, 2 x 512 MiB imported ~8% faster this way
# than with syncfs; small content still shares one syncfs.
FSYNC_ALONE_BYTES = WRITE_BACK_BYTES


class _WriteBack:
    """Passes writes to `out` and starts writeback of every WRITE_BACK_BYTES written."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self.written = 0
        self._started = 0

    def write(self, data: bytes) -> int:
        count = self._out.write(data)
        self.written += len(data)
        if WRITE_BACK_BYTES and self.written - self._started >= WRITE_BACK_BYTES:
            self._out.flush()
            with contextlib.suppress(OSError, AttributeError):  # a hint: absent off Linux
                os.posix_fadvise(
                    self._out.fileno(),
                    self._started,
                    self.written - self._started,
                    os.POSIX_FADV_DONTNEED,
                )
            self._started = self.written
        return count


def _syncfs(fd: int) -> None:
    if _LIBC is None or _LIBC.syncfs(fd) != 0:
        code = ctypes.get_errno() if _LIBC is not None else errno.ENOSYS
        raise OSError(code, os.strerror(code))


def db_key(vault_key: PrivateKey) -> bytes:
    """The SQLCipher key: BLAKE2b keyed with the vault key, its own personalisation, so it
    never equals the key content is sealed with (nor the first format's database key)."""
    return blake2b(
        b"",
        digest_size=DB_KEY_SIZE,
        key=bytes(vault_key),
        person=b"sealdrop-vdb-sqc",
        encoder=RawEncoder,
    )


def connect_database(path: Path, key: bytes, create: bool = False) -> sqlite3.Connection:
    """Open (or, with create, make) a SQLCipher database keyed with a raw 256-bit key.

    sqlcipher3.dbapi2 is a fork of the standard library's sqlite3 module with the same
    classes and methods, so the connection is typed as sqlite3's (it ships no stubs).
    """
    if create:
        # 0600 from the start (SQLite would use the umask); its journal copies the mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    elif not path.is_file():
        raise AdminError(f"the vault database {path} is missing. Restore it from your backup.")
    db: sqlite3.Connection = sqlcipher.connect(str(path), timeout=0)
    try:
        # The raw-key form skips SQLCipher's own PBKDF2: the key is already a 256-bit
        # secret (Argon2id guards the passphrase that unlocks vault.key).
        db.execute(f"PRAGMA key = \"x'{key.hex()}'\"")
        # Our own messages name what failed; SQLCipher's log lines on stderr would only
        # repeat it.
        db.execute("PRAGMA cipher_log_level = NONE")
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _keep_temp_in_memory(db)
        # A rollback journal, not WAL: the flock already allows one command at a time, so
        # WAL's concurrent readers buy nothing, and between commands the database is one
        # file (no -wal/-shm beside it) that a backup copies whole. FULL syncs the journal
        # before the database is touched, so a kill or power cut leaves before or after.
        mode = db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise AdminError(f"the vault database cannot use a rollback journal (got {mode}).")
        db.execute("PRAGMA synchronous = FULL")
        # 32 MiB of page cache (SQLite's default is 8): at 100,000 tips the indexes an
        # import updates at random places (envelope ids, submission ids) stay cached.
        db.execute("PRAGMA cache_size = -32768")
        db.row_factory = sqlcipher.Row
    except BaseException:
        db.close()
        raise
    return db


def _keep_temp_in_memory(db: sqlite3.Connection) -> None:
    """Refuse a SQLite build that would write temporary tables or sorts to files."""
    options = {str(r[0]) for r in db.execute("PRAGMA compile_options")}
    db.execute("PRAGMA temp_store = MEMORY")
    store = int(db.execute("PRAGMA temp_store").fetchone()[0])
    # TEMP_STORE=0 ignores the pragma and always uses files; 1-3 honour MEMORY (2).
    if store != 2 or "TEMP_STORE=0" in options:
        raise AdminError(
            "this SQLCipher build would write temporary data (decrypted sorts and search "
            "results) to files outside the vault, so sealdrop-admin refuses to run. Install "
            "the sqlcipher3-binary wheel (pip install sqlcipher3-binary), built with "
            "TEMP_STORE=2."
        )


def is_damage(exc: BaseException) -> bool:
    """True if a database error means a page is damaged or not ours (HMAC failed)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlcipher.DatabaseError)
        and code is not None
        and (code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB))
    )


def is_disk_full(exc: BaseException) -> bool:
    """True if a database error means the disk (or quota) is full."""
    code = getattr(exc, "sqlite_errorcode", None)
    return (
        isinstance(exc, sqlcipher.DatabaseError)
        and code is not None
        and (code & 0xFF == _SQLITE_FULL)
    )


def damaged_error(root: Path) -> AdminError:
    """The message for a database that fails SQLCipher's checks."""
    kept = [p.name for p in sorted(root.glob(OLD_DB_NAME + ".v1*"))]
    old = (
        f" The database from before the upgrade is still there ({kept[0]}): it lacks "
        "what was done since the upgrade."
        if kept
        else ""
    )
    return AdminError(
        f"the vault database ({root / DB_NAME}) is damaged or was tampered with: a page "
        "failed SQLCipher's authentication check. Nothing was changed. Stop using this "
        "copy and restore the vault directory from your backup copy of it (keep the "
        f"damaged one for inspection).{old}"
    )


def write_private(path: Path, data: bytes) -> None:
    """Write a new 0600 file atomically (temp name, fsync, rename); refuses to overwrite."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def fsync_dir(path: Path) -> None:
    """Make a rename in `path` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_vault(
    root: Path, passphrase: bytes, cost: Argon2Cost, backup_path: Path | None
) -> AdminIdentity:
    """Make a new vault: keys, empty encrypted database, admin-identity.pub."""
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise AdminError(
            f"{root} already exists and is not an empty directory: a vault is never "
            "overwritten. Choose a new directory with --vault."
        )
    if backup_path is not None and backup_path.exists():
        raise AdminError(f"{backup_path} already exists. Choose a new file for the backup key.")
    if backup_path is not None and not backup_path.parent.is_dir():
        raise AdminError(f"the folder {backup_path.parent} does not exist (for the backup key).")
    recipient, signing, vault_key = (
        PrivateKey.generate(),
        SigningKey.generate(),
        PrivateKey.generate(),
    )
    recipients = [recipient.public_key]
    backup = PrivateKey.generate() if backup_path is not None else None
    if backup is not None:
        recipients.append(backup.public_key)
    identity = AdminIdentity(tuple(recipients), signing.verify_key)
    existed = root.exists()
    backup_created = False
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        (root / "keys").mkdir(mode=0o700)
        (root / "content").mkdir(mode=0o700)
        for name, key in (("recipient", recipient), ("signing", signing), ("vault", vault_key)):
            text = lock_private_key(key, passphrase, cost)
            write_private(root / "keys" / f"{name}.key", text.encode("ascii"))
        (root / "vault.lock").touch(mode=0o600)
        db = connect_database(root / DB_NAME, db_key(vault_key), create=True)
        try:
            create_schema(db)
            db.commit()
        finally:
            db.close()
        fsync_dir(root)
        pub = identity.to_text().encode("ascii")
        write_private(root / "admin-identity.pub", pub)
        (root / "admin-identity.pub").chmod(0o644)
        if backup is not None and backup_path is not None:
            fd = os.open(backup_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            backup_created = True
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(lock_private_key(backup, passphrase, cost))
                out.flush()
                os.fsync(out.fileno())
    except BaseException as exc:
        # Leave no half-made vault behind: the folder was absent or empty when we began.
        if backup_created and backup_path is not None:
            backup_path.unlink(missing_ok=True)
        if existed:
            for child in root.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        else:
            shutil.rmtree(root, ignore_errors=True)
        if isinstance(exc, OSError | sqlcipher.DatabaseError):
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise AdminError(
                f"cannot create the vault in {root}: {why}. Nothing was left behind; "
                "choose a writable place with enough free space."
            ) from exc
        raise
    return identity


class Vault:
    """An unlocked vault for the length of one command."""

    def __init__(self, root: Path, passphrase: bytes, actor: str) -> None:
        self.root = root
        self.actor = actor
        self._passphrase = passphrase
        self._keys: dict[str, PrivateKey | SigningKey] = {}
        self._lock_fd: int | None = None
        # Content sealed into content/tmp but not yet durable and moved in (commit_content).
        self._pending: list[str] = []
        self._use_syncfs: bool | None = None
        self._sync_fd: int | None = None
        self._syncfs_needed = False
        self._db: sqlite3.Connection | None = None

    # --- opening -------------------------------------------------------------------
    def _acquire_lock(self) -> None:
        fd = os.open(self.root / "vault.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EACCES):
                raise AdminError(
                    "the vault is in use by another sealdrop-admin command (it holds the "
                    "vault lock). Wait for that command to finish, then try again."
                ) from exc
            raise
        self._lock_fd = fd

    def _load(self) -> None:
        path = self.root / DB_NAME
        try:
            self._db = connect_database(path, db_key(self._vault_key()))
            migrate(self._db)
        except sqlcipher.DatabaseError as exc:
            if is_damage(exc):
                raise damaged_error(self.root) from exc
            raise AdminError(f"cannot open the vault database {path}: {exc}.") from exc

    @property
    def db(self) -> sqlite3.Connection:
        """The open database; writes since the last save() are one pending transaction."""
        if self._db is None:
            raise AdminError("the vault database is not open.")
        return self._db

    def close(self) -> None:
        """Roll back what was not saved, release the lock and forget keys."""
        if self._db is not None:
            self._db.close()  # closing without commit rolls back (the journal undoes it)
            self._db = None
        self._keys.clear()
        self._passphrase = b""
        if self._sync_fd is not None:
            os.close(self._sync_fd)
            self._sync_fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # --- keys ----------------------------------------------------------------------
    def key(self, name: str) -> PrivateKey | SigningKey:
        """Unlock one private key file with the passphrase (once per command)."""
        if name not in self._keys:
            path = self.root / "keys" / f"{name}.key"
            try:
                text = path.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise AdminError(
                    f"cannot read the key file {path}. Restore it from your backup."
                ) from exc
            try:
                self._keys[name] = unlock_private_key(text, self._passphrase)
            except WrongPassphrase as exc:
                raise AdminError(
                    "wrong passphrase: nothing was changed. Type the vault passphrase again "
                    "(check Caps Lock and the keyboard layout)."
                ) from exc
            except FormatError as exc:
                raise AdminError(
                    f"the key file {path} is damaged ({exc}). Restore it from your backup."
                ) from exc
        return self._keys[name]

    def unlock_extra_recipient(self, path: Path) -> PrivateKey:
        """A recipient key file from outside the vault (e.g. the backup key)."""
        try:
            text = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise AdminError(f"cannot read the key file {path}. Check the path.") from exc
        try:
            try:
                key = unlock_private_key(text, self._passphrase)
            except WrongPassphrase:
                # The backup key keeps the passphrase of the vault it was made with.
                other = click.prompt(f"Passphrase of {path.name}", hide_input=True, err=True)
                key = unlock_private_key(text, other.encode("utf-8"))
        except WrongPassphrase as exc:
            raise AdminError(
                f"wrong passphrase for {path}: nothing was changed. A backup key opens with "
                "the passphrase of the vault it was made with."
            ) from exc
        except FormatError as exc:
            raise AdminError(f"{path} is not a Sealdrop private key file ({exc}).") from exc
        if not isinstance(key, PrivateKey):
            raise AdminError(f"{path} is a signing key, not a recipient key.")
        return key

    def recipient_key(self) -> PrivateKey:
        """The X25519 key tips are sealed to."""
        key = self.key("recipient")
        assert isinstance(key, PrivateKey)
        return key

    def signing_key(self) -> SigningKey:
        """The Ed25519 key that signs replies and acks."""
        key = self.key("signing")
        assert isinstance(key, SigningKey)
        return key

    def _vault_key(self) -> PrivateKey:
        key = self.key("vault")
        assert isinstance(key, PrivateKey)
        return key

    # --- database ------------------------------------------------------------------
    def save(self) -> None:
        """Commit this command's transaction (all of it or, after a kill, none of it)."""
        try:
            self.db.commit()
        except sqlcipher.DatabaseError as exc:
            if is_disk_full(exc):
                self.db.rollback()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from exc
            raise

    def damaged_pages(self) -> list[str]:
        """Every database page that fails SQLCipher's HMAC (reads the whole file)."""
        return [str(r[0]) for r in self.db.execute("PRAGMA cipher_integrity_check")]

    def meta(self, key: str) -> str | None:
        """One value of the meta table."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- content at rest ---------------------------------------------------------------
    def content_path(self, envelope_id: str) -> Path:
        """Where an envelope's content lives, sealed to the vault key."""
        return self.root / "content" / f"{envelope_id}.sdv"

    @contextlib.contextmanager
    def content_writer(self, envelope_id: str, record: dict[str, Any]) -> Iterator[EnvelopeWriter]:
        """Seal content to the vault key under a temp name; commit_content() moves it in."""
        tmp_dir = self.root / "content" / "tmp"
        if self._use_syncfs is None:
            tmp_dir.mkdir(mode=0o700, exist_ok=True)
            probe = os.open(tmp_dir, os.O_RDONLY)
            try:
                self._use_syncfs = _syncfs_is_enough(probe)
            finally:
                os.close(probe)
        if self._use_syncfs and self._sync_fd is None:
            self._sync_fd = os.open(tmp_dir, os.O_RDONLY)  # before the batch's first write
        tmp = tmp_dir / f"{envelope_id}.part"
        sealer = Sealer([self._vault_key().public_key])
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                sink = _WriteBack(out)
                with sealer.writer(sink, record) as writer:
                    yield writer
                synced = not self._use_syncfs or sink.written >= FSYNC_ALONE_BYTES
                if synced:
                    out.flush()
                    os.fsync(out.fileno())
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        self._pending.append(envelope_id)
        self._syncfs_needed = self._syncfs_needed or not synced

    def commit_content(self) -> None:
        """Make the content written since the last commit durable, then move it into place.

        Call it before save() writes a database that records this content: the saved
        database must never name content that a power cut could still take away, and
        content/ holds only complete files (a crash leaves the rest in content/tmp, which
        the next import discards and writes again).
        """
        if self._sync_fd is not None:
            fd, self._sync_fd = self._sync_fd, None
            try:
                if self._syncfs_needed:
                    _syncfs(fd)
            finally:
                os.close(fd)
                self._syncfs_needed = False
        tmp_dir = self.root / "content" / "tmp"
        while self._pending:
            envelope_id = self._pending.pop()
            os.replace(tmp_dir / f"{envelope_id}.part", self.content_path(envelope_id))
        fsync_dir(self.root / "content")

    def discard_partial_content(self) -> None:
        """Remove partial writes left by an interrupted import."""
        tmp_dir = self.root / "content" / "tmp"
        if tmp_dir.is_dir():
            for part in tmp_dir.iterdir():
                part.unlink()

    @contextlib.contextmanager
    def content_reader(self, envelope_id: str) -> Iterator[EnvelopeReader]:
        """Open stored content; call finish() on the reader before trusting it."""
        path = self.content_path(envelope_id)
        try:
            src: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise AdminError(
                f"the stored content of envelope {envelope_id} is missing ({exc.strerror}). "
                "Restore the vault directory from your backup."
            ) from exc
        with src:
            yield Opener([self._vault_key()]).reader(src)


def vault_exists(root: Path) -> bool:
    """True if `root` holds a vault database (of either format)."""
    return (root / DB_NAME).is_file() or (root / OLD_DB_NAME).is_file()


def needs_upgrade(root: Path) -> bool:
    """True if `root` holds only a first-format database (vault.db.enc)."""
    return (root / OLD_DB_NAME).is_file() and not (root / DB_NAME).is_file()


@contextlib.contextmanager
def open_vault(root: Path, passphrase: bytes, actor: str) -> Iterator[Vault]:
    """Lock, unlock and open a vault; changes are kept only by an explicit save()."""
    if not vault_exists(root):
        raise AdminError(
            f"no vault in {root}. Give the right --vault directory (or set SEALDROP_VAULT), "
            "or create one with `sealdrop-admin init --vault DIR`."
        )
    if needs_upgrade(root):
        raise AdminError(
            f"the vault in {root} has the first database format (vault.db.enc). Convert it "
            f"once with `sealdrop-admin upgrade --vault {root}` (it keeps the old database "
            "until the new one is verified), then run this command again."
        )
    vault = Vault(root, passphrase, actor)
    try:
        vault._acquire_lock()
        vault._load()
        try:
            yield vault
        except sqlcipher.DatabaseError as exc:
            if is_damage(exc):
                raise damaged_error(root) from exc
            if is_disk_full(exc):
                raise AdminError(
                    "the disk is full: this command's changes were not recorded and the "
                    "vault is as it was before it. Free some disk space and run it again."
                ) from exc
            raise
    finally:
        vault.close()


def row_dict(row: Any) -> dict[str, Any]:
    """A sqlite3.Row as a plain dict."""
    return {k: row[k] for k in row.keys()}  # noqa: SIM118 - Row has no items()
