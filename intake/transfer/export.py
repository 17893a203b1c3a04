"""Export bundles: every pending envelope, behind a manifest signed by the instance key.

An export only marks envelopes exported; it never deletes one. They go only when a signed
ack says the offline side holds them (acks.py), or by an explicit retention rule.
"""

from __future__ import annotations

import datetime
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from nacl.signing import SigningKey
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from crypto.bundle import (
    ENTRY_HEADER_BYTES,
    MAGIC,
    MAX_ENVELOPES,
    BundleWriter,
    Manifest,
    ManifestEntry,
    envelope_digest,
)
from crypto.statements import sign_statement

from ..models import EXPORTED, PENDING, Envelope, Source
from ..storage import EnvelopeStore
from .errors import TransferError


@dataclass(frozen=True)
class ExportPlan:
    """What one bundle will carry; `missing` are rows whose file is gone (left out);
    `left_for_next` counts envelopes over the bundle limit, carried by the next export."""

    manifest: Manifest
    missing: tuple[str, ...]
    left_for_next: int = 0

    @property
    def envelope_ids(self) -> list[str]:
        """Ids in bundle order."""
        return [entry.envelope_id for entry in self.manifest.envelopes]

    @property
    def envelope_bytes(self) -> int:
        """Total size of the envelopes carried."""
        return sum(entry.size for entry in self.manifest.envelopes)

    def bundle_size(self, signing_key: SigningKey) -> int:
        """The exact size of the bundle file (Ed25519 signatures have a fixed length)."""
        signed = sign_statement(signing_key, "bundle-manifest", self.manifest.body())
        headers = len(self.manifest.envelopes) * ENTRY_HEADER_BYTES
        return len(MAGIC) + 4 + len(signed) + headers + self.envelope_bytes


def plan_export(
    db: Session,
    store: EnvelopeStore,
    instance_id: str,
    signing_key: SigningKey,
    today: datetime.date,
    include_exported: bool = False,
) -> ExportPlan:
    """The manifest of every pending envelope (and, if asked, exported-unacked ones).

    Each envelope is read once here to hash it: the signed manifest binds its SHA-256, and
    the writer hashes it again while copying. At most MAX_ENVELOPES go in one bundle.
    """
    states = (PENDING, EXPORTED) if include_exported else (PENDING,)
    rows = db.execute(
        select(Envelope.id, Envelope.source_id)
        .where(Envelope.state.in_(states))
        .order_by(Envelope.received_day, Envelope.id)
    ).all()
    entries: list[ManifestEntry] = []
    missing: list[str] = []
    reply_keys: dict[str, bytes] = {}
    left = 0
    for envelope_id, source_id in rows:
        if len(entries) == MAX_ENVELOPES:
            left += 1
            continue
        if source_id not in reply_keys:
            source = db.get(Source, source_id)
            if source is None:  # a v2 manifest lists every envelope's source and its key
                missing.append(envelope_id)
                continue
            reply_keys[source_id] = bytes(source.reply_public_key)
        try:
            with store.open(envelope_id) as src:  # what is on disk is what goes in the bundle
                size, sha256 = envelope_digest(src)
        except FileNotFoundError:
            missing.append(envelope_id)
            continue
        entries.append(ManifestEntry(envelope_id, size, source_id, sha256))
    used = {entry.source_id for entry in entries}
    reply_keys = {sid: key for sid, key in reply_keys.items() if sid in used}
    manifest = Manifest(
        instance_id, signing_key.verify_key, today.isoformat(), tuple(entries), reply_keys
    )
    return ExportPlan(manifest, tuple(missing), left)


def _copy_envelopes(writer: BundleWriter, store: EnvelopeStore, plan: ExportPlan) -> Iterator[int]:
    for envelope_id in plan.envelope_ids:
        with store.open(envelope_id) as src:
            yield from writer.add_blocks(envelope_id, src)
    writer.close()


def write_bundle(
    dst: BinaryIO,
    store: EnvelopeStore,
    signing_key: SigningKey,
    plan: ExportPlan,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write the whole bundle to an open file, one block at a time."""
    writer = BundleWriter(dst, signing_key, plan.manifest)
    for written in _copy_envelopes(writer, store, plan):
        if progress is not None:
            progress(written)


class _Chunks:
    """A write-only sink the stream drains after every block."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def stream_bundle(
    store: EnvelopeStore, signing_key: SigningKey, plan: ExportPlan
) -> Iterator[bytes]:
    """The bundle as a stream of chunks (at most one 1 MiB block held at a time)."""
    sink = _Chunks()
    writer = BundleWriter(sink, signing_key, plan.manifest)
    yield sink.take()
    for _written in _copy_envelopes(writer, store, plan):
        yield sink.take()
    rest = sink.take()
    if rest:
        yield rest


def mark_exported(db: Session, envelope_ids: Sequence[str], today: datetime.date) -> int:
    """Mark these envelopes exported today (the caller commits); returns how many rows."""
    marked = 0
    for start in range(0, len(envelope_ids), 500):
        batch = list(envelope_ids[start : start + 500])
        result = db.execute(
            update(Envelope)
            .where(Envelope.id.in_(batch))
            .values(state=EXPORTED, exported_day=today)
            .execution_options(synchronize_session=False)
        )
        marked += int(getattr(result, "rowcount", 0) or 0)
    return marked


def export_to_file(
    out: Path,
    db: Session,
    store: EnvelopeStore,
    signing_key: SigningKey,
    plan: ExportPlan,
    today: datetime.date,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write OUT.tmp, fsync, rename to OUT, then mark the envelopes exported.

    OUT is never overwritten. A crash before the rename leaves OUT.tmp, which the next
    run refuses with advice to delete it, and every envelope still pending; a crash after
    it leaves a complete bundle and the envelopes pending, so the next export carries
    them again (the offline import skips what it already holds).
    """
    tmp = out.with_name(out.name + ".tmp")
    if out.exists() or out.is_symlink():
        raise TransferError(f"{out} already exists: it is never overwritten. Choose a new file.")
    if not out.absolute().parent.is_dir():
        raise TransferError(f"the folder for {out} does not exist. Choose an existing folder.")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as exc:
        raise TransferError(
            f"{tmp} exists: an earlier export was interrupted. Delete it and run again."
        ) from exc
    try:
        with os.fdopen(fd, "wb") as dst:
            write_bundle(dst, store, signing_key, plan, progress)
            dst.flush()
            os.fsync(dst.fileno())
        if out.exists() or out.is_symlink():
            raise TransferError(f"{out} appeared while exporting; nothing was marked exported.")
        os.rename(tmp, out)
        directory = os.open(out.absolute().parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    mark_exported(db, plan.envelope_ids, today)
    db.commit()
