"""The staff app factory: `create_staff_app(config)`, served on its own loopback port.

It shares the intake's database, storage, strict headers and host guard, but nothing
routes to it from the source app: its pages live only in this app, under /staff/.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Request, Response, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect
from nacl.encoding import RawEncoder
from nacl.hash import blake2b
from werkzeug.exceptions import HTTPException

from crypto.errors import CryptoError

from .. import headers, hostguard
from ..app import SourceFlask
from ..config import Config
from ..db import make_engine, make_sessionmaker
from ..instance import load_admin_identity, load_flask_secret, load_instance_signing_key
from ..login_guard import DerivationGate
from ..staff_key import load_or_create_staff_key, seal_plaintext_secrets
from ..startup import upgrade_database_if_reachable
from ..storage import EnvelopeStore
from ..transfer.reply_import import MAX_REPLY_BUNDLE_BYTES
from . import i18n, messages, views
from .form_parser import ScannedFormDataParser
from .state import EXTENSION, StaffState, close_db, staff_state

STYLESHEET = Path(__file__).resolve().parent.parent / "static" / "style.css"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MAX_FORM_BYTES = 64 * 1024
MAX_UPLOAD_BYTES = MAX_REPLY_BUNDLE_BYTES + MAX_FORM_BYTES
log = logging.getLogger("intake.staff")


class StaffRequest(Request):
    """Uploaded files (reply bundles, acks: ciphertext, bounded) stay in memory, never on
    disk, decoded by our own multipart scanner (see form_parser)."""

    form_data_parser_class = ScannedFormDataParser


class StaffFlask(SourceFlask):
    """Error logs without request content, like the source app; uploads in memory."""

    request_class = StaffRequest  # type: ignore[assignment]  # a sibling Request, not a subclass


def _staff_secret(config: Config) -> bytes:
    """A key of its own for the staff cookie: a source-app cookie never verifies here."""
    return blake2b(
        load_flask_secret(config), digest_size=32, person=b"sealdrop-staff", encoder=RawEncoder
    )


def _load_state(config: Config) -> StaffState:
    engine = make_engine(config.database_url)
    staff_key = load_or_create_staff_key(config.staff_key_path)
    if upgrade_database_if_reachable(engine):
        with make_sessionmaker(engine)() as session:
            seal_plaintext_secrets(session, staff_key)
    else:
        log.error("database unreachable at start: pages that need it answer 503 until it is back")
    signer = None
    try:
        signer = load_admin_identity(config).signer
    except (OSError, UnicodeDecodeError, CryptoError):
        log.error("admin identity missing or malformed: every staff page answers 503")
    return StaffState(
        config=config,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=EnvelopeStore(config.storage_dir, host=config.storage.host),
        signing_key=load_instance_signing_key(config),
        signer=signer,
        gate=DerivationGate(
            config.login.max_concurrent_derivations, config.login.derivation_wait_seconds
        ),
        staff_key=staff_key,
    )


def _offline_gate() -> tuple[str, int] | None:
    """Fail closed: without the admin identity nothing can be verified, so nothing is served."""
    if request.endpoint == "stylesheet" or staff_state().signer is not None:
        return None
    return render_template(
        "staff/message.html", title=messages.OFFLINE_TITLE, message=messages.OFFLINE_TEXT
    ), 503


def _error_page(exc: HTTPException) -> tuple[str, int]:
    status = exc.code or 500
    general = 400 if status < 500 else 500
    title = messages.ERROR_TITLES.get(status, messages.ERROR_TITLES[general])
    if status == 413:
        message = messages.TOO_LARGE
    else:
        message = messages.ERROR_TEXTS.get(status, messages.ERROR_TEXTS[general])
    return render_template("staff/message.html", title=title, message=message), status


def _csrf_error(_exc: CSRFError) -> tuple[str, int]:
    return render_template(
        "staff/message.html", title=messages.FORM_EXPIRED_TITLE, message=messages.FORM_EXPIRED
    ), 400


def create_staff_app(config: Config) -> Flask:
    """Assemble the staff app for one instance."""
    app = StaffFlask("intake.staff", static_folder=None, template_folder=str(TEMPLATES))
    app.config.update(
        SECRET_KEY=_staff_secret(config),
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
        MAX_FORM_PARTS=16,
        WTF_CSRF_TIME_LIMIT=3600,
        **headers.onion_app_settings("sd_staff"),
    )
    app.extensions[EXTENSION] = _load_state(config)
    hostguard.init_app(app)  # the staff onion's own host only; first of all hooks
    i18n.init_app(app)
    css = STYLESHEET.read_bytes()
    app.add_url_rule("/staff/style.css", "stylesheet", lambda: Response(css, mimetype="text/css"))
    app.add_url_rule("/", "root", lambda: redirect(url_for("staff.index"), 303))
    app.before_request(_offline_gate)
    CSRFProtect(app)
    headers.init_app(app)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _error_page)
    app.teardown_appcontext(close_db)
    app.register_blueprint(views.bp)
    return app
