"""Staff languages of the workspace, and the words for vault values (statuses, grades).

The language is chosen with a `?lang=` link on any page and kept in the session cookie
(this is the staff laptop, not a source's browser); otherwise the browser's preference.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from babel import Locale, UnknownLocaleError
from flask import Flask, request, session
from flask_babel import Babel, get_locale
from flask_babel import lazy_gettext as _l

TRANSLATIONS = Path(__file__).parent / "translations"


@dataclass(frozen=True)
class StaffLanguage:
    """One staff language: its HTML tag, catalog directory and name in itself."""

    tag: str
    catalog: str
    native_name: str


LANGUAGES = (
    StaffLanguage("en", "en", "English"),
    StaffLanguage("fr", "fr", "Français"),
    StaffLanguage("zh-Hans", "zh_Hans_CN", "简体中文"),
    StaffLanguage("zh-Hant", "zh_Hant_TW", "繁體中文"),
)
_BY_TAG = {lang.tag.lower(): lang for lang in LANGUAGES}


def current_language() -> StaffLanguage:
    """The language of this request's page."""
    chosen = session.get("lang", "")
    if isinstance(chosen, str) and chosen.lower() in _BY_TAG:
        return _BY_TAG[chosen.lower()]
    best = request.accept_languages.best_match(
        [lang.tag for lang in LANGUAGES] + ["zh-CN", "zh-TW", "zh-HK", "zh"]
    )
    aliases = {"zh-cn": "zh-hans", "zh": "zh-hans", "zh-tw": "zh-hant", "zh-hk": "zh-hant"}
    key = aliases.get((best or "en").lower(), (best or "en").lower())
    return _BY_TAG.get(key, LANGUAGES[0])


def remember_language() -> None:
    """Keep a `?lang=` choice for the next pages."""
    wanted = request.args.get("lang", "")
    if wanted.lower() in _BY_TAG:
        session["lang"] = _BY_TAG[wanted.lower()].tag


def language_name(code: str | None) -> str:
    """A tip's language (a catalog name like zh_Hans_CN) named in the staff language."""
    if not code:
        return "?"
    try:
        return str(Locale.parse(code).get_display_name(get_locale()))
    except (UnknownLocaleError, ValueError, TypeError):
        return code


def init_app(app: Flask) -> None:
    """Flask-Babel with the workspace's own catalogs."""
    Babel(
        app,
        locale_selector=lambda: current_language().catalog,
        default_translation_directories=str(TRANSLATIONS),
    )
    app.before_request(remember_language)


STATUS_WORDS = {
    "new": _l("new"),
    "triaged": _l("triaged"),
    "verifying": _l("verifying"),
    "corroborated": _l("corroborated"),
    "actioned": _l("actioned"),
    "closed": _l("closed"),
    "on hold - source safety": _l("on hold - source safety"),
}
CLOSING_WORDS = {
    "duplicate": _l("duplicate"),
    "out of scope": _l("out of scope"),
    "insufficient": _l("insufficient"),
    "not credible": _l("not credible"),
}
RELIABILITY_WORDS = {
    "A": _l("completely reliable"),
    "B": _l("usually reliable"),
    "C": _l("fairly reliable"),
    "D": _l("not usually reliable"),
    "E": _l("unreliable"),
    "F": _l("reliability cannot be judged"),
}
CREDIBILITY_WORDS = {
    "1": _l("confirmed by other sources"),
    "2": _l("probably true"),
    "3": _l("possibly true"),
    "4": _l("doubtful"),
    "5": _l("improbable"),
    "6": _l("truth cannot be judged"),
}
INBOX_STATUS_WORDS = {
    "all": _l("all"),
    "unread": _l("unread"),
    "read": _l("read"),
    "new": _l("in no case yet"),
    "in-case": _l("in a case"),
    "starred": _l("starred sources"),
}


def extract_questionnaire(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for admin/questionnaire.json (see admin/workspace/babel.cfg)."""
    data = json.loads(fileobj.read().decode("utf-8"))
    for question in data["questions"]:
        yield 1, "gettext", question["label"], ["questionnaire"]
        for option in question.get("options", []):
            yield 1, "gettext", option["label"], ["questionnaire"]
