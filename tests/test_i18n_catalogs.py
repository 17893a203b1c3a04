"""The translation catalogs: complete, reviewed (no fuzzy), in the right script, compiled
.mo files in step with the .po files, and covering every string the sources hold today."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from i18n_checks import ARABIC, CJK, SIMPLIFIED_ONLY, TIBETAN, TRADITIONAL_ONLY, count_in

from intake import i18n

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "intake" / "translations"
CATALOGS = [language.catalog for language in i18n.LANGUAGES]
# The keywords the Python code marks strings with (Flask-Babel's lazy_gettext as _l),
# as in docs/translations.md's extract command.
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def load_catalog(name: str) -> Catalog:
    """The committed .po of one catalog directory."""
    with (TRANSLATIONS / name / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=name)


def messages(catalog: Catalog) -> list[Message]:
    """Every real message (not the header)."""
    return [message for message in catalog if message.id]


def msgid_key(message: Message) -> str:
    """The singular msgid of a message."""
    return message.id if isinstance(message.id, str) else message.id[0]


def translations_of(message: Message) -> list[str]:
    """Every msgstr of a message (one per plural form)."""
    string = message.string
    return [string] if isinstance(string, str) else list(string)


def fresh_msgids() -> set[str]:
    """Extract from the sources now, with babel.cfg, exactly as the documented command."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=())
    ids = set()
    for _filename, _lineno, message, _comments, _context in found:
        ids.add(message if isinstance(message, str) else message[0])
    return ids


def test_every_language_has_a_catalog_directory_babel_resolves() -> None:
    directories = sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir())
    assert directories == sorted(CATALOGS)
    for name in directories:
        # Flask-Babel looks a locale up by str(Locale): the directory must spell it the same
        # way, or it is silently ignored (zh_CN, zh_Hans).
        assert str(Locale.parse(name)) == name


def test_fresh_extraction_finds_the_strings_of_every_kind_of_source() -> None:
    ids = fresh_msgids()
    assert "Stay safe" in ids  # intake/templates/_safety.html
    assert "Forced re-education" in ids  # intake/questionnaire.json
    assert "Page not found" in ids  # intake/messages.py (lazy_gettext)
    assert len(ids) > 80


@pytest.mark.parametrize("name", CATALOGS)
def test_catalog_covers_every_string_in_the_sources(name: str) -> None:
    have = {msgid_key(m) for m in messages(load_catalog(name))}
    missing = sorted(fresh_msgids() - have)
    assert missing == [], f"run the update step of docs/translations.md for {name}"


@pytest.mark.parametrize("name", CATALOGS)
def test_no_untranslated_or_fuzzy_entry(name: str) -> None:
    catalog = load_catalog(name)
    assert not catalog.fuzzy, "the header is marked fuzzy"
    fuzzy = [msgid_key(m) for m in messages(catalog) if m.fuzzy]
    empty = [msgid_key(m) for m in messages(catalog) if not all(translations_of(m))]
    assert fuzzy == []
    assert empty == []


@pytest.mark.parametrize("name", CATALOGS)
def test_placeholders_survive_translation(name: str) -> None:
    catalog = load_catalog(name)
    problems = [(msgid_key(m), [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []


SCRIPT_OF = {"zh_Hans_CN": CJK, "zh_Hant_TW": CJK, "ug": ARABIC, "bo": TIBETAN}


@pytest.mark.parametrize("name", list(SCRIPT_OF))
def test_every_translation_is_written_in_the_language_script(name: str) -> None:
    wrong = [
        msgid_key(m)
        for m in messages(load_catalog(name))
        if any(count_in(text, *SCRIPT_OF[name]) == 0 for text in translations_of(m))
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("name", "foreign"),
    [("zh_Hans_CN", TRADITIONAL_ONLY), ("zh_Hant_TW", SIMPLIFIED_ONLY)],
)
def test_simplified_and_traditional_are_not_mixed(name: str, foreign: str) -> None:
    mixed = {
        msgid_key(m): "".join(sorted(set("".join(translations_of(m))) & set(foreign)))
        for m in messages(load_catalog(name))
    }
    assert {key: chars for key, chars in mixed.items() if chars} == {}


def mo_differences(po_path: Path, mo_path: Path) -> list[str]:
    """The msgids whose compiled translation differs from the .po's (or is missing)."""
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    with mo_path.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    expected: dict[object, str] = {}
    for message in messages(catalog):
        if isinstance(message.id, str):
            expected[message.id] = str(message.string)
        else:
            for index, text in enumerate(translations_of(message)):
                expected[(message.id[0], index)] = text
    actual = {k: v for k, v in compiled._catalog.items() if k != ""}  # type: ignore[attr-defined]
    keys = set(expected) | set(actual)
    return sorted(str(k) for k in keys if expected.get(k) != actual.get(k))


@pytest.mark.parametrize("name", CATALOGS)
def test_compiled_mo_matches_the_po(name: str) -> None:
    directory = TRANSLATIONS / name / "LC_MESSAGES"
    differences = mo_differences(directory / "messages.po", directory / "messages.mo")
    assert differences == [], f"run `pybabel compile -d intake/translations` ({name})"


def test_a_po_edited_without_recompiling_is_caught(tmp_path: Path) -> None:
    directory = TRANSLATIONS / "fr" / "LC_MESSAGES"
    po = tmp_path / "messages.po"
    text = (directory / "messages.po").read_text(encoding="utf-8")
    po.write_text(text.replace('msgstr "Votre sécurité"', 'msgstr "Restez prudents"'))
    assert mo_differences(po, directory / "messages.mo") == ["Stay safe"]


def test_digit_groups_in_uyghur_are_isolated_left_to_right() -> None:
    """In right-to-left text, "4821 0937 5512" would show its groups in reverse order unless
    isolated (U+2066 LEFT-TO-RIGHT ISOLATE ... U+2069 POP DIRECTIONAL ISOLATE)."""
    bare = []
    for message in messages(load_catalog("ug")):
        for text in translations_of(message):
            outside = re.sub("\u2066[^\u2069]*\u2069", "", text)
            if re.search(r"\d+ \d+", outside):
                bare.append(msgid_key(message))
    assert bare == []
