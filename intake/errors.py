"""Error pages: every HTTP error answered with a page a source can act on."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import messages


def error_page(status: int, message: str | None = None) -> tuple[str, int]:
    """Render the error page for `status`, with an optional more specific message."""
    title, text = messages.ERROR_TEXT.get(status, messages.ERROR_TEXT[400 if status < 500 else 500])
    return render_template(
        "error.html", title=title, message=message or text, status=status
    ), status


def _http_error(exc: HTTPException) -> tuple[str, int]:
    return error_page(exc.code or 500)


def _csrf_error(_exc: CSRFError) -> tuple[str, int]:
    return error_page(400, str(messages.CSRF_FAILED))


def _server_error(_exc: Exception) -> tuple[str, int]:
    return error_page(500)


def _database_unavailable(_exc: DBAPIError) -> tuple[str, int]:
    """The database is down or unreachable: a page saying so, and recovery on its own
    once it is back (connections are checked before use)."""
    current_app.logger.error("database unavailable: %s", type(_exc.orig).__name__)
    return error_page(503, str(messages.UNAVAILABLE))


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _server_error)
    app.register_error_handler(DBAPIError, _database_unavailable)
