"""Property: whatever bytes arrive as a reply bundle or an ack (random, or a real one with a
byte flipped, cut or extended), the server refuses them with a TransferError and changes
nothing; it never crashes and never half-applies."""

from __future__ import annotations

import datetime
import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from intake_support import submit
from transfer_support import ack, open_bundle, reply_bundle, reply_statement, sealdrop, state_of

from intake.config import load_config
from intake.instance import load_instance_signing_key
from intake.transfer import TransferError, apply_ack, import_replies

TODAY = datetime.date(2026, 11, 29)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _damaged(data: bytes) -> st.SearchStrategy[bytes]:
    """The real file with one byte changed, cut short, or with bytes appended."""
    flip = st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255)).map(
        lambda c: data[: c[0]] + bytes([data[c[0]] ^ c[1]]) + data[c[0] + 1 :]
    )
    cut = st.integers(0, len(data) - 1).map(lambda n: data[:n])
    extend = st.binary(min_size=1, max_size=64).map(lambda tail: data + tail)
    return st.one_of(flip, cut, extend, st.binary(max_size=2048))


def test_no_damaged_reply_bundle_or_ack_is_ever_applied(
    app: Flask, client: FlaskClient, instance: Path, tmp_path: Path, admin_keys
) -> None:
    submit(client, narrative="a tip")
    out = tmp_path / "b.sdb"
    assert sealdrop("export", "--instance", str(instance), "--out", str(out)).exit_code == 0
    key = load_instance_signing_key(load_config(instance)).verify_key
    bundle = open_bundle(out, admin_keys, key)
    replies = reply_bundle(
        [reply_statement(admin_keys.signing, bundle.instance_id, bundle.metadata[0], "hi")]
    )
    the_ack = ack(admin_keys.signing, bundle.instance_id, bundle.envelope_ids)
    app_state = app.extensions["sealdrop"]
    signer, instance_id = admin_keys.identity.signer, bundle.instance_id
    before = state_of(app)

    @FUZZ
    @given(_damaged(replies))
    def replies_refused(data: bytes) -> None:
        refused = pytest.raises(TransferError, match=r"Nothing was stored\.")
        with app_state.sessions() as db, refused:
            import_replies(db, io.BytesIO(data), signer, instance_id, TODAY)
        assert state_of(app) == before

    @FUZZ
    @given(_damaged(the_ack))
    def acks_refused(data: bytes) -> None:
        refused = pytest.raises(TransferError, match=r"Nothing was deleted\.")
        with app_state.sessions() as db, refused:
            apply_ack(db, app_state.store, data, signer, instance_id)
        assert state_of(app) == before

    replies_refused()
    acks_refused()
