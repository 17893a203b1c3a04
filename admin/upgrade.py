"""Converting a first-format vault (vault.db.enc) to the SQLCipher database (vault.db).

The old database is read whole into memory (as every command did before), copied table
by table into a new SQLCipher file beside it, and the copy is checked (every table's row
count, every page's MAC, SQLite's integrity check, the custody chain recomputed to the
same newest mark) before it takes the name vault.db. Only then is the old file renamed to
vault.db.enc.v1 (kept: the user deletes it once satisfied). A kill or full disk at any
point leaves either the old vault untouched (a leftover vault.db.upgrading is discarded by
the next run) or the verified new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from nacl.public import PrivateKey
from nacl.secret import SecretBox

from . import custody
from .errors import AdminError
from .schema import FIRST_SQLCIPHER_VERSION, create_schema, migrate, schema_version
from .vault import (
    DB_NAME,
    OLD_DB_NAME,
    Vault,
    connect_database,
    db_key,
    fsync_dir,
    is_disk_full,
)

OLD_MAGIC = b"sealdrop-vault-db/v1\n"
KEPT_SUFFIX = ".v1"
WORK_NAME = "vault.db.upgrading"
CHUNK_ROWS = 2000


@dataclass
class UpgradeResult:
    """What the upgrade copied and checked."""

    rows: dict[str, int] = field(default_factory=dict)
    custody_entries: int = 0
    newest_mark: str | None = None
    kept: str = OLD_DB_NAME + KEPT_SUFFIX
    already: bool = False


def _old_db_key(vault_key: PrivateKey) -> bytes:
    """The first format's secretbox key (see docs/vault-format.md, format 1)."""
    return blake2b(
        b"",
        digest_size=SecretBox.KEY_SIZE,
        key=bytes(vault_key),
        person=b"sealdrop-vaultdb",
        encoder=RawEncoder,
    )


def read_old_database(root: Path, vault_key: PrivateKey) -> sqlite3.Connection:
    """The first-format database, decrypted into an in-memory SQLite connection."""
    try:
        data = (root / OLD_DB_NAME).read_bytes()
    except OSError as exc:
        raise AdminError(f"cannot read the old vault database: {exc.strerror}.") from exc
    if not data.startswith(OLD_MAGIC):
        raise AdminError(
            f"{root / OLD_DB_NAME} is damaged: it does not start as a first-format vault "
            "database. Nothing was changed. Restore the vault directory from your backup."
        )
    try:
        plain = SecretBox(_old_db_key(vault_key)).decrypt(data[len(OLD_MAGIC) :])
    except nacl.exceptions.CryptoError as exc:
        raise AdminError(
            f"{root / OLD_DB_NAME} is damaged or was tampered with: it failed "
            "authentication. Nothing was changed. Restore the vault directory from your backup."
        ) from exc
    db = sqlite3.connect(":memory:")
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA temp_store = MEMORY")  # no sort or temp index may spill to /var/tmp
    try:
        db.deserialize(plain)
        db.execute("SELECT count(*) FROM meta").fetchone()
    except sqlite3.DatabaseError as exc:
        db.close()
        raise AdminError(
            "the old vault database decrypts but is not a valid database. Nothing was "
            "changed. Restore the vault directory from your backup."
        ) from exc
    return db


def _tables(db: sqlite3.Connection) -> list[str]:
    """Ordinary tables of the old database (FTS5's own shadow tables excluded)."""
    rows = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND name NOT LIKE 'tip_text_%' ORDER BY name"
    )
    return [str(r[0]) for r in rows]


def _has_rowid_alias(db: sqlite3.Connection, table: str) -> bool:
    info = list(db.execute(f"PRAGMA table_info({table})"))
    keys = [r for r in info if int(r["pk"])]
    return len(keys) == 1 and str(keys[0]["type"]).upper() == "INTEGER"


def _copy_table(old: sqlite3.Connection, new: sqlite3.Connection, table: str) -> int:
    """Copy every row, rowids included (some listings are in rowid order)."""
    columns = [str(r["name"]) for r in old.execute(f"PRAGMA table_info({table})")]
    if table == "tip_text":
        columns = ["tip_id", "field", "body"]
    keep_rowid = table == "tip_text" or not (_has_rowid_alias(old, table) or table == "meta")
    names = ["rowid", *columns] if keep_rowid else columns
    listed = ", ".join(names)
    marks = ", ".join("?" for _ in names)
    # The new database's schema_version is its own.
    where = " WHERE key != 'schema_version'" if table == "meta" else ""
    cur = old.execute(f"SELECT {listed} FROM {table}{where} ORDER BY rowid")  # noqa: S608
    count = 0
    while chunk := cur.fetchmany(CHUNK_ROWS):
        new.executemany(f"INSERT INTO {table} ({listed}) VALUES ({marks})", chunk)  # noqa: S608
        count += len(chunk)
    return count


def _count(db: sqlite3.Connection, table: str) -> int:
    return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def _verify(
    old: sqlite3.Connection, new: sqlite3.Connection, tables: list[str], before: custody.ChainCheck
) -> dict[str, int]:
    """Row counts per table, pages, integrity and custody chain of the copy; AdminError."""
    counts: dict[str, int] = {}
    for table in tables:
        want, got = _count(old, table), _count(new, table)
        if table == "meta":  # schema_version is the new database's own
            want, got = want - 1, got - 1
        if want != got:
            raise AdminError(
                f"the upgrade check failed: table {table} has {got} rows in the new database "
                f"but {want} in the old one. Nothing was changed; the old database is in use."
            )
        counts[table] = got
    damaged = [str(r[0]) for r in new.execute("PRAGMA cipher_integrity_check")]
    integrity = [str(r[0]) for r in new.execute("PRAGMA integrity_check")]
    if damaged or integrity != ["ok"]:
        raise AdminError(
            "the upgrade check failed: the new database does not read back intact "
            f"({'; '.join((damaged + integrity)[:3])}). Nothing was changed; the old "
            "database is in use. Check the disk, then run upgrade again."
        )
    after = custody.verify(new)
    if (after.entries, after.first_broken, after.newest) != (
        before.entries,
        before.first_broken,
        before.newest,
    ):
        raise AdminError(
            "the upgrade check failed: the custody log of the new database does not match "
            "the old one. Nothing was changed; the old database is in use."
        )
    return counts


def _finish(root: Path) -> None:
    """Keep the old database under its new name once vault.db is in place."""
    old = root / OLD_DB_NAME
    if old.exists():
        os.replace(old, root / (OLD_DB_NAME + KEPT_SUFFIX))
        fsync_dir(root)


def upgrade_vault(
    root: Path, passphrase: bytes, actor: str, say: Callable[[str], None]
) -> UpgradeResult:
    """Convert the vault in `root` to the SQLCipher format; see the module docstring."""
    vault = Vault(root, passphrase, actor)
    try:
        vault._acquire_lock()
        vault_key = vault._vault_key()
        if (root / DB_NAME).is_file():
            _finish(root)  # a kill after vault.db took its name and before this
            return UpgradeResult(already=True)
        return _convert(root, vault_key, actor, say)
    finally:
        vault.close()


def _convert(
    root: Path, vault_key: PrivateKey, actor: str, say: Callable[[str], None]
) -> UpgradeResult:
    old = read_old_database(root, vault_key)
    work = root / WORK_NAME
    try:
        version = schema_version(old)
        if version != 1:
            raise AdminError(
                f"{OLD_DB_NAME} says schema version {version}; this upgrade reads version 1 "
                "only. Nothing was changed."
            )
        before = custody.verify(old)
        tables = _tables(old)
        work.unlink(missing_ok=True)  # left by an interrupted upgrade: start again
        new = connect_database(work, db_key(vault_key), create=True)
        try:
            create_schema(new)
            new.commit()
            result = UpgradeResult()
            for table in tables:
                result.rows[table] = _copy_table(old, new, table)
                say(f"Copied {table}: {result.rows[table]:,} rows.")
            new.commit()
            result.rows = _verify(old, new, tables, before)
            result.custody_entries = before.entries
            result.newest_mark = str(before.newest) if before.newest else None
            say("Checked: row counts, every page's MAC, integrity, custody chain.")
            custody.append(
                new,
                actor,
                "upgrade",
                "vault",
                from_format=1,
                to_schema=FIRST_SQLCIPHER_VERSION,
                rows=result.rows,
                custody_mark=result.newest_mark,
            )
            new.commit()
            migrate(new)
        finally:
            new.close()
        fd = os.open(work, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(work, root / DB_NAME)
        fsync_dir(root)
        _finish(root)
        return result
    except BaseException as exc:
        with contextlib.suppress(OSError):
            work.unlink(missing_ok=True)
            for extra in root.glob(WORK_NAME + "-*"):  # its journal
                extra.unlink()
        full = is_disk_full(exc) or (
            isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
        )
        if full:
            need = old.execute("PRAGMA page_count").fetchone()[0] * 4096 * 3 // 2
            raise AdminError(
                f"the disk is full: the upgrade needs about {need // (1 << 20) + 1} MiB free "
                f"beside the old database. Nothing was changed: the old {OLD_DB_NAME} is "
                "still the vault. Free some space and run upgrade again."
            ) from exc
        raise
    finally:
        old.close()
