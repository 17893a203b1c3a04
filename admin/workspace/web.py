"""What every workspace view shares: the vault, saving, errors, cross-site refusals."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, current_app, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from .. import inert
from ..errors import AdminError
from ..tips import human_size
from ..vault import Vault
from . import i18n

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def vault() -> Vault:
    """The vault this workspace run unlocked."""
    found: Vault = current_app.extensions["sealdrop_vault"]
    return found


def save(store: Vault | None = None) -> None:
    """Write the vault back; a failure leaves the change unrecorded and says so.

    Give `store` where no app context exists (inside a progress page's greenlet).
    """
    store = store or vault()
    try:
        store.save()
    except OSError as exc:
        store.db.rollback()
        raise AdminError(
            _l(
                "Cannot save the vault (%(reason)s): this change was not recorded. "
                "Free some disk space and try again.",
                reason=exc.strerror or "?",
            )
        ) from exc


def done(message: str, endpoint_url: str) -> Response:
    """After a change: save, say what happened, show the page again (no resubmission)."""
    save()
    flash(message)
    return redirect(endpoint_url, code=303)


def refuse_cross_site() -> None:
    """A form sent from another site (or another origin on this laptop) is refused."""
    if request.method not in UNSAFE_METHODS:
        return
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        abort(403)
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"http://{request.host}":
        abort(403)


def _admin_error(exc: AdminError) -> tuple[str, int]:
    vault().db.rollback()
    return render_template("error.html", message=exc.message), 400


def _csrf_error(_exc: CSRFError) -> tuple[str, int]:
    message = _("This form expired or did not come from this workspace. Open the page again.")
    return render_template("error.html", message=message), 400


def _http_error(exc: HTTPException) -> tuple[str, int]:
    messages = {
        403: _("Refused: this request did not come from this workspace."),
        404: _("There is no such page."),
        405: _("There is no such page."),
        413: _("This form is too large."),
    }
    code = exc.code or 500
    message = messages.get(code, _("Something went wrong."))
    return render_template("error.html", message=message), code


def _globals() -> dict[str, Any]:
    return {
        "languages": i18n.LANGUAGES,
        "current_language": i18n.current_language(),
        "actor": vault().actor,
        "language_name": i18n.language_name,
        "STATUS_WORDS": i18n.STATUS_WORDS,
        "CLOSING_WORDS": i18n.CLOSING_WORDS,
        "RELIABILITY_WORDS": i18n.RELIABILITY_WORDS,
        "CREDIBILITY_WORDS": i18n.CREDIBILITY_WORDS,
    }


def _inert(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Markup):
        return Markup(inert.html(value))  # noqa: S704 - escaped by inert.html
    return value


def init_app(app: Flask) -> None:
    """Hooks, error pages and template helpers."""
    app.before_request(refuse_cross_site)
    app.register_error_handler(AdminError, _admin_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.context_processor(_globals)
    app.jinja_env.filters["size"] = human_size
    # Every string a template prints goes through the one inert-HTML path: escaped, and
    # hidden characters (bidi overrides, zero-width, controls) shown as visible escapes.
    app.jinja_env.finalize = _inert
