"""A returning source: receipt login, replies (verified, decrypted per page), delete, send
more, logout; sessions that reveal nothing from the database or the cookie alone."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from intake_support import (
    Part,
    csrf_token,
    login,
    open_envelopes,
    post_parts,
    stored,
    submit,
)
from nacl.public import PublicKey
from nacl.signing import SigningKey
from sqlalchemy import select

from crypto.encoding import b64decode
from crypto.envelope import Opener
from crypto.errors import SignatureError
from crypto.replies import make_reply, read_reply_bundle, write_reply_bundle
from intake import create_app
from intake.config import LoginPolicy, load_config
from intake.instance import load_peppers
from intake.models import Reply, SourceSession
from intake.replies import UnknownSource, store_replies
from intake.source_sessions import COOKIE_NAME

TODAY = datetime.date(2026, 11, 29)


def _source_of(app: Flask, admin_keys) -> tuple[str, PublicKey]:
    """What the offline side learns from the sealed metadata: source id and reply key."""
    meta, _content = open_envelopes(app, Opener([admin_keys.recipient]))[0]
    return meta["source_id"], PublicKey(b64decode(meta["reply_public_key"], 32))


def _import_replies(app: Flask, statements: list[bytes], signer) -> int:
    """The reply import path: read a reply bundle, then store_replies (issue 5 does this)."""
    app_state = app.extensions["sealdrop"]
    instance_id = app_state.config.instance_id
    replies = read_reply_bundle(io.BytesIO(write_reply_bundle(statements)), signer, instance_id)
    with app_state.sessions() as session:
        added = store_replies(session, replies, signer, instance_id, TODAY)
        session.commit()
    return added


def _reply(app: Flask, admin_keys, text: str, signing_key: SigningKey | None = None) -> bytes:
    source_id, reply_key = _source_of(app, admin_keys)
    instance_id = app.extensions["sealdrop"].config.instance_id
    key = signing_key or admin_keys.signing
    return make_reply(key, instance_id, source_id, reply_key, text, TODAY.isoformat())


def _cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE_NAME)
    return cookie.value if cookie else None


def test_the_whole_flow(app: Flask, client: FlaskClient, admin_keys):
    receipt = submit(client, narrative="first tip")
    response = login(client, receipt)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/source")
    page = client.get("/source")
    assert page.status_code == 200
    assert b"No answers yet" in page.data

    statement = _reply(app, admin_keys, "Thank you. 我们收到了。 Are you safe?")
    assert _import_replies(app, [statement], admin_keys.identity.signer) == 1
    page = client.get("/source")
    assert "Thank you. 我们收到了。 Are you safe?" in page.data.decode()

    reply_id = re.search(rb"/source/replies/([0-9a-f]{32})/delete", page.data).group(1).decode()
    token = csrf_token(client, "/source")
    deleted = client.post(f"/source/replies/{reply_id}/delete", data={"csrf_token": token})
    assert deleted.status_code == 303
    page = client.get("/source")
    assert b"No answers yet" in page.data
    assert stored(app).replies == 0

    token = csrf_token(client, "/source")
    parts = [
        Part(b"csrf_token", token.encode()),
        Part(b"website", b""),
        Part(b"narrative", b"more details"),
        Part(b"files", b"second file", b"more.txt", b"text/plain"),
    ]
    sent = post_parts(client, parts, "/source/submit")
    assert sent.status_code == 303
    assert b"Sent." in client.get(sent.headers["Location"]).data
    opened = open_envelopes(app, Opener([admin_keys.recipient]))
    assert len(opened) == 3
    assert len({meta["source_id"] for meta, _ in opened}) == 1
    assert len({meta["submission_id"] for meta, _ in opened}) == 2
    assert stored(app).sources == 1

    token = csrf_token(client, "/source")
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303
    assert stored(app).sessions == 0
    assert _cookie(client) is None
    assert client.get("/source").status_code == 303  # back to the login page


def test_a_logged_out_cookie_opens_nothing(app: Flask, client: FlaskClient):
    receipt = submit(client)
    login(client, receipt)
    old = _cookie(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/source")})
    client.set_cookie(COOKIE_NAME, old)
    assert client.get("/source").status_code == 303


def test_full_width_digits_log_in(app: Flask, client: FlaskClient):
    receipt = submit(client)
    full_width = receipt.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    full_width = full_width.replace(" ", "\u3000")
    assert login(client, full_width).status_code == 303


BAD_RECEIPTS = {
    "too-short": "4821 0937 5512 6604",
    "too-long": "4821 0937 5512 6604 7310 1",
    "letters": "4821 0937 5512 6604 731O",
    "emoji": "4821 0937 5512 6604 73😀0",
    "empty": "",
    "huge": "1" * 10_000,
}


@pytest.mark.parametrize("typed", BAD_RECEIPTS.values(), ids=BAD_RECEIPTS.keys())
def test_malformed_receipts_are_refused(app: Flask, client: FlaskClient, typed: str):
    response = login(client, typed)
    assert response.status_code == 400
    assert b"A receipt is 24 digits" in response.data
    assert stored(app).sessions == 0
    assert _cookie(client) is None


def test_an_unknown_receipt_is_refused(app: Flask, client: FlaskClient):
    submit(client)
    response = login(client, "0000 0000 0000 0000 0001")
    assert response.status_code == 403
    assert b"No submission matches" in response.data
    assert stored(app).sessions == 0


def test_login_needs_a_csrf_token(app: Flask, client: FlaskClient):
    receipt = submit(client)
    response = client.post("/login", data={"receipt": receipt})
    assert response.status_code == 400
    assert stored(app).sessions == 0


def test_neither_the_cookie_nor_the_database_reveals_the_source(
    app: Flask, client: FlaskClient, instance: Path, argon2_cost
):
    from crypto.receipts import derive_source_keys

    receipt = submit(client)
    login(client, receipt)
    keys = derive_source_keys(receipt, load_peppers(load_config(instance)), argon2_cost)
    secrets_ = [receipt.replace(" ", "").encode(), keys.source_id, bytes(keys.reply_key)]
    secrets_ += [keys.source_id_hex.encode(), bytes(keys.reply_key).hex().encode()]
    cookie = base64.urlsafe_b64decode(_cookie(client))
    assert len(cookie) == 48  # a random session id and a random key, nothing else
    with app.extensions["sealdrop"].sessions() as session:
        [row] = session.scalars(select(SourceSession)).all()
    for secret in secrets_:
        assert secret not in cookie
        assert secret not in row.sealed
        assert secret.hex() not in row.id_hash
    assert cookie[:16].hex() != row.id_hash
    assert cookie[:16] not in row.sealed
    assert cookie[16:] not in row.sealed


def test_sessions_expire(instance: Path):
    config = load_config(instance)
    app = create_app(dataclasses.replace(config, login=LoginPolicy(session_minutes=0)))
    client = app.test_client()
    receipt = submit(client)
    assert login(client, receipt).status_code == 303
    assert client.get("/source").status_code == 303
    assert stored(app).sessions == 0  # the expired row went with it
    app.extensions["sealdrop"].engine.dispose()


def test_only_replies_signed_by_the_admin_key_are_stored(
    app: Flask, client: FlaskClient, admin_keys
):
    submit(client)
    good = _reply(app, admin_keys, "genuine")
    forged = _reply(app, admin_keys, "forged", SigningKey.generate())
    instance_id = app.extensions["sealdrop"].config.instance_id
    with pytest.raises(SignatureError):
        read_reply_bundle(
            io.BytesIO(write_reply_bundle([good, forged])), admin_keys.identity.signer, instance_id
        )
    from crypto.replies import verify_reply

    genuine = verify_reply(good, admin_keys.identity.signer, instance_id)
    # Even a caller that skips the bundle check cannot store a forged statement.
    fake = dataclasses.replace(genuine, statement=forged)
    with app.extensions["sealdrop"].sessions() as session, pytest.raises(SignatureError):
        store_replies(session, [genuine, fake], admin_keys.identity.signer, instance_id, TODAY)
    assert stored(app).replies == 0
    assert _import_replies(app, [good], admin_keys.identity.signer) == 1
    assert _import_replies(app, [good], admin_keys.identity.signer) == 0  # replay is harmless


def test_a_reply_for_an_unknown_source_is_refused(app: Flask, admin_keys):
    instance_id = app.extensions["sealdrop"].config.instance_id
    statement = make_reply(
        admin_keys.signing, instance_id, "ab" * 32, PublicKey(bytes(range(32))), "hi", "2026-11-29"
    )
    with pytest.raises(UnknownSource):
        _import_replies(app, [statement], admin_keys.identity.signer)
    assert stored(app).replies == 0


def test_a_tampered_stored_reply_is_not_shown(app: Flask, client: FlaskClient, admin_keys):
    login(client, submit(client))
    _import_replies(app, [_reply(app, admin_keys, "original text")], admin_keys.identity.signer)
    with app.extensions["sealdrop"].sessions() as session:
        row = session.scalars(select(Reply)).one()
        row.statement = row.statement.replace(b'"created":"2026', b'"created":"2025')
        session.commit()
    page = client.get("/source").data
    assert b"original text" not in page
    assert b"could not be verified" in page


def test_a_restart_keeps_peppers_sources_and_replies(instance: Path, admin_keys):
    first = create_app(load_config(instance))
    client = first.test_client()
    receipt = submit(client)
    statement = _reply(first, admin_keys, "still here after a restart")
    _import_replies(first, [statement], admin_keys.identity.signer)
    peppers = (instance / "secrets" / "peppers").read_bytes()
    first.extensions["sealdrop"].engine.dispose()

    second = create_app(load_config(instance))
    client = second.test_client()
    assert login(client, receipt).status_code == 303
    assert b"still here after a restart" in client.get("/source").data
    assert (instance / "secrets" / "peppers").read_bytes() == peppers
    second.extensions["sealdrop"].engine.dispose()


def test_a_follow_up_needs_a_session_and_some_content(app: Flask, client: FlaskClient):
    receipt = submit(client)
    token = csrf_token(client)
    parts = [Part(b"csrf_token", token.encode()), Part(b"narrative", b"more")]
    assert post_parts(client, parts, "/source/submit").status_code == 403
    login(client, receipt)
    token = csrf_token(client, "/source")
    empty = [
        Part(b"csrf_token", token.encode()),
        Part(b"narrative", b"  "),
        Part(b"files", b"", b""),
    ]
    response = post_parts(client, empty, "/source/submit")
    assert response.status_code == 400
    assert b"write a message or choose" in response.data
    assert stored(app).envelopes == 1


def test_a_source_cannot_delete_another_sources_reply(app: Flask, admin_keys):
    first, second = app.test_client(), app.test_client()
    login(first, submit(first))
    _import_replies(
        app, [_reply(app, admin_keys, "for the first source")], admin_keys.identity.signer
    )
    reply_id = re.search(rb"/source/replies/([0-9a-f]{32})/delete", first.get("/source").data)
    login(second, submit(second, narrative="another source"))
    token = csrf_token(second, "/source")
    second.post(f"/source/replies/{reply_id.group(1).decode()}/delete", data={"csrf_token": token})
    assert stored(app).replies == 1
    assert b"for the first source" in first.get("/source").data
