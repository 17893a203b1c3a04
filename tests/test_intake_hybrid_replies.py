"""Replies to a source are sealed to its X-Wing reply key, which the receipt derives; a
source made before hybrid replies gets one at its next login."""

from __future__ import annotations

import io

from flask import Flask
from flask.testing import FlaskClient
from intake_support import login, open_envelopes, submit
from sqlalchemy import select

from crypto.encoding import b64decode
from crypto.envelope import Opener
from crypto.replies import make_reply, read_reply_bundle, write_reply_bundle
from crypto.xwing import PUBLIC_KEY_BYTES, XWingPublicKey
from intake.models import Source
from intake.replies import store_replies


def _import(app: Flask, statements: list[bytes], signer) -> None:  # type: ignore[no-untyped-def]
    import datetime

    state = app.extensions["sealdrop"]
    instance_id = state.config.instance_id
    replies = read_reply_bundle(io.BytesIO(write_reply_bundle(statements)), signer, instance_id)
    with state.sessions() as session:
        store_replies(session, replies, signer, instance_id, datetime.date(2026, 12, 6))
        session.commit()


def test_a_hybrid_reply_reaches_the_source(app: Flask, client: FlaskClient, admin_keys) -> None:  # type: ignore[no-untyped-def]
    receipt = submit(client, narrative="a tip")
    meta, _ = open_envelopes(app, Opener([admin_keys.recipient]))[0]
    hybrid = XWingPublicKey(b64decode(meta["reply_xwing_public_key"], PUBLIC_KEY_BYTES))
    with app.extensions["sealdrop"].sessions() as session:
        row = session.scalars(select(Source)).one()
        assert bytes(row.reply_xwing_public_key) == bytes(hybrid)
    instance_id = app.extensions["sealdrop"].config.instance_id
    statement = make_reply(
        admin_keys.signing, instance_id, meta["source_id"], hybrid, "安全吗? hybrid", "2026-12-06"
    )
    _import(app, [statement], admin_keys.identity.signer)
    assert login(client, receipt).status_code == 303
    assert "安全吗? hybrid" in client.get("/source").data.decode()


def test_a_source_from_before_gets_its_hybrid_key_at_login(
    app: Flask, client: FlaskClient, admin_keys
) -> None:  # type: ignore[no-untyped-def]
    receipt = submit(client, narrative="a tip")
    state = app.extensions["sealdrop"]
    with state.sessions() as session:
        row = session.scalars(select(Source)).one()
        expected = bytes(row.reply_xwing_public_key)
        row.reply_xwing_public_key = None  # as migration 0004 leaves an older source
        session.commit()
    assert login(client, receipt).status_code == 303
    with state.sessions() as session:
        assert bytes(session.scalars(select(Source)).one().reply_xwing_public_key) == expected
    # Its follow-up envelopes carry the hybrid key too.
    from intake_support import Part, csrf_token, post_parts

    token = csrf_token(client, "/source")
    parts = [
        Part(b"csrf_token", token.encode()),
        Part(b"website", b""),
        Part(b"narrative", b"more"),
    ]
    assert post_parts(client, parts, "/source/submit").status_code == 303
    metas = [m for m, _ in open_envelopes(app, Opener([admin_keys.recipient]))]
    assert all(b64decode(m["reply_xwing_public_key"]) == expected for m in metas)
