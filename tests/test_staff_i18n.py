"""The staff pages in English, French, Simplified and Traditional Chinese: their catalogs
are complete and compiled, the language is chosen by the links (`?lang=`) and kept through
forms and redirects, and every staff page renders fully in the language chosen."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from flask import Flask
from i18n_checks import read_page, script_problems
from staff_support import StaffMember, add_staff, log_in, post_login, token
from test_i18n_catalogs import KEYWORDS, mo_differences, msgid_key, translations_of

from intake import create_staff_app
from intake.config import load_config
from intake.staff.i18n import STAFF_LANGUAGES, TRANSLATIONS_DIR

ROOT = Path(__file__).resolve().parent.parent
TAGS = [language.tag for language in STAFF_LANGUAGES]
FOREIGN = [tag for tag in TAGS if tag != "en"]


@pytest.fixture
def database_url() -> None:
    """Pages, not databases: the instance's SQLite is enough."""
    return None


@pytest.fixture
def staff_app(instance: Path) -> Iterator[Flask]:
    """The staff app of the `instance` fixture."""
    application = create_staff_app(load_config(instance))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop_staff"].engine.dispose()


@pytest.fixture
def member(instance: Path, argon2_cost) -> StaffMember:  # type: ignore[no-untyped-def]
    """One staff account."""
    return add_staff(instance, "amina", argon2_cost)


def _fresh_staff_msgids() -> set[str]:
    with (ROOT / "babel-staff.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**KEYWORDS, "N_": None}
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords, comment_tags=())
    return {m if isinstance(m, str) else m[0] for _f, _l, m, _c, _x in found}


@pytest.mark.parametrize("language", STAFF_LANGUAGES, ids=TAGS)
def test_each_staff_catalog_is_complete_and_compiled(language) -> None:  # type: ignore[no-untyped-def]
    directory = TRANSLATIONS_DIR / language.catalog / "LC_MESSAGES"
    with (directory / "messages.po").open("rb") as handle:
        catalog = read_po(handle, locale=language.catalog)
    entries = [m for m in catalog if m.id]
    assert _fresh_staff_msgids() - {msgid_key(m) for m in entries} == set()
    assert [msgid_key(m) for m in entries if m.fuzzy or not all(translations_of(m))] == []
    for message in entries:
        wanted = set(re.findall(r"%\(\w+\)[sd]", msgid_key(message)))
        for text in translations_of(message):
            assert set(re.findall(r"%\(\w+\)[sd]", text)) >= wanted - {"%(num)d"}, text
    assert mo_differences(directory / "messages.po", directory / "messages.mo") == []


def _reads_as(tag: str, html: str) -> None:
    page = read_page(html)
    assert page.html_lang == tag
    assert script_problems(tag, page) == [], html[-3000:]


def _pages(staff_app: Flask, member: StaffMember, tag: str) -> dict[str, str]:
    """Every staff page a person can reach, in `tag`."""
    q = f"?lang={tag}"
    pages: dict[str, str] = {}
    anonymous = staff_app.test_client()
    pages["login"] = anonymous.get("/staff/login" + q).get_data(as_text=True)
    data = {"csrf_token": token(anonymous, "/staff/login" + q), "name": "nobody"}
    wrong = anonymous.post("/staff/login" + q, data={**data, "password": "x", "code": "1"})
    assert wrong.status_code == 401
    pages["login failed"] = wrong.get_data(as_text=True)
    for _ in range(4):
        throttled = anonymous.post("/staff/login" + q, data={**data, "password": "x", "code": "1"})
    assert throttled.status_code == 429
    pages["login throttled"] = throttled.get_data(as_text=True)
    pages["form expired"] = anonymous.post("/staff/login" + q, data={}).get_data(as_text=True)
    pages["not found"] = anonymous.get("/staff/nowhere" + q).get_data(as_text=True)
    browser = staff_app.test_client()
    first = post_login(browser, member.name, member.password, member.code())
    assert first.status_code == 303
    pages["choose password"] = browser.get("/staff/password" + q).get_data(as_text=True)
    log_in_after = {
        "csrf_token": token(browser, "/staff/password" + q),
        "current_password": "wrong",
        "new_password": "x" * 20,
        "new_password_again": "x" * 20,
    }
    pages["password error"] = browser.post("/staff/password" + q, data=log_in_after).get_data(
        as_text=True
    )
    return pages


@pytest.mark.parametrize("tag", FOREIGN)
def test_every_staff_page_renders_fully_translated(
    staff_app: Flask, member: StaffMember, tag: str
) -> None:
    pages = _pages(staff_app, member, tag)
    browser = staff_app.test_client()
    log_in(browser, member, steps_ahead=1)
    q = f"?lang={tag}"
    pages["dashboard"] = browser.get("/staff/" + q).get_data(as_text=True)
    form = {"csrf_token": token(browser, "/staff/" + q)}
    pages["nothing to export"] = browser.post("/staff/export" + q, data=form).get_data(as_text=True)
    bad = {"csrf_token": token(browser, "/staff/" + q), "bundle": (io.BytesIO(b"junk"), "r.sdr")}
    refused = browser.post("/staff/replies" + q, data=bad, content_type="multipart/form-data")
    assert refused.status_code == 400
    pages["replies refused"] = refused.get_data(as_text=True)
    empty = browser.post(
        "/staff/ack" + q, data={"csrf_token": token(browser, "/staff/" + q)}
    ).get_data(as_text=True)
    pages["no ack chosen"] = empty
    assert len(pages) == 11
    for name, html in pages.items():
        try:
            _reads_as(tag, html)
        except AssertionError as exc:
            raise AssertionError(f"{tag} {name}: {exc}") from exc
    # The audit shows translated actions, and the unknown name's entry translated too.
    assert "<bdi>amina</bdi>" in pages["dashboard"]


@pytest.mark.parametrize("tag", TAGS)
def test_the_language_is_chosen_by_links_and_kept_through_forms_and_redirects(
    staff_app: Flask, member: StaffMember, tag: str
) -> None:
    browser = staff_app.test_client()
    login_page = browser.get("/staff/login").get_data(as_text=True)
    links = re.findall(r'<a href="(/staff/login\?lang=[^"]+)" lang="([^"]+)"', login_page)
    assert [lang for _url, lang in links] == TAGS
    chosen = dict((lang, url) for url, lang in links)[tag]
    page = browser.get(chosen).get_data(as_text=True)
    assert f'<html lang="{tag}"' in page
    assert f'action="/staff/login?lang={tag}"' in page
    data = {
        "csrf_token": token(browser, f"/staff/login?lang={tag}"),
        "name": "amina",
        "password": member.password,
        "code": member.code(),
    }
    redirected = browser.post(f"/staff/login?lang={tag}", data=data)
    assert redirected.status_code == 303
    assert redirected.headers["Location"].endswith(f"?lang={tag}")
    assert not any(cookie.key == "lang" for cookie in browser._cookies.values())


def test_a_language_the_staff_pages_lack_falls_back_to_english(staff_app: Flask) -> None:
    page = staff_app.test_client().get("/staff/login?lang=ug").get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Staff login" in page
