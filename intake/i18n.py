"""Languages of the source pages: which one a request asked for, how links keep it, which
way it reads, and how questionnaire labels get translated.

The language travels in the URL (`?lang=zh-Hans`), never in a cookie and never from
Accept-Language: Tor Browser sends the same English header for everyone, and a language
cookie would be one more thing on a seized laptop that says who used the site.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from babel import Locale
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, format_date, format_decimal, get_locale, get_translations, gettext
from werkzeug.exceptions import HTTPException

LANG_PARAM = "lang"
TRANSLATIONS_DIR = Path(__file__).parent / "translations"


@dataclass(frozen=True)
class Language:
    """One language of the source pages."""

    tag: str  # BCP 47 tag: the `?lang=` value and the HTML `lang` attribute
    catalog: str  # the catalog directory name Babel resolves (zh_CN would be ignored)
    native_name: str  # how its readers name it, for the language links

    @property
    def text_direction(self) -> str:
        """'ltr' or 'rtl', from Babel's CLDR data rather than a list of our own."""
        return str(Locale.parse(self.catalog).text_direction)


LANGUAGES: tuple[Language, ...] = (
    Language("en", "en", "English"),
    Language("fr", "fr", "Français"),
    Language("zh-Hans", "zh_Hans_CN", "简体中文"),
    Language("zh-Hant", "zh_Hant_TW", "繁體中文"),
    Language("ug", "ug", "ئۇيغۇرچە"),
    Language("bo", "bo", "བོད་ཡིག"),
)
DEFAULT_LANGUAGE = LANGUAGES[0]

_BY_KEY: dict[str, Language] = {}
for _language in LANGUAGES:
    _BY_KEY[_language.tag.lower()] = _language
    _BY_KEY[_language.catalog.lower()] = _language
# Spellings people and other software use for the same languages.
for _alias, _tag in {
    "zh": "zh-Hans",
    "zh-cn": "zh-Hans",
    "zh-sg": "zh-Hans",
    "zh-hans-cn": "zh-Hans",
    "zh-tw": "zh-Hant",
    "zh-hk": "zh-Hant",
    "zh-mo": "zh-Hant",
    "zh-hant-tw": "zh-Hant",
    "ug-cn": "ug",
    "ug-arab": "ug",
    "bo-cn": "bo",
    "bo-in": "bo",
    "en-us": "en",
    "en-gb": "en",
    "fr-fr": "fr",
}.items():
    _BY_KEY[_alias] = _BY_KEY[_tag.lower()]


def find_language(value: str | None) -> Language | None:
    """The language a `?lang=` value names (any case, `-` or `_`), or None."""
    if not value or len(value) > 20:
        return None
    return _BY_KEY.get(value.strip().lower().replace("_", "-"))


def current_language() -> Language:
    """The language of this request: `?lang=` (also read on POSTs), else the default."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    return find_language(request.args.get(LANG_PARAM)) or DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector: the catalog name of the current language."""
    return current_language().catalog


def keep_language_in_url(endpoint: str | None, values: dict[str, Any]) -> None:
    """Add `?lang=` to every URL the app builds, so a choice survives links, form actions
    and redirects (after a submission and a login too)."""
    if endpoint == "static" or LANG_PARAM in values or not has_request_context():
        return
    chosen = find_language(request.args.get(LANG_PARAM))
    if chosen is not None:
        values[LANG_PARAM] = chosen.tag


@dataclass(frozen=True)
class LanguageLink:
    """A link to the current page in another language."""

    language: Language
    url: str
    current: bool


def _same_page_by_get() -> bool:
    """Whether a plain GET of this request's path shows a page (not a 404 or a 405)."""
    try:
        current_app.url_map.bind("").match(request.path, method="GET")
    except HTTPException:
        return False
    return True


def language_links() -> list[LanguageLink]:
    """Links to this page in every language: the same path when a GET of it shows a page,
    otherwise (an error page, the answer to a POST-only form) the landing page."""
    here = current_language()
    path = request.script_root + "/"
    if request.endpoint != "static" and _same_page_by_get():
        path = request.script_root + request.path
    return [
        LanguageLink(
            language,
            f"{path}?{LANG_PARAM}={language.tag}",
            language == here,
        )
        for language in LANGUAGES
    ]


def localize(label: str | Mapping[str, str] | None) -> str:
    """A questionnaire label in the current language.

    A plain string is an English message id, translated through the catalogs (the default
    questionnaire's labels are extracted by `extract_questionnaire`). An instance may also
    write `{"en": "...", "zh-Hans": "...", ...}`; missing languages fall back to English.
    """
    if label is None:
        return ""
    if isinstance(label, str):
        return gettext(label) if label else ""
    language = current_language()
    for key in (language.tag, language.catalog, DEFAULT_LANGUAGE.tag):
        if label.get(key):
            return label[key]
    return next(iter(label.values()), "")


def page_language() -> dict[str, Any]:
    """Template variables: `html_lang`, `text_dir`, `language_links`, `current_language`."""
    language = current_language()
    return {
        "html_lang": language.tag,
        "text_dir": language.text_direction,
        "language_links": language_links() if has_request_context() else [],
        "current_language": language,
        "languages": LANGUAGES,
        "lang_param": LANG_PARAM,
    }


def init_app(app: Flask) -> Babel:
    """Set up Flask-Babel with our catalogs and URL-carried language selection."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel = Babel(app, locale_selector=select_locale)
    # `{% trans %}` blocks lose their line breaks and indentation, as babel.cfg extracts them,
    # so translators see one clean sentence.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.url_defaults(keep_language_in_url)
    app.context_processor(page_language)
    app.jinja_env.filters["localize"] = localize
    app.jinja_env.filters["day"] = day_text
    app.jinja_env.filters["megabytes"] = megabytes
    app.jinja_env.filters["as_choices"] = as_choices
    return babel


def day_text(value: str) -> str:
    """A day ("2026-12-06", or the start of an ISO timestamp) written the language's way."""
    try:
        day = datetime.date.fromisoformat(value[:10])
    except ValueError:
        return value
    return str(format_date(day, format="long"))


def megabytes(size: int) -> str:
    """A size limit in MB (10^6 bytes, as phones count), rounded down, in the page's digits."""
    tenths = size * 10 // 1_000_000
    return str(format_decimal(tenths / 10, format="#,##0.#"))


def as_choices(answer: str | list[str] | None) -> list[str]:
    """An answer as the list of options chosen (one for a single choice)."""
    if answer is None:
        return []
    return [answer] if isinstance(answer, str) else list(answer)


def locale_is_loaded(language: Language) -> bool:
    """Whether the catalog of `language` is what Flask-Babel uses in a request for it."""
    translations = get_translations()
    expected = (TRANSLATIONS_DIR / language.catalog / "LC_MESSAGES" / "messages.mo").resolve()
    files = [Path(name).resolve() for name in getattr(translations, "files", [])]
    return str(get_locale()) == language.catalog and expected in files


# Keys of a questionnaire file whose string values are shown to sources.
_TRANSLATABLE_KEYS = frozenset(
    {"label", "help", "hint", "text", "title", "description", "placeholder", "legend"}
)
_LIST_KEYS = frozenset({"options", "choices"})


def _questionnaire_strings(node: Any, key: str | None = None) -> Iterator[str]:
    """Every label-like string in a questionnaire JSON value, in document order."""
    if isinstance(node, dict):
        for child_key, child in node.items():
            yield from _questionnaire_strings(child, child_key)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and key in _LIST_KEYS:
                yield item
            else:
                yield from _questionnaire_strings(item, key)
    elif isinstance(node, str) and key in _TRANSLATABLE_KEYS and node.strip():
        yield node


def extract_questionnaire(
    fileobj: IO[bytes],
    keywords: Any,
    comment_tags: Any,
    options: Any,
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extractor for questionnaire JSON files (see babel.cfg)."""
    raw = fileobj.read().decode("utf-8")
    lines = raw.splitlines()
    for message in _questionnaire_strings(json.loads(raw)):
        encoded = json.dumps(message, ensure_ascii=False)
        lineno = next((i for i, line in enumerate(lines, 1) if encoded in line), 1)
        if lineno == 1:
            needle = re.escape(json.dumps(message))
            lineno = next((i for i, line in enumerate(lines, 1) if re.search(needle, line)), 1)
        yield lineno, "gettext", message, ["questionnaire"]
