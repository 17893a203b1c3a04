"""The streamed bundle (staff download) is byte for byte the file bundle, announced with its
exact size, and holds at most one block at a time."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from intake_support import submit
from nacl.signing import SigningKey
from transfer_support import open_bundle

from crypto.bundle import BundleWriter, Manifest, ManifestEntry
from intake.config import load_config
from intake.instance import load_instance_signing_key
from intake.transfer import plan_export, stream_bundle, write_bundle

BLOCK = 1024 * 1024
TODAY = datetime.date(2026, 11, 29)


def _plan(app: Flask):  # type: ignore[no-untyped-def]
    app_state = app.extensions["sealdrop"]
    config = app_state.config
    key = load_instance_signing_key(config)
    with app_state.sessions() as db:
        plan = plan_export(db, app_state.store, config.instance_id, key, TODAY)
    return app_state.store, key, plan


def test_the_stream_is_the_file_bundle_and_its_size_is_announced_exactly(
    app: Flask, client: FlaskClient, instance: Path, admin_keys
) -> None:
    big = os.urandom(3 * BLOCK + 12345)
    submit(client, narrative="with a big file", files=[(b"video.mp4", big)])
    store, key, plan = _plan(app)
    written = io.BytesIO()
    write_bundle(written, store, key, plan)
    chunks = list(stream_bundle(store, key, plan))
    assert b"".join(chunks) == written.getvalue()
    assert plan.bundle_size(key) == len(written.getvalue())
    # After the manifest, no chunk is larger than one copy block plus an entry header.
    assert max(len(c) for c in chunks[1:]) <= BLOCK + 24
    bundle = open_bundle(written.getvalue(), admin_keys, key.verify_key)
    assert big in bundle.contents
    assert bundle.instance_id == load_config(instance).instance_id


def test_add_blocks_writes_what_add_writes() -> None:
    key = SigningKey.generate()
    data = os.urandom(2 * BLOCK + 7)
    entries = (
        ManifestEntry("ab" * 16, len(data), "cd" * 32, hashlib.sha256(data).hexdigest()),
        ManifestEntry("ef" * 16, 0, "cd" * 32, hashlib.sha256(b"").hexdigest()),
    )
    manifest = Manifest("01" * 16, key.verify_key, "2026-11-29", entries, {"cd" * 32: bytes(32)})
    whole, stepped = io.BytesIO(), io.BytesIO()
    writer = BundleWriter(whole, key, manifest)
    writer.add("ab" * 16, io.BytesIO(data))
    writer.add("ef" * 16, io.BytesIO(b""))
    writer.close()
    writer = BundleWriter(stepped, key, manifest)
    sizes = list(writer.add_blocks("ab" * 16, io.BytesIO(data)))
    assert sizes == [BLOCK, BLOCK, 7]
    assert list(writer.add_blocks("ef" * 16, io.BytesIO(b""))) == []
    writer.close()
    assert stepped.getvalue() == whole.getvalue()
