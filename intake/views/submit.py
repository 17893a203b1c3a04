"""Submissions, streamed and sealed as they arrive (first ones and follow-ups)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import IO, cast

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge
from werkzeug.http import parse_options_header
from wtforms import ValidationError

from crypto.receipts import new_receipt

from .. import messages
from ..errors import error_page
from ..i18n import current_language
from ..login_guard import Busy
from ..source_sessions import COOKIE_NAME, load_session
from ..state import db, state, today
from ..submission import SourceIdentity, SubmissionWriter
from ..upload import (
    FileSink,
    FormExpired,
    TextFields,
    UploadRejected,
    boundary_of,
    parse_upload,
)

bp = Blueprint("submit", __name__)
log = logging.getLogger("intake")
# Room for multipart headers and the text fields on top of the file bytes.
ENVELOPE_SLACK = 16 * 1024 * 1024


class _ClientBody:
    """The request body for the parser, read straight from the WSGI server.

    Werkzeug's request.stream would do the same bounding, but copies every byte twice more
    on the way (io.RawIOBase.read into a bytearray, then bytes): on a large upload that is
    a tenth of the request thread's time (`python -m bench upload`). This reads at most the
    Content-Length (or, for a chunked body the server decodes, at most `limit` bytes: past
    it, 413), and a body that ends early is a client gone. A body the WSGI server cannot
    decode (gunicorn raises its own exceptions for bad chunked framing) is the client's
    mistake: a 400 page, not a 500."""

    def __init__(self, environ: dict[str, object], length: int | None, limit: int) -> None:
        self._stream = cast(IO[bytes], environ["wsgi.input"])
        # Without a length, only a stream the server ends itself (chunked, decoded by
        # gunicorn) can be read safely; Werkzeug answers any other with an empty body too.
        self._chunked = length is None and bool(environ.get("wsgi.input_terminated"))
        if length is not None:
            self._left = length
        else:
            self._left = limit + 1 if self._chunked else 0

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes of the body; b"" at its end."""
        if self._left <= 0:
            return b""
        want = self._left if size < 0 else min(size, self._left)
        try:
            data = self._stream.read(want)
        except HTTPException:
            raise  # a limit: handled by the parser and the caller
        except (OSError, ValueError) as exc:  # the connection broke (gunicorn: NoMoreData)
            raise ClientDisconnected() from exc
        except Exception as exc:
            raise UploadRejected(400, str(messages.MALFORMED_UPLOAD)) from exc
        if not data:
            if self._chunked:  # the server saw the last chunk: the body's real end
                self._left = 0
                return b""
            raise ClientDisconnected()  # fewer bytes than its Content-Length said
        self._left -= len(data)
        if self._chunked and self._left <= 0:
            raise RequestEntityTooLarge()
        return data


def _check_csrf(token: str) -> None:
    try:
        validate_csrf(token)
    except ValidationError as exc:
        raise UploadRejected(400, str(messages.CSRF_FAILED)) from exc


def _new_source() -> SourceIdentity:
    """A first submission: a fresh receipt, and the identity it derives."""
    receipt = new_receipt()
    keys = state().derive(receipt)
    return SourceIdentity(
        keys.source_id_hex,
        keys.reply_key.public_key,
        True,
        receipt,
        keys.reply_key,
        keys.reply_xwing_key.public_key,
    )


def _form_again(fields: TextFields, first: bool) -> ResponseReturnValue:
    """The form again, filled with what was typed (held for this response only), saying
    that nothing was sent. Not for a cross-site post: another site must not be able to
    fill this form for a source."""
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return error_page(400, str(messages.CSRF_FAILED))
    app_state = state()
    common = {
        "typed": fields,
        "expired": True,
        "limits": app_state.config.limits,
    }
    if first:
        page = render_template(
            "index.html",
            questionnaire=app_state.questionnaire,
            site=app_state.config.site,
            **common,
        )
    else:
        page = render_template("source.html", replies=None, sent=False, deleted=False, **common)
    return page, 400


def _read_form(
    check_csrf: Callable[[str], None], sink: FileSink, require_narrative: bool
) -> TextFields:
    """The request body through the streaming parser (request.max_content_length is set)."""
    app_state = state()
    assert app_state.questionnaire is not None
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    return parse_upload(
        cast(
            IO[bytes],
            _ClientBody(request.environ, request.content_length, request.max_content_length or 0),
        ),
        boundary_of(mimetype, options),
        app_state.config.limits,
        app_state.questionnaire,
        check_csrf,
        sink,
        require_narrative=require_narrative,
    )


class _NoSession:
    """Where files would go without a session: nowhere (the parser never gets this far,
    since no CSRF check passes; this refuses if it ever did)."""

    def start_file(self, filename: str, content_type: str) -> None:
        raise UploadRejected(403, str(messages.SESSION_ENDED))

    def write(self, data: bytes) -> None:
        raise UploadRejected(403, str(messages.SESSION_ENDED))

    def end_file(self) -> None:
        raise UploadRejected(403, str(messages.SESSION_ENDED))


def _never_valid(_token: str) -> None:
    raise UploadRejected(403, str(messages.SESSION_ENDED))


def _session_ended() -> ResponseReturnValue:
    """A follow-up after the session ended (New Identity, expiry): nothing is sent, but the
    message typed is shown back to copy, read into memory for this response only."""
    app_state = state()
    if app_state.questionnaire is None:  # offline; the gate answers first
        return error_page(503)
    typed = None
    same_site = request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")
    limit = app_state.config.limits.max_submission_bytes + ENVELOPE_SLACK
    request.max_content_length = limit
    if same_site and (request.content_length or 0) <= limit:
        try:
            _read_form(_never_valid, _NoSession(), require_narrative=False)
        except FormExpired as exc:
            typed = exc.fields
        except UploadRejected:
            typed = None
    return render_template("session_ended.html", typed=typed), 403


def _handle(writer: SubmissionWriter, first: bool) -> ResponseReturnValue | None:
    """Parse, seal and commit; returns an error response, or None when stored."""
    app_state = state()
    limits = app_state.config.limits
    if app_state.questionnaire is None:  # offline; the gate answers first
        return error_page(503)
    request.max_content_length = limits.max_submission_bytes + ENVELOPE_SLACK
    try:
        length = request.content_length or 0
        if length > (request.max_content_length or 0):
            raise UploadRejected(413, str(messages.SUBMISSION_TOO_LARGE))
        # Refused before reading a byte if it cannot fit above the free-space reserve
        # (a chunked upload has no length: the store checks again while it streams).
        app_state.store.ensure_space(length)
        fields = _read_form(_check_csrf, writer, require_narrative=first)
        narrative = fields.narrative.strip()
        if first and not narrative:
            raise UploadRejected(400, str(messages.NARRATIVE_REQUIRED))
        if not narrative and not fields.files:
            raise UploadRejected(400, str(messages.EMPTY_FOLLOW_UP))
        if narrative or fields.answers:
            writer.seal_message(fields.narrative, fields.answers)
        writer.commit(db())
        g.empty_files = fields.empty_files
    except FormExpired as exc:
        writer.abort()
        return _form_again(exc.fields, first)
    except UploadRejected as exc:
        writer.abort()
        return error_page(exc.status, exc.message)
    except Busy:
        writer.abort()
        return error_page(503, str(messages.BUSY))
    except OSError as exc:  # disk full, client gone, I/O error: nothing is kept
        writer.abort()
        log.error("submission not stored: %s", type(exc).__name__)
        return error_page(503, str(messages.STORAGE_FAILED))
    except BaseException:
        writer.abort()
        raise
    return None


@bp.post("/submit")
def first() -> ResponseReturnValue:
    """A new source's first submission; answers with the receipt, shown once."""
    app_state = state()
    writer = SubmissionWriter(
        app_state.store, app_state.sealer, _new_source, current_language().tag, today()
    )
    failed = _handle(writer, first=True)
    if failed is not None:
        return failed
    return render_template(
        "receipt.html", receipt=writer.identity.receipt, empty_files=g.get("empty_files", 0)
    )


@bp.post("/source/submit")
def follow_up() -> ResponseReturnValue:
    """More text or files from a logged-in source, under the same identity."""
    app_state = state()
    secret = load_session(db(), request.cookies.get(COOKIE_NAME))
    if secret is None:
        return _session_ended()
    xwing = secret.reply_xwing_key
    identity = SourceIdentity(
        secret.source_id,
        secret.reply_key.public_key,
        reply_xwing_public_key=None if xwing is None else xwing.public_key,
    )
    writer = SubmissionWriter(
        app_state.store, app_state.sealer, lambda: identity, current_language().tag, today()
    )
    failed = _handle(writer, first=False)
    if failed is not None:
        return failed
    empty = g.get("empty_files", 0)
    if empty:
        return redirect(url_for("source.home", sent=1, empty=empty), code=303)
    return redirect(url_for("source.home", sent=1), code=303)
