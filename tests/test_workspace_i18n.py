"""The workspace's staff languages: complete catalogs Babel resolves, placeholders kept, the
right Chinese script, compiled .mo files in step, the questionnaire copy in step with the
intake's, and every page rendered in each language with no English sentence left."""

from __future__ import annotations

import gettext
import json
import re
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from i18n_checks import CJK, SIMPLIFIED_ONLY, TRADITIONAL_ONLY, count_in, read_page
from workspace_support import Filled, filled_vault, workspace

from admin.workspace.i18n import LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "admin" / "workspace" / "translations"
CATALOGS = [lang.catalog for lang in LANGUAGES]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")


def load(name: str) -> Catalog:
    """The committed .po of one catalog."""
    with (TRANSLATIONS / name / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=name)


def real(catalog: Catalog) -> list[Message]:
    """Messages, not the header."""
    return [m for m in catalog if m.id]


def key(message: Message) -> str:
    """The singular msgid."""
    return message.id if isinstance(message.id, str) else message.id[0]


def strings(message: Message) -> list[str]:
    """Every msgstr (one per plural form)."""
    return [message.string] if isinstance(message.string, str) else list(message.string)


def fresh_msgids() -> set[str]:
    """Extract from the workspace's sources now, with its babel.cfg."""
    with (ROOT / "admin" / "workspace" / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS, comment_tags=())
    return {m if isinstance(m, str) else m[0] for _f, _l, m, _c, _x in found}


def test_catalog_directories_are_names_babel_resolves() -> None:
    assert sorted(p.name for p in TRANSLATIONS.iterdir() if p.is_dir()) == sorted(CATALOGS)
    for name in CATALOGS:
        assert str(Locale.parse(name)) == name


def test_extraction_finds_templates_python_and_questionnaire() -> None:
    ids = fresh_msgids()
    assert "Sign and queue the reply" in ids  # a template
    assert "usually reliable" in ids  # admin/workspace/i18n.py (lazy_gettext)
    assert "Where: type of place" in ids  # admin/questionnaire.json
    assert "Forced DNA or blood collection" in ids


@pytest.mark.parametrize("name", CATALOGS)
def test_every_message_is_translated_with_its_placeholders(name: str) -> None:
    catalog = load(name)
    have = {key(m): m for m in real(catalog)}
    missing = fresh_msgids() - set(have)
    assert not missing, f"{name} lacks {sorted(missing)[:5]}"
    for message in have.values():
        assert "fuzzy" not in message.flags, key(message)
        wanted = sorted(PLACEHOLDER.findall(key(message)))
        for text in strings(message):
            assert text.strip(), f"{name}: {key(message)!r} is not translated"
            assert sorted(PLACEHOLDER.findall(text)) == wanted, (name, key(message), text)


@pytest.mark.parametrize(
    ("name", "wrong"), [("zh_Hans_CN", TRADITIONAL_ONLY), ("zh_Hant_TW", SIMPLIFIED_ONLY)]
)
def test_chinese_catalogs_are_in_their_own_script(name: str, wrong: str) -> None:
    for message in real(load(name)):
        for text in strings(message):
            if re.search(r"[A-Za-z]{3,}", key(message)):
                assert count_in(text, *CJK), (name, key(message), text)
            assert not set(text) & set(wrong), (name, text, set(text) & set(wrong))


@pytest.mark.parametrize("name", CATALOGS)
def test_compiled_catalog_matches_its_po(name: str) -> None:
    with (TRANSLATIONS / name / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for message in real(load(name)):
        if isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, message.id
        else:
            assert compiled.ngettext(message.id[0], message.id[1], 5) == strings(message)[-1]


def test_the_questionnaire_copy_matches_the_intakes() -> None:
    # admin never imports intake: it keeps a copy of the questionnaire as data.
    ours = json.loads((ROOT / "admin" / "questionnaire.json").read_text(encoding="utf-8"))
    theirs = json.loads((ROOT / "intake" / "questionnaire.json").read_text(encoding="utf-8"))
    assert ours == theirs


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Filled:
    """One vault for every page in every language."""
    import os

    os.environ["SEALDROP_ADMIN_KDF"] = "test"
    try:
        return filled_vault(tmp_path_factory.mktemp("i18n"))
    finally:
        del os.environ["SEALDROP_ADMIN_KDF"]


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang.tag != "en"], ids=str)
def test_every_page_is_in_the_chosen_language(filled: Filled, lang: object) -> None:
    tag = lang.tag  # type: ignore[attr-defined]
    english = {key(m) for m in real(load("en")) if " " in key(m) and "%(" not in key(m)}
    with workspace(filled.admin.vault) as (browser, vault):
        browser.post("/cases/new", {"title": "C", "tip": "T1"})
        envelope = vault.db.execute(
            "SELECT envelope_id FROM envelopes WHERE kind='file'"
        ).fetchone()[0]
        pages = [
            "/",
            f"/source/{filled.chinese.source_id}",
            f"/file/{envelope}",
            "/cases",
            "/case/1",
            "/search?q=新疆",
            "/transfer",
            "/custody?verify=1",
        ]
        browser.get(f"/?lang={tag}")
        for path in pages:
            html = browser.get(path).text
            for other in LANGUAGES:  # every page links to itself in every staff language
                assert f'href="?lang={other.tag}"' in html, (path, other.tag)
            page = read_page(html)
            assert page.html_lang == tag, path
            assert page.scripts == 0
            assert not page.external, (path, page.external)
            left = sorted(m for m in english if m in page.visible)
            assert not left, (tag, path, left[:5])
            if tag.startswith("zh"):
                assert count_in(page.visible, *CJK) > 20, path
