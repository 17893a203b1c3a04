"""The offline workspace: a local web UI over the vault for staff who do not use a terminal.

It calls the same operations as the CLI (admin/*.py); nothing here changes the vault
except through them. See docs/workspace.md.
"""

from __future__ import annotations

import secrets

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from ..vault import Vault
from . import cases_views, i18n, transfer_views, triage_views, web
from .gate import Gate


def create_app(vault: Vault, secret: str) -> tuple[Flask, Gate]:
    """The Flask app over one unlocked vault, and the gate to serve in front of it."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_bytes(32),  # per run: sessions end with the server
        SESSION_COOKIE_NAME="sealdrop_workspace",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=False,  # plain HTTP on loopback
        SESSION_COOKIE_PATH="/" + secret + "/",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as this run's session
        WTF_CSRF_SSL_STRICT=False,
        MAX_CONTENT_LENGTH=1024 * 1024,  # forms only: files come by path, not upload
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["sealdrop_vault"] = vault
    CSRFProtect(app)
    i18n.init_app(app)
    web.init_app(app)
    for blueprint in (triage_views.bp, cases_views.bp, transfer_views.bp):
        app.register_blueprint(blueprint)
    gate = Gate(app.wsgi_app, secret)
    app.wsgi_app = gate  # type: ignore[method-assign]
    return app, gate
