"""Importing an export bundle into the vault, one envelope at a time.

A bundle is read once. Its signed manifest is checked first (before the vault is
unlocked); then each envelope is streamed through its SHA-256 check while it is opened
and re-sealed to the vault key under a temporary name, and only an envelope whose hash
matched the manifest and whose metadata passed the gate (gate.py) is recorded. Anything
else is reported by id and skipped; everything intact is kept (also the envelopes before
a truncation, each checked against the signed hash).
"""

from __future__ import annotations

import errno
import json
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.encoding import RawEncoder
from nacl.public import PrivateKey
from nacl.signing import VerifyKey

from crypto.bundle import Arrived, BundleReader, BundleTruncated, Manifest, Missing, Stray
from crypto.encoding import b64encode
from crypto.envelope import Opener
from crypto.errors import CryptoError, FormatError
from crypto.keys import fingerprint_digits, signer_from_text, signer_to_text

from . import custody, gate
from .errors import AdminError
from .vault import Vault

MAX_NARRATIVE_BYTES = gate.MAX_NARRATIVE_BYTES
MAX_STRAYS_SHOWN = 100  # a flood of stray entries is counted, not listed one by one


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
    flagged: list[tuple[str, list[str]]] = field(default_factory=list)
    strays: list[tuple[str | None, str]] = field(default_factory=list)
    stray_count: int = 0
    truncated: bool = False
    tips: list[int] = field(default_factory=list)
    stopped: str | None = None

    @property
    def in_vault(self) -> list[str]:
        """Envelopes of this bundle whose hash matched and that the vault holds: the ack."""
        return sorted(self.imported + self.already)


def instance_fingerprint(key: VerifyKey) -> str:
    """Digits staff compare with `sealdrop` on the server to recognise an instance."""
    return fingerprint_digits(key.encode(RawEncoder))


def scan_bundle(path: Path) -> Manifest:
    """Read and verify a bundle's signed manifest (nothing after it is read yet)."""
    try:
        with open(path, "rb") as src:
            manifest = BundleReader(src).manifest
        gate.manifest_day(manifest.created)
        return manifest
    except FileNotFoundError as exc:
        raise AdminError(f"no file {path}. Check the path of the bundle.") from exc
    except IsADirectoryError as exc:
        raise AdminError(f"{path} is a folder, not a bundle file.") from exc
    except OSError as exc:
        raise AdminError(f"cannot read {path}: {exc.strerror}.") from exc
    except BundleTruncated as exc:
        raise AdminError(
            f"the bundle {path.name} is truncated in its manifest. Nothing was imported. "
            "Copy the bundle from the transfer device again, or export it again on the server."
        ) from exc
    except (CryptoError, gate.Rejected) as exc:
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


def _tip_for(
    db: sqlite3.Connection, meta: gate.Admitted, envelope_id: str, source_id: str, instance: str
) -> int:
    """The tip of this envelope's submission, made on first sight."""
    row = db.execute(
        "SELECT tip_id, source_id, narrative FROM tips WHERE submission_id = ?",
        (meta.submission_id,),
    ).fetchone()
    if row is not None:
        clash = row["source_id"] != source_id or (
            meta.kind == "message" and row["narrative"] is not None
        )
        if not clash:
            return int(row["tip_id"])
        # Never mix two sources, or two messages, into one tip: keep this one apart.
        meta.submission_id = envelope_id
    cur = db.execute(
        "INSERT INTO tips (submission_id, source_id, instance_id, received, imported)"
        " VALUES (?, ?, ?, ?, ?)",
        (meta.submission_id, source_id, instance, meta.received, custody.now()),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def answer_text(value: Any) -> str:
    """An answer as one line of text (lists joined with commas)."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _record_message(db: sqlite3.Connection, tip: int, meta: gate.Admitted, text: str) -> None:
    db.execute(
        "UPDATE tips SET narrative = ?, answers = ?, language = ? WHERE tip_id = ?",
        (text, json.dumps(meta.answers, ensure_ascii=False), meta.language, tip),
    )
    # One executemany: the full-text rows were a tenth of a small-tip import.
    rows = [(tip, "narrative", text)]
    rows += [(tip, q, answer_text(v)) for q, v in sorted(meta.answers.items())]
    db.executemany("INSERT INTO tip_text VALUES (?, ?, ?)", rows)


def _open_checked(
    vault: Vault, opener: Opener, arrived: Arrived, manifest: Manifest
) -> tuple[gate.Admitted, Any, str]:
    """Stream one envelope into a temporary vault file; keep it only if its hash matched
    the signed manifest and its metadata passed the gate."""
    entry, body = arrived.entry, arrived.body
    try:
        reader = opener.reader(body)
        narrative = bytearray()
        # The stored copy carries the sealed metadata too, so the content store alone is
        # self-describing (a damaged database does not orphan what it holds).
        record = {
            "envelope_id": entry.envelope_id,
            "instance_id": manifest.instance_id,
            "metadata": reader.metadata,
        }
        message = reader.metadata.get("kind") == "message"
        with vault.content_writer(entry.envelope_id, record) as store:
            while block := reader.read():
                store.write(block)
                if message:
                    if len(narrative) + len(block) > MAX_NARRATIVE_BYTES:
                        raise gate.Rejected("its message text is larger than 16 MiB")
                    narrative += block
            # finish() hashes every byte read() returned and raises unless it matches the
            # sealed trailer, so opened.sha256 is the SHA-256 of exactly what was stored.
            opened = reader.finish()
            # Every byte of the envelope against the signed manifest, before anything of
            # it is recorded: leaving this block by an exception removes the stored copy.
            body.verify()
            admitted = gate.admit(reader.metadata, entry, manifest.created)
            text = gate.message_text(narrative) if admitted.kind == "message" else ""
    except (CryptoError, gate.Rejected) as exc:
        # A swapped envelope is named as such, whatever failed first while reading it.
        raise SkipEnvelope(body.problem() or str(exc)) from exc
    return admitted, opened, text


def _import_one(
    vault: Vault, opener: Opener, arrived: Arrived, manifest: Manifest
) -> tuple[int, list[str]]:
    """Open one envelope into the vault; returns its tip id and the gate's flags."""
    entry = arrived.entry
    meta, opened, text = _open_checked(vault, opener, arrived, manifest)
    db = vault.db
    tip = _tip_for(db, meta, entry.envelope_id, entry.source_id, manifest.instance_id)
    db.execute(
        "INSERT INTO envelopes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.envelope_id,
            tip,
            meta.kind,
            meta.filename,
            meta.content_type,
            opened.size,
            opened.sha256,
            meta.received,
            custody.now(),
        ),
    )
    if meta.kind == "message":
        _record_message(db, tip, meta, text)
    custody.append(
        db,
        vault.actor,
        "import",
        f"tip:{tip}",
        envelope_id=entry.envelope_id,
        kind=meta.kind,
        filename=meta.filename,
        size=opened.size,
        sha256=opened.sha256,
        envelope_sha256=entry.sha256,
        instance_id=manifest.instance_id,
        flags=meta.flags,
    )
    return tip, meta.flags


class _Counting:
    """Passes reads through and reports how many bytes went by (for the progress bar)."""

    def __init__(self, body: Any, advance: Callable[[int], None]) -> None:
        self._body = body
        self._advance = advance

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._body.read(size)
        self._advance(len(data))
        return data


def _note_skipped(vault: Vault, result: ImportResult, envelope_id: str, reason: str) -> None:
    reason = sys.intern(reason)  # a flood of skips mostly shares a few reasons
    result.skipped.append((envelope_id, reason))
    custody.append(
        vault.db,
        vault.actor,
        "import-skipped",
        f"envelope:{envelope_id}",
        reason=reason,
        instance_id=result.instance_id,
    )


def _note_stray(vault: Vault, result: ImportResult, stray: Stray) -> None:
    result.stray_count += 1
    if len(result.strays) < MAX_STRAYS_SHOWN:
        result.strays.append((stray.envelope_id, stray.reason))
        custody.append(
            vault.db,
            vault.actor,
            "import-stray",
            f"envelope:{stray.envelope_id or '-'}",
            reason=stray.reason,
            instance_id=result.instance_id,
        )


def import_bundle(
    vault: Vault,
    path: Path,
    manifest: Manifest,
    new_instance: bool,
    advance: Callable[[int], None],
    extra_keys: Sequence[PrivateKey] = (),
) -> ImportResult:
    """Import every listed envelope whose hash matches and that the vault lacks; save the
    database at the end. `advance` gets the number of bundle bytes read."""
    result = ImportResult(
        manifest.instance_id, instance_fingerprint(manifest.instance_key), new_instance
    )
    vault.discard_partial_content()
    for source_id, reply_key in manifest.reply_keys.items():
        # The signed manifest gives the reply key; the first one seen for a source stays.
        vault.db.execute(
            "INSERT OR IGNORE INTO sources VALUES (?, ?, ?, ?)",
            (source_id, manifest.instance_id, b64encode(reply_key), custody.now()),
        )
    opener = Opener([vault.recipient_key(), *extra_keys])
    tips: set[int] = set()
    with open(path, "rb") as src:
        reader = BundleReader(_Counting(src, advance), manifest.instance_key, known=manifest)
        if reader.manifest != manifest:
            raise FormatError("its manifest is not the one checked before")
        for event in reader.entries():
            if isinstance(event, Stray):
                _note_stray(vault, result, event)
                continue
            if isinstance(event, Missing):
                _note_skipped(vault, result, event.entry.envelope_id, event.reason)
                continue
            envelope_id = event.entry.envelope_id
            known = vault.db.execute(
                "SELECT tip_id FROM envelopes WHERE envelope_id = ?", (envelope_id,)
            ).fetchone()
            if known is not None:
                problem = event.body.problem()  # acked again only if it is the same envelope
                if problem is None:
                    result.already.append(envelope_id)
                else:
                    _note_skipped(vault, result, envelope_id, problem)
                continue
            try:
                tip, flags = _import_one(vault, opener, event, manifest)
                tips.add(tip)
                result.imported.append(envelope_id)
                if flags:
                    result.flagged.append((envelope_id, flags))
            except SkipEnvelope as exc:
                _note_skipped(vault, result, envelope_id, str(exc))
            except OSError as exc:
                if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
                    raise
                result.stopped = (
                    f"the disk is full (while storing envelope {envelope_id}): {exc.strerror}"
                )
                break
        result.truncated = reader.truncated
    result.tips = sorted(tips)
    # The new content must be durable before the saved database says it exists.
    vault.commit_content()
    vault.save()
    return result
