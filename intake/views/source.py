"""A returning source: log in with the receipt, read and delete replies, log out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug import Response

from crypto.errors import ReceiptError
from crypto.receipt_check import ReceiptMistyped
from crypto.receipts import normalize_receipt

from .. import messages
from ..login_guard import Busy
from ..models import Source
from ..replies import ShownReply, delete_reply, replies_for_source
from ..source_sessions import (
    COOKIE_NAME,
    SessionSecret,
    destroy_session,
    load_session,
    open_session,
)
from ..state import db, state, today

bp = Blueprint("source", __name__)
MAX_RECEIPT_INPUT = 200


def _login_page(status: int, error: str | None = None) -> ResponseReturnValue:
    return render_template("login.html", error=error), status


@bp.get("/login")
def login_form() -> ResponseReturnValue:
    """The receipt form."""
    return _login_page(200)


@bp.post("/login")
def login() -> ResponseReturnValue:
    """Check a receipt; on success open a session and go to the source's page."""
    app_state = state()
    typed = request.form.get("receipt", "")
    try:
        if len(typed) > MAX_RECEIPT_INPUT:
            raise ReceiptError("too long")
        receipt = normalize_receipt(typed)
    except ReceiptMistyped:
        # Checked before any look-up: costs no derivation, counts as no failed login.
        return _login_page(400, str(messages.RECEIPT_MISTYPED))
    except ReceiptError:
        return _login_page(400, str(messages.RECEIPT_MALFORMED))
    if app_state.limiter.retry_after() > 0:
        return _login_page(429, str(messages.LOGIN_LOCKED))
    try:
        keys = app_state.derive(receipt)
    except Busy:
        return _login_page(503, str(messages.BUSY))
    session = db()
    source = session.get(Source, keys.source_id_hex)
    if source is None:
        app_state.limiter.record_failure()
        return _login_page(403, str(messages.RECEIPT_UNKNOWN))
    if source.reply_xwing_public_key is None:
        # A receipt given before hybrid replies: its hybrid reply key is stored now.
        source.reply_xwing_public_key = bytes(keys.reply_xwing_key.public_key)
    lifetime = app_state.config.login.session_minutes * 60
    cookie = open_session(
        session, keys.source_id_hex, keys.reply_key, lifetime, today(), keys.reply_xwing_key
    )
    session.commit()
    response = redirect(url_for("source.home"), code=303)
    response.set_cookie(
        COOKIE_NAME, cookie, httponly=True, samesite="Strict", path="/", secure=False
    )
    return response


def _to_login() -> Response:
    response = redirect(url_for("source.login_form"), code=303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict")
    return response


def _replies_of(secret: SessionSecret) -> list[ShownReply]:
    """This source's replies, verified and opened with its X25519 and X-Wing reply keys."""
    app_state = state()
    return replies_for_source(
        db(),
        secret.source_id,
        secret.reply_key,
        app_state.signer,
        app_state.config.instance_id,
        secret.reply_xwing_key,
    )


@bp.get("/source")
def home() -> ResponseReturnValue:
    """Replies (verified, decrypted for this page only) and a form to send more."""
    app_state = state()
    secret = load_session(db(), request.cookies.get(COOKIE_NAME))
    if secret is None:
        return _to_login()
    replies = _replies_of(secret)
    return render_template(
        "source.html",
        replies=replies,
        sent=request.args.get("sent") == "1",
        empty_files=request.args.get("empty", type=int, default=0),
        deleted=request.args.get("deleted") == "1",
        limits=app_state.config.limits,
    )


@bp.get("/source/replies/<reply_id>/delete")
def confirm_delete(reply_id: str) -> ResponseReturnValue:
    """Ask before deleting, on a page of its own (no script: a second form)."""
    secret = load_session(db(), request.cookies.get(COOKIE_NAME))
    if secret is None:
        return _to_login()
    replies = _replies_of(secret)
    reply = next((r for r in replies if r.id == reply_id[:64]), None)
    if reply is None:
        return redirect(url_for("source.home"), code=303)
    return render_template("confirm_delete.html", reply=reply)


@bp.post("/source/replies/<reply_id>/delete")
def delete(reply_id: str) -> ResponseReturnValue:
    """Delete one reply of this source's."""
    session = db()
    secret = load_session(session, request.cookies.get(COOKIE_NAME))
    if secret is None:
        return _to_login()
    deleted = delete_reply(session, secret.source_id, reply_id[:64])
    session.commit()
    return redirect(url_for("source.home", deleted=int(deleted)), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Destroy the session row and the cookie."""
    session = db()
    destroy_session(session, request.cookies.get(COOKIE_NAME))
    session.commit()
    response = redirect(url_for("pages.index"), code=303)
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="Strict")
    return response
