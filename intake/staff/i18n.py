"""Languages of the staff pages: English, French, Simplified and Traditional Chinese.

Chosen like the source pages' (intake/i18n.py): by `?lang=` in the URL, kept in every URL
the app builds, never from a cookie or Accept-Language; links to the same page in each
language. The staff app has its own catalogs (intake/staff/translations).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request
from flask_babel import Babel

from ..i18n import LANG_PARAM, Language, LanguageLink, find_language
from ..i18n import day_text as _day_text
from . import messages

TRANSLATIONS_DIR = Path(__file__).parent / "translations"
STAFF_LANGUAGES: tuple[Language, ...] = tuple(
    language
    for tag in ("en", "fr", "zh-Hans", "zh-Hant")
    if (language := find_language(tag)) is not None
)
DEFAULT = STAFF_LANGUAGES[0]


def staff_language() -> Language:
    """The language of this request, if the staff pages have it; else English."""
    if not has_request_context():
        return DEFAULT
    chosen = find_language(request.args.get(LANG_PARAM))
    return chosen if chosen in STAFF_LANGUAGES else DEFAULT


def _keep_language(endpoint: str | None, values: dict[str, Any]) -> None:
    if endpoint == "stylesheet" or LANG_PARAM in values or not has_request_context():
        return
    chosen = find_language(request.args.get(LANG_PARAM))
    if chosen in STAFF_LANGUAGES and chosen is not None:
        values[LANG_PARAM] = chosen.tag


def _links() -> list[LanguageLink]:
    """This page in each language (the same path; the main page after a POST)."""
    here = staff_language()
    path = request.script_root + (request.path if request.method == "GET" else "/staff/")
    return [
        LanguageLink(language, f"{path}?{LANG_PARAM}={language.tag}", language == here)
        for language in STAFF_LANGUAGES
    ]


def _actor_text(actor: str) -> str:
    """An audit actor: a staff name as it is, the two fixed ones translated."""
    from ..transfer import OPERATOR
    from .views import UNKNOWN_NAME

    fixed = {UNKNOWN_NAME: messages.UNKNOWN_NAME, OPERATOR: messages.OPERATOR}
    return str(fixed.get(actor, actor))


def _page_language() -> dict[str, Any]:
    language = staff_language()
    return {
        "html_lang": language.tag,
        "language_links": _links() if has_request_context() else [],
        "action_text": lambda code: messages.ACTIONS.get(code, code),
        "actor_text": _actor_text,
    }


def init_app(app: Flask) -> Babel:
    """Flask-Babel over the staff catalogs, with URL-carried language selection."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    babel = Babel(app, locale_selector=lambda: staff_language().catalog)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.url_defaults(_keep_language)
    app.context_processor(_page_language)
    app.jinja_env.filters["day"] = lambda value: _day_text(str(value))
    return babel
