"""The staff pages: login, counts, download a bundle, upload replies and acks, password."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from flask_babel import gettext, ngettext
from werkzeug.datastructures import FileStorage

from ..login_guard import Busy
from ..models import StaffAccount
from ..transfer import TransferError, record_action
from ..transfer.acks import MAX_ACK_BYTES, apply_ack
from ..transfer.audit import recent_actions
from ..transfer.export import mark_exported, plan_export, stream_bundle
from ..transfer.reply_import import import_replies
from ..transfer.summary import human_size, summarize
from . import messages
from .accounts import (
    MAX_PASSWORD_CHARS,
    MIN_PASSWORD_CHARS,
    AccountError,
    LoginOutcome,
    LoginResult,
    change_password,
    check_login,
    end_sessions,
    password_matches,
)
from .login import current_account, login_required, start_session
from .state import db, staff_state

bp = Blueprint("staff", __name__, url_prefix="/staff")

WRONG_LOGIN = messages.WRONG_LOGIN
REPLAYED_CODE = messages.REPLAYED_CODE
BUSY = messages.BUSY
UNKNOWN_NAME = "(a name no account has)"  # the audit's actor; shown translated


def today() -> datetime.date:
    """Dates are days, in UTC."""
    return datetime.datetime.now(datetime.UTC).date()


def dashboard(
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
    error_detail: str | None = None,
) -> Any:
    """The main page, with the outcome of the last action (a detail from the transfer code
    is shown as it is, in English: it names files and counts)."""
    summary = summarize(db())
    return render_template(
        "staff/dashboard.html",
        account=g.staff,
        summary=summary,
        human_size=human_size,
        actions=recent_actions(db(), 20),
        notice=notice,
        error=error,
        error_detail=error_detail,
    ), status


@bp.get("/")
@login_required
def index() -> Any:
    """Counts and sizes, and the transfer forms."""
    return dashboard()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Name, password and TOTP code, on one form."""
    if request.method == "GET":
        if current_account() is not None:
            return redirect(url_for("staff.index"), 303)
        return render_template("staff/login.html", error=None)
    st = staff_state()
    try:
        with st.gate.slot():  # each check holds an Argon2id computation's memory
            result = check_login(
                db(),
                st.staff_key,
                request.form.get("name", ""),
                request.form.get("password", ""),
                request.form.get("code", ""),
                st.config.receipt_cost,
                st.config.login.max_backoff_seconds,
            )
    except Busy:
        return render_template("staff/login.html", error=str(BUSY)), 503
    if result.outcome is LoginOutcome.OK and result.account is not None:
        record_action(db(), result.account.name, "login", "", today())
        db().commit()
        start_session(result.account)
        return redirect(url_for("staff.index"), 303)
    _audit_failed_login(result)
    db().commit()
    shown = {
        LoginOutcome.WRONG: str(WRONG_LOGIN),
        LoginOutcome.REPLAYED: str(REPLAYED_CODE),
        LoginOutcome.THROTTLED: gettext(messages.THROTTLED_TEXT, seconds=result.retry_after),
    }
    status = 429 if result.outcome is LoginOutcome.THROTTLED else 401
    return render_template("staff/login.html", error=shown[result.outcome]), status


def _audit_failed_login(result: LoginResult) -> None:
    """Failed and replayed logins go to the audit, by day; a name no account has is not kept
    (it may be a password typed in the wrong field). Throttled attempts cost the server
    nothing and are not recorded one by one."""
    actor = result.account.name if result.account is not None else UNKNOWN_NAME
    if result.outcome is LoginOutcome.REPLAYED:
        record_action(db(), actor, "login-replayed", "right password, a code already used", today())
    elif result.outcome is LoginOutcome.WRONG:
        record_action(db(), actor, "login-failed", "wrong name, password or code", today())


@bp.post("/logout")
@login_required
def logout() -> Any:
    """End every session of this account."""
    account: StaffAccount = g.staff
    end_sessions(account)
    record_action(db(), account.name, "logout", "", today())
    db().commit()
    session.clear()
    return redirect(url_for("staff.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    """Choose a new password (required after the one-time password)."""
    account: StaffAccount = g.staff
    if request.method == "GET":
        return render_template("staff/password.html", account=account, error=None)
    new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
    error = None
    if not password_matches(account.password_hash, request.form.get("current_password", "")):
        error = str(messages.CURRENT_PASSWORD_WRONG)
    elif new != again:
        error = str(messages.PASSWORDS_DIFFER)
    else:
        try:
            change_password(account, new, staff_state().config.receipt_cost)
        except AccountError:
            if MIN_PASSWORD_CHARS <= len(new) <= MAX_PASSWORD_CHARS:
                error = str(messages.PASSWORD_UNCHANGED)
            else:
                error = gettext(messages.PASSWORD_TOO_SHORT_TEXT, count=MIN_PASSWORD_CHARS)
    if error:
        return render_template("staff/password.html", account=account, error=error), 400
    record_action(db(), account.name, "password-change", "", today())
    db().commit()
    start_session(account)
    return redirect(url_for("staff.index"), 303)


@bp.post("/export")
@login_required
def export() -> Any:
    """Download a bundle, streamed; envelopes are marked exported only once it is all sent."""
    st = staff_state()
    include = request.form.get("include_exported") == "1"
    day = today()
    plan = plan_export(db(), st.store, st.config.instance_id, st.signing_key, day, include)
    if not plan.envelope_ids:
        return dashboard(notice=str(messages.NOTHING_TO_EXPORT))
    name = g.staff.name
    ids = plan.envelope_ids
    sessions = st.sessions

    def body() -> Iterator[bytes]:
        yield from stream_bundle(st.store, st.signing_key, plan)
        # Reached only after the server sent the last chunk. An interrupted download
        # closes this generator at a `yield` above: the envelopes stay pending.
        with sessions() as session:
            mark_exported(session, ids, day)
            record_action(session, name, "export", f"{len(ids)} envelope(s)", day)
            session.commit()

    filename = f"sealdrop-{st.config.instance_id[:8]}-{day.isoformat()}.sdb"
    return Response(
        body(),
        mimetype="application/octet-stream",
        headers={
            "Content-Length": str(plan.bundle_size(st.signing_key)),
            "Content-Disposition": f'attachment; filename="{filename}"',
        },
        direct_passthrough=True,
    )


def _uploaded(field: str) -> FileStorage | None:
    file = request.files.get(field)
    if file is None or not file.filename:
        return None
    return file


@bp.post("/replies")
@login_required
def upload_replies() -> Any:
    """Store a reply bundle: every reply verified before any is stored."""
    st = staff_state()
    file = _uploaded("bundle")
    if file is None:
        return dashboard(error=str(messages.CHOOSE_REPLY_BUNDLE), status=400)
    if st.signer is None:  # pragma: no cover - the offline gate answers 503 first
        return dashboard(error=str(messages.NO_ADMIN_IDENTITY), status=503)
    try:
        result = import_replies(db(), file.stream, st.signer, st.config.instance_id, today())
    except TransferError as exc:
        return dashboard(error=str(messages.REPLIES_REFUSED), status=400, error_detail=str(exc))
    record_action(
        db(), g.staff.name, "import-replies", f"{result.added} new of {result.total}", today()
    )
    db().commit()
    if result.added == 0 and result.total:
        notice = ngettext(
            "Nothing new: the reply was already stored.",
            "Nothing new: all %(num)d replies were already stored.",
            result.total,
        )
    else:
        notice = ngettext("Stored %(num)d new reply.", "Stored %(num)d new replies.", result.added)
    return dashboard(notice=notice)


@bp.post("/ack")
@login_required
def upload_ack() -> Any:
    """Apply an ack: the envelopes it lists are deleted from this server."""
    st = staff_state()
    file = _uploaded("ack")
    if file is None:
        return dashboard(error=str(messages.CHOOSE_ACK), status=400)
    if st.signer is None:  # pragma: no cover - the offline gate answers 503 first
        return dashboard(error=str(messages.NO_ADMIN_IDENTITY), status=503)
    data = file.stream.read(MAX_ACK_BYTES + 1)
    try:
        result = apply_ack(db(), st.store, data, st.signer, st.config.instance_id)
    except TransferError as exc:
        return dashboard(error=str(messages.ACK_REFUSED), status=400, error_detail=str(exc))
    detail = (
        f"{len(result.deleted)} deleted, {len(result.already_gone)} already gone, "
        f"{len(result.not_exported)} never exported"
    )
    record_action(db(), g.staff.name, "apply-ack", detail, today())
    db().commit()
    notice = ngettext(
        "Deleted %(num)d envelope; %(gone)d were already gone.",
        "Deleted %(num)d envelopes; %(gone)d were already gone.",
        len(result.deleted),
        gone=len(result.already_gone),
    )
    if result.not_exported:
        notice += " " + ngettext(
            "Kept %(num)d envelope the ack lists but this server never exported: the next "
            "export carries it.",
            "Kept %(num)d envelopes the ack lists but this server never exported: the next "
            "export carries them.",
            len(result.not_exported),
        )
    return dashboard(notice=notice)
