"""Helpers for the staff-transfer tests: tips submitted through the real source app, the
`sealdrop` CLI in process, bundles opened with the admin's private key, instance state."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from flask import Flask
from nacl.public import PublicKey
from nacl.signing import SigningKey
from sqlalchemy import select

from crypto.bundle import Arrived, BundleReader
from crypto.encoding import b64decode
from crypto.envelope import Opener
from crypto.replies import make_ack, make_reply, write_reply_bundle
from intake.cli import main
from intake.models import Envelope, Reply, StaffAudit

TODAY = datetime.date.today().isoformat()


def sealdrop(*args: str) -> Result:
    """Run `sealdrop ARGS` in process."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@dataclass(frozen=True)
class OpenedBundle:
    """What the offline side finds in a bundle."""

    instance_id: str
    envelope_ids: list[str]
    reply_keys: dict[str, bytes]
    metadata: list[dict[str, Any]]
    contents: list[bytes]


def open_bundle(path_or_bytes: Path | bytes, admin_keys: Any, instance_key: Any) -> OpenedBundle:
    """Verify the manifest with the instance key and open every envelope."""
    import io

    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    reader = BundleReader(io.BytesIO(data), instance_key)
    opener = Opener([admin_keys.recipient])
    metas, contents = [], []
    for event in reader.entries():
        assert isinstance(event, Arrived), event
        envelope = event.body.read()
        event.body.verify()
        opened, content = opener.open_bytes(envelope)
        metas.append(opened.metadata)
        contents.append(content)
    manifest = reader.manifest
    return OpenedBundle(
        manifest.instance_id,
        [e.envelope_id for e in manifest.envelopes],
        dict(manifest.reply_keys),
        metas,
        contents,
    )


def reply_statement(
    signing_key: SigningKey, instance_id: str, meta: dict[str, Any], text: str
) -> bytes:
    """A reply as `sealdrop-admin reply` makes it, to the source of an opened envelope."""
    key = PublicKey(b64decode(meta["reply_public_key"], 32))
    return make_reply(signing_key, instance_id, meta["source_id"], key, text, TODAY)


def reply_bundle(statements: list[bytes]) -> bytes:
    """A reply bundle as `sealdrop-admin export-replies` writes it."""
    return write_reply_bundle(statements)


def ack(signing_key: SigningKey, instance_id: str, envelope_ids: list[str]) -> bytes:
    """An ack as `sealdrop-admin import --ack-out` writes it."""
    return make_ack(signing_key, instance_id, envelope_ids, TODAY)


@dataclass(frozen=True)
class State:
    """Envelope rows by id -> state, reply ids, files in storage, audit actions."""

    envelopes: dict[str, str]
    replies: list[str]
    files: list[str]
    audit: list[tuple[str, str]]


def state_of(app: Flask) -> State:
    """Everything a transfer may change, to prove a refused one changed nothing."""
    app_state = app.extensions["sealdrop"]
    with app_state.sessions() as session:
        envelopes = {e.id: e.state for e in session.scalars(select(Envelope))}
        replies = sorted(session.scalars(select(Reply.id)))
        audit = [(a.actor, a.action) for a in session.scalars(select(StaffAudit))]
    files = sorted(p.name for p in app_state.config.storage_dir.iterdir() if p.is_file())
    return State(envelopes, replies, files, audit)
