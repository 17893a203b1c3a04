"""Importing an export bundle into the vault, one envelope at a time.

A bundle is read twice: first its structure (signed manifest, every listed envelope
present, nothing after the end), so a truncated or corrupt transfer changes nothing;
then each envelope is opened, checked and re-sealed to the vault key. An envelope that
fails to open is reported by id and skipped; everything else is kept.
"""

from __future__ import annotations

import errno
import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.encoding import RawEncoder
from nacl.signing import VerifyKey

from crypto.bundle import BundleReader, BundleTruncated, Manifest, ManifestEntry
from crypto.encoding import b64decode, b64encode
from crypto.envelope import Opener
from crypto.errors import CryptoError, FormatError
from crypto.keys import RecipientKey, fingerprint_digits, signer_from_text, signer_to_text
from crypto.xwing import PUBLIC_KEY_BYTES as XWING_PUBLIC_KEY_BYTES
from crypto.xwing import XWingPublicKey

from . import custody
from .errors import AdminError
from .vault import Vault

_HEX32 = re.compile(r"\A[0-9a-f]{32}\Z")
_DAY = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
MAX_NARRATIVE_BYTES = 16 * 1024 * 1024


class SkipEnvelope(Exception):
    """This envelope cannot be imported; the reason is shown to staff."""


@dataclass
class ImportResult:
    """What one import did."""

    instance_id: str
    instance_fingerprint: str
    new_instance: bool
    imported: list[str] = field(default_factory=list)
    already: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    tips: list[int] = field(default_factory=list)
    stopped: str | None = None

    @property
    def in_vault(self) -> list[str]:
        """Every envelope of this bundle the vault now holds: what the ack lists."""
        return sorted(self.imported + self.already)


def instance_fingerprint(key: VerifyKey) -> str:
    """Digits staff compare with `sealdrop` on the server to recognise an instance."""
    return fingerprint_digits(key.encode(RawEncoder))


def scan_bundle(path: Path, advance: Callable[[int], None]) -> Manifest:
    """Check a bundle's whole structure without decrypting anything."""
    try:
        with open(path, "rb") as src:
            reader = BundleReader(_Counting(src, advance))
            for _entry, _body in reader.entries():
                pass
            return reader.manifest
    except FileNotFoundError as exc:
        raise AdminError(f"no file {path}. Check the path of the bundle.") from exc
    except IsADirectoryError as exc:
        raise AdminError(f"{path} is a folder, not a bundle file.") from exc
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}.") from exc
    except BundleTruncated as exc:
        raise AdminError(
            f"the bundle {path.name} is truncated ({exc}). Nothing was imported. "
            "Copy the bundle from the transfer device again, or export it again on the server."
        ) from exc
    except CryptoError as exc:
        raise AdminError(
            f"{path.name} is not a valid Sealdrop bundle or is damaged ({exc}). Nothing was "
            "imported. Copy it again, or export a new bundle on the server."
        ) from exc


def check_instance(vault: Vault, manifest: Manifest, trust_new: bool) -> bool:
    """Trust on first use: remember the first instance; refuse others unless told to."""
    key_text = signer_to_text(manifest.instance_key)
    rows = vault.db.execute("SELECT instance_id, instance_key FROM instances").fetchall()
    if not rows:
        _remember_instance(vault, manifest, key_text)
        return True
    for row in rows:
        if row["instance_id"] == manifest.instance_id and row["instance_key"] == key_text:
            return False
    if not trust_new:
        known = ", ".join(
            f"{r['instance_id']} ({instance_fingerprint(signer_from_text(r['instance_key']))})"
            for r in rows
        )
        raise AdminError(
            f"this bundle comes from instance {manifest.instance_id} with key fingerprint "
            f"{instance_fingerprint(manifest.instance_key)}, but this vault imports from "
            f"{known}. Nothing was imported. If you really moved to a new server, compare "
            "the fingerprint with the server's and run import again with --trust-new-instance."
        )
    _remember_instance(vault, manifest, key_text)
    return True


def _remember_instance(vault: Vault, manifest: Manifest, key_text: str) -> None:
    vault.db.execute(
        "INSERT OR REPLACE INTO instances VALUES (?, ?, ?)",
        (manifest.instance_id, key_text, custody.now()),
    )
    custody.append(
        vault.db,
        vault.actor,
        "trust-instance",
        f"instance:{manifest.instance_id}",
        fingerprint=instance_fingerprint(manifest.instance_key),
        instance_key=key_text,
    )


def _checked_metadata(
    meta: dict[str, Any], entry: ManifestEntry, fallback_day: str
) -> dict[str, Any]:
    """The metadata fields the vault relies on, validated."""
    kind = meta.get("kind")
    if kind not in ("message", "file"):
        raise SkipEnvelope(f"unknown envelope kind {kind!r}")
    if meta.get("source_id") != entry.source_id:
        raise SkipEnvelope("its sealed source id does not match the bundle manifest")
    submission = meta.get("submission_id")
    if not (isinstance(submission, str) and _HEX32.match(submission)):
        submission = entry.envelope_id
    received = meta.get("received")
    if not (isinstance(received, str) and _DAY.match(received)):
        received = fallback_day
    answers = meta.get("answers", {})
    if not isinstance(answers, dict):
        raise SkipEnvelope("its questionnaire answers are malformed")
    filename = meta.get("filename") if kind == "file" else None
    if filename is not None and not isinstance(filename, str):
        raise SkipEnvelope("its filename is malformed")
    reply_key = meta.get("reply_public_key")
    try:
        b64decode(str(reply_key), 32)
    except FormatError:
        reply_key = None
    # A hybrid reply key (servers since envelope v2) is preferred for sealing replies.
    hybrid_key = meta.get("reply_xwing_public_key")
    try:
        XWingPublicKey(b64decode(str(hybrid_key), XWING_PUBLIC_KEY_BYTES))
    except FormatError:
        hybrid_key = None
    content_type = meta.get("content_type")
    language = meta.get("language")
    return {
        "kind": kind,
        "submission_id": submission,
        "received": received,
        "answers": answers,
        "filename": filename or (f"{entry.envelope_id}.bin" if kind == "file" else None),
        "content_type": content_type if isinstance(content_type, str) else None,
        "language": language if isinstance(language, str) else None,
        "reply_key": reply_key,
        "reply_xwing_key": hybrid_key,
    }


def _tip_for(
    db: sqlite3.Connection, meta: dict[str, Any], envelope_id: str, source_id: str, instance: str
) -> int:
    """The tip of this envelope's submission, made on first sight."""
    row = db.execute(
        "SELECT tip_id, source_id, narrative FROM tips WHERE submission_id = ?",
        (meta["submission_id"],),
    ).fetchone()
    if row is not None:
        clash = row["source_id"] != source_id or (
            meta["kind"] == "message" and row["narrative"] is not None
        )
        if not clash:
            return int(row["tip_id"])
        # Never mix two sources, or two messages, into one tip: keep this one apart.
        meta["submission_id"] = envelope_id
    cur = db.execute(
        "INSERT INTO tips (submission_id, source_id, instance_id, received, imported)"
        " VALUES (?, ?, ?, ?, ?)",
        (meta["submission_id"], source_id, instance, meta["received"], custody.now()),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def answer_text(value: Any) -> str:
    """An answer as one line of text (lists joined with commas)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _record_message(db: sqlite3.Connection, tip: int, meta: dict[str, Any], text: str) -> None:
    db.execute(
        "UPDATE tips SET narrative = ?, answers = ?, language = ? WHERE tip_id = ?",
        (text, json.dumps(meta["answers"], ensure_ascii=False), meta["language"], tip),
    )
    # One executemany: the full-text rows were a tenth of a small-tip import.
    rows = [(tip, "narrative", text)]
    rows += [(tip, q, answer_text(v)) for q, v in sorted(meta["answers"].items())]
    db.executemany("INSERT INTO tip_text VALUES (?, ?, ?)", rows)


def _import_one(
    vault: Vault,
    opener: Opener,
    entry: ManifestEntry,
    body: Any,
    manifest: Manifest,
) -> int:
    """Open one envelope into the vault; returns its tip id."""
    try:
        reader = opener.reader(body)
        meta = _checked_metadata(reader.metadata, entry, manifest.created)
        narrative = bytearray()
        # The stored copy carries the sealed metadata too, so the content store alone is
        # self-describing (a damaged database does not orphan what it holds).
        record = {
            "envelope_id": entry.envelope_id,
            "instance_id": manifest.instance_id,
            "metadata": reader.metadata,
        }
        with vault.content_writer(entry.envelope_id, record) as store:
            while block := reader.read():
                store.write(block)
                if meta["kind"] == "message":
                    if len(narrative) + len(block) > MAX_NARRATIVE_BYTES:
                        raise SkipEnvelope("its message text is larger than 16 MiB")
                    narrative += block
            # finish() hashes every byte read() returned and raises unless it matches the
            # sealed trailer, so opened.sha256 is the SHA-256 of exactly what was stored:
            # hashing it again here cost ~10% of a large file's import.
            opened = reader.finish()
            try:
                text = narrative.decode("utf-8") if meta["kind"] == "message" else ""
            except UnicodeDecodeError as exc:
                raise SkipEnvelope("its message text is not valid UTF-8") from exc
    except CryptoError as exc:
        raise SkipEnvelope(str(exc)) from exc
    db = vault.db
    tip = _tip_for(db, meta, entry.envelope_id, entry.source_id, manifest.instance_id)
    db.execute(
        "INSERT INTO envelopes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.envelope_id,
            tip,
            meta["kind"],
            meta["filename"],
            meta["content_type"],
            opened.size,
            opened.sha256,
            meta["received"],
            custody.now(),
        ),
    )
    if meta["kind"] == "message":
        _record_message(db, tip, meta, text)
    if meta["reply_key"] is not None:
        # The signed manifest is preferred; this only fills in a source it did not list.
        db.execute(
            "INSERT OR IGNORE INTO sources VALUES (?, ?, ?, ?)",
            (entry.source_id, manifest.instance_id, meta["reply_key"], custody.now()),
        )
    if meta["reply_xwing_key"] is not None:
        db.execute(
            "UPDATE sources SET reply_key = ? WHERE source_id = ?",
            (meta["reply_xwing_key"], entry.source_id),
        )
    custody.append(
        db,
        vault.actor,
        "import",
        f"tip:{tip}",
        envelope_id=entry.envelope_id,
        kind=meta["kind"],
        filename=meta["filename"],
        size=opened.size,
        sha256=opened.sha256,
        instance_id=manifest.instance_id,
    )
    return tip


class _Counting:
    """Passes reads through and reports how many bytes went by (for the progress bar)."""

    def __init__(self, body: Any, advance: Callable[[int], None]) -> None:
        self._body = body
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._body.read(size)
        self._advance(len(data))
        return data


def import_bundle(
    vault: Vault,
    path: Path,
    manifest: Manifest,
    new_instance: bool,
    advance: Callable[[int], None],
    extra_keys: Sequence[RecipientKey] = (),
) -> ImportResult:
    """Import every envelope not yet in the vault; save the database at the end."""
    result = ImportResult(
        manifest.instance_id, instance_fingerprint(manifest.instance_key), new_instance
    )
    vault.discard_partial_content()
    for source_id, reply_key in manifest.reply_keys.items():
        vault.db.execute(
            "INSERT OR IGNORE INTO sources VALUES (?, ?, ?, ?)",
            (source_id, manifest.instance_id, b64encode(reply_key), custody.now()),
        )
    opener = Opener([*vault.recipient_keys(), *extra_keys])
    tips: set[int] = set()
    with open(path, "rb") as src:
        reader = BundleReader(src, manifest.instance_key)
        for entry, body in reader.entries():
            known = vault.db.execute(
                "SELECT tip_id FROM envelopes WHERE envelope_id = ?", (entry.envelope_id,)
            ).fetchone()
            if known is not None:
                result.already.append(entry.envelope_id)
                advance(entry.size)
                continue
            counted = _Counting(body, advance)
            try:
                tips.add(_import_one(vault, opener, entry, counted, manifest))
                result.imported.append(entry.envelope_id)
            except SkipEnvelope as exc:
                result.skipped.append((entry.envelope_id, str(exc)))
                custody.append(
                    vault.db,
                    vault.actor,
                    "import-skipped",
                    f"envelope:{entry.envelope_id}",
                    reason=str(exc),
                    instance_id=manifest.instance_id,
                )
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                    raise
                result.stopped = (
                    f"the disk is full (while storing envelope {entry.envelope_id}): {exc.strerror}"
                )
                break
            advance(body.left)
    result.tips = sorted(tips)
    # The new content must be durable before the saved database says it exists.
    vault.commit_content()
    vault.save()
    return result
