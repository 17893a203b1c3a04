"""The source pages in every language, through the real app: each page in its own script
and direction, no English left over, the language kept through the whole flow by the URL
(never a cookie), full-width receipt digits, and every page within 30 KB."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from i18n_checks import read_page, script_problems
from intake_support import csrf_token, multipart, receipt_of, submission_parts

from intake import errors, i18n, messages

TAGS = [language.tag for language in i18n.LANGUAGES]
MAX_PAGE_BYTES = 30 * 1024
NATIVE_NAMES = ["English", "Français", "简体中文", "繁體中文", "ئۇيغۇرچە", "བོད་ཡིག"]


@pytest.fixture
def database_url() -> None:
    """These tests are about pages, not databases: the instance's SQLite is enough."""
    return None


@pytest.fixture
def busy_instance(instance: Path) -> Path:
    """An instance with one derivation slot and no waiting, to show the busy page."""
    config = instance / "config.toml"
    text = config.read_text(encoding="utf-8")
    text = re.sub(r"max_concurrent_derivations = \d+", "max_concurrent_derivations = 1", text)
    text = re.sub(r"derivation_wait_seconds = [\d.]+", "derivation_wait_seconds = 0.0", text)
    config.write_text(text, encoding="utf-8")
    return instance


def page_of(response: Any) -> str:
    """A response body as text."""
    return str(response.get_data(as_text=True))


def lang_in(url: str) -> str | None:
    """The ?lang= value of a URL, if any."""
    values = parse_qs(urlsplit(url).query).get("lang")
    return values[0] if values else None


def assert_reads_as(tag: str, html: str) -> None:
    """The page is in `tag`: html lang, direction from Babel, script, no leftover English."""
    page = read_page(html)
    assert page.html_lang == tag
    expected_dir = "rtl" if tag == "ug" else "ltr"
    assert page.html_dir == expected_dir
    assert script_problems(tag, page) == []


def assert_language_links(html: str, tag: str) -> None:
    """Every language offered by its own name, each link keeping its ?lang=."""
    links = re.findall(r'<a href="([^"]+)" lang="([^"]+)"[^>]*>([^<]+)</a>', html)
    by_lang = {lang: (href, name) for href, lang, name in links}
    assert [by_lang[t][1] for t in TAGS] == NATIVE_NAMES
    for t in TAGS:
        assert lang_in(by_lang[t][0]) == t
    assert re.search(rf'lang="{re.escape(tag)}"[^>]*aria-current="page"', html)


def forms_and_links(html: str) -> list[str]:
    """Every form action and same-site link of a page, language links excluded."""
    actions = re.findall(r'<form[^>]* action="([^"]+)"', html)
    links = re.findall(r'<a href="(/[^"]*)"(?! lang=)', html)
    return [url.replace("&amp;", "&") for url in actions + links]


@pytest.mark.parametrize("tag", TAGS)
def test_each_catalog_directory_is_loaded_and_used(app: Flask, tag: str) -> None:
    language = i18n.find_language(tag)
    assert language is not None
    with app.test_request_context(f"/?lang={tag}"):
        assert i18n.locale_is_loaded(language)
        text = render_template("_safety.html")
    if tag != "en":
        assert "Stay safe" not in text
        assert_reads_as(tag, f'<html lang="{tag}" dir="{language.text_direction}">{text}')


@pytest.mark.parametrize("tag", TAGS)
def test_landing_page_with_form_and_questionnaire(client: FlaskClient, tag: str) -> None:
    response = client.get(f"/?lang={tag}")
    html = page_of(response)
    assert response.status_code == 200
    assert_reads_as(tag, html)
    assert_language_links(html, tag)
    assert 'dir="auto"' in html  # the narrative and free-text answers


@pytest.mark.parametrize(
    ("tag", "terms"),
    [
        (
            "zh-Hans",
            ["职业技能教育培训中心", "转化班", "被失踪", "强制采血", "上访者", "法轮功学员"],
        ),
        (
            "zh-Hant",
            ["職業技能教育培訓中心", "轉化班", "被失蹤", "強制採血", "上訪者", "法輪功學員"],
        ),
        ("fr", ["Rééducation forcée", "Disparition forcée", "Pétitionnaire", "Bureau 610"]),
        ("ug", ["قايتا تەربىيەلەش", "مەجبۇرىي ئەمگەك"]),
    ],
)
def test_questionnaire_uses_the_communities_words(
    client: FlaskClient, tag: str, terms: list[str]
) -> None:
    html = page_of(client.get(f"/?lang={tag}"))
    assert [term for term in terms if term not in html] == []


def test_an_instance_questionnaire_can_carry_its_own_labels(
    instance: Path, client: FlaskClient
) -> None:
    """Labels written as {language: text} are picked per language, English as fallback."""
    from intake import create_app
    from intake.config import load_config

    path = instance / "questionnaire.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["questions"].append(
        {"id": "camp_name", "type": "text", "label": {"en": "Name of the camp", "ug": "لاگېر نامى"}}
    )
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    app = create_app(load_config(instance))
    try:
        with app.test_client() as other:
            assert "لاگېر نامى" in page_of(other.get("/?lang=ug"))
            assert "Name of the camp" in page_of(other.get("/?lang=fr"))
    finally:
        app.extensions["sealdrop"].engine.dispose()


@pytest.mark.parametrize("tag", TAGS)
def test_the_language_sticks_through_submit_login_reply_page_and_logout(
    client: FlaskClient, tag: str
) -> None:
    landing = page_of(client.get(f"/?lang={tag}"))
    for url in forms_and_links(landing):
        assert lang_in(url) == tag, url
    action = re.search(r'<form method="post" action="([^"]+)"', landing)
    assert action
    token = csrf_token(client, f"/?lang={tag}")
    body = multipart(submission_parts(token, narrative="他们把我哥哥带走了。"))
    response = client.post(
        action.group(1).replace("&amp;", "&"),
        data=body,
        content_type="multipart/form-data; boundary=sealdroptestboundary7MA4YWxkTrZu0gW",
    )
    receipt_page = page_of(response)
    assert response.status_code == 200
    assert_reads_as(tag, receipt_page)
    receipt = receipt_of(response.data)
    assert f'<bdi dir="ltr">{receipt}</bdi>' in receipt_page
    # The receipt is shown once: switching language must not navigate away from it.
    language_links = re.findall(r"<a [^>]*hreflang=[^>]*>", receipt_page)
    assert len(language_links) == len(TAGS)
    assert all('target="_blank"' in link for link in language_links)
    login_links = [u for u in forms_and_links(receipt_page) if u.startswith("/login")]
    assert login_links
    assert lang_in(login_links[0]) == tag

    login_page = page_of(client.get(login_links[0]))
    assert_reads_as(tag, login_page)
    login_action = forms_and_links(login_page)[0]
    assert lang_in(login_action) == tag
    token = csrf_token(client, login_links[0])
    response = client.post(login_action, data={"csrf_token": token, "receipt": receipt})
    assert response.status_code == 303
    assert lang_in(response.headers["Location"]) == tag

    source_page = page_of(client.get(response.headers["Location"]))
    assert_reads_as(tag, source_page)
    assert_language_links(source_page, tag)
    for url in forms_and_links(source_page):
        assert lang_in(url) == tag, url
    logout = next(u for u in forms_and_links(source_page) if u.startswith("/logout"))
    token = re.findall(r'name="csrf_token" value="([^"]+)"', source_page)[-1]
    response = client.post(logout, data={"csrf_token": token})
    assert response.status_code == 303
    assert lang_in(response.headers["Location"]) == tag


def _signed_payload(value: str) -> Any:
    """The JSON inside a cookie signed by itsdangerous (payload.timestamp.signature)."""
    import base64
    import zlib

    compressed = value.startswith(".")
    segment = value.lstrip(".").split(".", 1)[0]
    data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    return json.loads(zlib.decompress(data) if compressed else data)


@pytest.mark.parametrize("tag", TAGS)
def test_no_cookie_carries_the_language(client: FlaskClient, tag: str) -> None:
    response = client.get(f"/?lang={tag}")
    set_cookies = response.headers.getlist("Set-Cookie")
    assert set_cookies  # the form's CSRF cookie: what the check below looks inside
    for header in set_cookies:
        name, _, rest = header.partition("=")
        value, _, attributes = rest.partition(";")
        assert "lang" not in name.lower()
        assert "lang" not in attributes.lower()
        assert tag.lower() not in attributes.lower()
        # The value is a signed token: its random base64 may contain any two letters, so
        # look at what it says, not at its letters.
        payload = json.dumps(_signed_payload(value)).lower()
        assert "lang" not in payload, payload
        assert f'"{tag.lower()}"' not in payload, payload
    # and the next request without ?lang= is in the default language again
    assert read_page(page_of(client.get("/"))).html_lang == "en"


# What a Chinese IME types: full-width digits (U+FF10..) and the ideographic space.
FULL_WIDTH = {ord(str(d)): 0xFF10 + d for d in range(10)} | {ord(" "): 0x3000}


@pytest.mark.parametrize("tag", ["zh-Hans", "zh-Hant"])
def test_full_width_receipt_digits_log_in(client: FlaskClient, tag: str) -> None:
    token = csrf_token(client, f"/?lang={tag}")
    response = client.post(
        f"/submit?lang={tag}",
        data=multipart(submission_parts(token)),
        content_type="multipart/form-data; boundary=sealdroptestboundary7MA4YWxkTrZu0gW",
    )
    receipt = receipt_of(response.data)
    typed = receipt.translate(FULL_WIDTH)
    assert typed != receipt
    token = csrf_token(client, f"/login?lang={tag}")
    response = client.post(f"/login?lang={tag}", data={"csrf_token": token, "receipt": typed})
    assert response.status_code == 303
    assert lang_in(response.headers["Location"]) == tag
    assert_reads_as(tag, page_of(client.get(response.headers["Location"])))


def error_pages(client: FlaskClient, app: Flask, tag: str) -> dict[str, tuple[int, str]]:
    """Every error a source can meet, in `tag`: through real requests where one can cause
    it, else rendered by the app's own error handler."""
    pages: dict[str, tuple[int, str]] = {}
    response = client.get(f"/no-such-page?lang={tag}")
    pages["404"] = (response.status_code, page_of(response))
    response = client.get(f"/submit?lang={tag}")
    pages["405"] = (response.status_code, page_of(response))
    response = client.post(f"/login?lang={tag}", data={"receipt": "1234"})
    pages["csrf"] = (response.status_code, page_of(response))
    response = client.post(f"/login?lang={tag}", data={"receipt": "1" * 100_000})
    pages["413"] = (response.status_code, page_of(response))
    token = csrf_token(client, f"/login?lang={tag}")
    response = client.post(f"/login?lang={tag}", data={"csrf_token": token, "receipt": "12ab"})
    pages["bad receipt"] = (response.status_code, page_of(response))
    response = client.post(f"/login?lang={tag}", data={"csrf_token": token, "receipt": "1" * 20})
    pages["unknown receipt"] = (response.status_code, page_of(response))
    for status in (403, 429, 500, 503):
        with app.test_request_context(f"/?lang={tag}"):
            html, code = errors.error_page(status)
        pages[str(status)] = (code, html)
    return pages


@pytest.mark.parametrize("tag", TAGS)
def test_every_error_page_is_in_the_language(client: FlaskClient, app: Flask, tag: str) -> None:
    pages = error_pages(client, app, tag)
    expected = {"404": 404, "405": 405, "csrf": 400, "413": 413, "bad receipt": 400}
    expected["unknown receipt"] = 403
    for name, status in expected.items():
        assert pages[name][0] == status, name
    for name, (_status, html) in pages.items():
        try:
            assert_reads_as(tag, html)
        except AssertionError as error:
            raise AssertionError(f"{name} page in {tag}: {error}") from error
        if "<nav" in html:
            assert_language_links(html, tag)
        for url in forms_and_links(html):  # "back to the start page", the login form
            assert lang_in(url) == tag, (name, url)


@pytest.mark.parametrize("tag", TAGS)
def test_busy_page_is_in_the_language(busy_instance: Path, tag: str) -> None:
    from intake import create_app
    from intake.config import load_config

    app = create_app(load_config(busy_instance))
    try:
        client = app.test_client()
        token = csrf_token(client, f"/login?lang={tag}")
        with app.extensions["sealdrop"].gate.slot():  # the only slot is taken
            response = client.post(
                f"/login?lang={tag}", data={"csrf_token": token, "receipt": "1" * 20}
            )
        assert response.status_code == 503
        html = page_of(response)
        assert_reads_as(tag, html)
        with app.test_request_context(f"/?lang={tag}"):
            assert str(messages.BUSY) in html
    finally:
        app.extensions["sealdrop"].engine.dispose()


@pytest.mark.parametrize("tag", TAGS)
def test_every_page_stays_within_30_kb(client: FlaskClient, app: Flask, tag: str) -> None:
    stylesheet = len(client.get("/static/style.css").data)
    sizes = {"landing": len(client.get(f"/?lang={tag}").data)}
    sizes["login"] = len(client.get(f"/login?lang={tag}").data)
    token = csrf_token(client, f"/?lang={tag}")
    response = client.post(
        f"/submit?lang={tag}",
        data=multipart(submission_parts(token)),
        content_type="multipart/form-data; boundary=sealdroptestboundary7MA4YWxkTrZu0gW",
    )
    sizes["receipt"] = len(response.data)
    receipt = receipt_of(response.data)
    token = csrf_token(client, f"/login?lang={tag}")
    location = client.post(
        f"/login?lang={tag}", data={"csrf_token": token, "receipt": receipt}
    ).headers["Location"]
    sizes["source"] = len(client.get(location).data)
    for name, (_status, html) in error_pages(client, app, tag).items():
        sizes[name] = len(html.encode("utf-8"))
    too_big = {name: size + stylesheet for name, size in sizes.items()}
    assert {n: s for n, s in too_big.items() if s > MAX_PAGE_BYTES} == {}


BUNDLED_FONT = {
    "zh-Hans": "Noto Sans SC",
    "zh-Hant": "Noto Sans TC",
    "ug": "Noto Naskh Arabic",
    "bo": "Noto Serif Tibetan",
}


def test_stylesheet_uses_tor_browser_fonts_and_no_web_fonts(client: FlaskClient) -> None:
    css = page_of(client.get("/static/style.css"))
    for banned in ("@font-face", "url(", "@import"):
        assert banned not in css
    for tag, font in BUNDLED_FONT.items():
        rule = re.search(rf":lang\({re.escape(tag)}\)\s*\{{\s*font-family:\s*\"([^\"]+)\"", css)
        assert rule, tag
        assert rule.group(1) == font


SAFETY_ADVICE = [
    "Use Tor Browser with its security level set to Safest: click the shield icon, then "
    "Settings, and choose Safest. This site works fully at that level.",
    "Photos and videos can carry hidden information: the place where they were taken (GPS "
    "position), the date and time, and the phone or camera used. This can point to you.",
    "The original files are stronger evidence, because the same details help us verify them. "
    "Whether you send the originals or copies without this information is your choice.",
    "After you send, you get a receipt: a number of 24 digits. Keep it secret and safe. It is "
    "the only way to read our replies or to add more, and nothing else can recover it, not "
    "even us.",
    "We cannot give emergency help. If you are in danger now, look after your own safety first.",
    "When you are done, close Tor Browser completely.",
    "If your phone may be inspected, for example at a checkpoint, remove Tor Browser and "
    "delete every copy of what you sent: in the gallery, in downloads and in chat apps.",
]


@pytest.mark.parametrize("tag", TAGS)
def test_landing_page_gives_all_the_safety_advice_in_the_language(
    client: FlaskClient, app: Flask, tag: str
) -> None:
    from markupsafe import escape

    html = page_of(client.get(f"/?lang={tag}"))
    with app.test_request_context(f"/?lang={tag}"):
        from flask_babel import gettext

        advice = [str(escape(gettext(text))) for text in SAFETY_ADVICE]
    if tag != "en":
        assert advice != [str(escape(text)) for text in SAFETY_ADVICE]
    assert [text for text in advice if text not in html] == []


@pytest.mark.parametrize("tag", TAGS)
def test_offline_page_is_in_the_language(instance: Path, tag: str) -> None:
    """Without an admin identity every source page is a 503 "offline" page (fail closed)."""
    from intake import create_app
    from intake.config import load_config

    (instance / "admin-identity.pub").unlink()
    app = create_app(load_config(instance))
    try:
        response = app.test_client().get(f"/?lang={tag}")
        assert response.status_code == 503
        html = page_of(response)
        assert_reads_as(tag, html)
        assert_language_links(html, tag)
        with app.test_request_context(f"/?lang={tag}"):
            assert str(messages.OFFLINE_TEXT) in html
        assert len(response.data) <= MAX_PAGE_BYTES
    finally:
        app.extensions["sealdrop"].engine.dispose()
