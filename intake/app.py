"""The source app factory: `create_app(config)`."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path
from typing import IO, Any

from flask import Flask, Request, Response, render_template, request
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import BadRequest, NotFound

from crypto.errors import CryptoError

from . import errors, headers, hostguard, i18n, messages
from .config import Config
from .db import make_engine, make_sessionmaker
from .instance import load_admin_identity, load_flask_secret, load_peppers
from .login_guard import DerivationGate, FailedLoginLimiter
from .questionnaire import QuestionnaireError, load_questionnaire
from .startup import upgrade_database_if_reachable
from .state import EXTENSION, IntakeState, close_db, state
from .storage import EnvelopeStore
from .views import pages, source, submit

STYLESHEET = Path(__file__).parent / "static" / "style.css"
# Normal forms are tiny; only the submission routes raise this for themselves.
SMALL_FORM_BYTES = 64 * 1024

log = logging.getLogger("intake")


class SourceRequest(Request):
    """Never spools a file to disk: only the streaming submission routes accept files."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        raise BadRequest("files are only accepted by the submission form")


class SourceFlask(Flask):
    """Flask, with error logs that never carry request or exception content."""

    request_class = SourceRequest

    def log_exception(self, exc_info: Any) -> None:
        """Log the exception type and where it happened, not its message (it may quote input)."""
        exc_type, _exc, tb = exc_info if isinstance(exc_info, tuple) else sys.exc_info()
        frames = "; ".join(
            f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in traceback.extract_tb(tb)
        )
        name = exc_type.__name__ if exc_type else "unknown"
        self.logger.error(
            "unhandled %s on %s %s at %s", name, request.method, request.endpoint, frames
        )


def _load_state(config: Config) -> IntakeState:
    engine = make_engine(config.database_url)
    if not upgrade_database_if_reachable(engine):
        log.error("database unreachable at start: pages that need it answer 503 until it is back")
    store = EnvelopeStore(
        config.storage_dir, config.storage.reserve_free_bytes, config.storage.host
    )
    store.remove_abandoned()  # a worker killed mid-upload left its partial file
    identity = questionnaire = None
    try:
        identity = load_admin_identity(config)
    except (OSError, UnicodeDecodeError, CryptoError):
        log.error("admin identity missing or malformed: every source page answers 503")
    try:
        questionnaire = load_questionnaire(config.questionnaire_path)
    except QuestionnaireError:
        log.error("questionnaire.json missing or malformed: every source page answers 503")
    return IntakeState(
        config=config,
        engine=engine,
        sessions=make_sessionmaker(engine),
        store=store,
        peppers=load_peppers(config),
        gate=DerivationGate(
            config.login.max_concurrent_derivations, config.login.derivation_wait_seconds
        ),
        limiter=FailedLoginLimiter.from_policy(config.login),
        identity=identity,
        questionnaire=questionnaire,
    )


def _offline_gate() -> tuple[str, int] | None:
    """Fail closed: without a valid admin identity, no source page is served."""
    if request.endpoint == "static" or state().online:
        return None
    return render_template(
        "offline.html", title=messages.OFFLINE_TITLE, message=messages.OFFLINE_TEXT
    ), 503


def _stylesheet_view() -> Any:
    """The one stylesheet, served from memory: no ETag, no conditional responses."""
    css = STYLESHEET.read_bytes()

    def stylesheet(filename: str) -> Response:
        if filename != "style.css":
            raise NotFound
        return Response(css, mimetype="text/css")

    return stylesheet


def create_app(config: Config) -> Flask:
    """Assemble the source app for one instance."""
    app = SourceFlask("intake", static_folder=None)
    app.config.update(
        SECRET_KEY=load_flask_secret(config),
        MAX_CONTENT_LENGTH=SMALL_FORM_BYTES,
        MAX_FORM_MEMORY_SIZE=SMALL_FORM_BYTES,
        MAX_FORM_PARTS=64,
        WTF_CSRF_TIME_LIMIT=config.csrf_time_limit_seconds,
        **headers.onion_app_settings("sd_csrf"),
    )
    app.extensions[EXTENSION] = _load_state(config)
    hostguard.init_app(app)  # own onion host only, Tor2web refused; runs before every hook
    app.add_url_rule("/static/<path:filename>", endpoint="static", view_func=_stylesheet_view())
    i18n.init_app(app)
    app.before_request(_offline_gate)  # before CSRF: an offline instance answers 503 first
    csrf = CSRFProtect(app)
    csrf.exempt(submit.bp)  # streaming routes: the token is checked as its part arrives
    headers.init_app(app)
    errors.init_app(app)
    app.teardown_appcontext(close_db)
    app.register_blueprint(pages.bp)
    app.register_blueprint(submit.bp)
    app.register_blueprint(source.bp)
    return app
