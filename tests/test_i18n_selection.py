"""How a request's language is chosen: only `?lang=` (aliases accepted), never a cookie or
Accept-Language, and any other value falls back to English without an error."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from intake import i18n


@pytest.fixture
def database_url() -> None:
    """Pages, not databases: the instance's SQLite is enough."""
    return None


@pytest.mark.parametrize(
    ("value", "catalog"),
    [
        ("zh-Hans", "zh_Hans_CN"),
        ("zh_Hans_CN", "zh_Hans_CN"),
        ("zh-CN", "zh_Hans_CN"),
        ("ZH", "zh_Hans_CN"),
        ("zh-TW", "zh_Hant_TW"),
        ("zh-hk", "zh_Hant_TW"),
        ("zh_Hant", "zh_Hant_TW"),
        ("ug-CN", "ug"),
        ("bo", "bo"),
        ("fr-FR", "fr"),
        (" en ", "en"),
    ],
)
def test_aliases_name_the_same_catalogs(value: str, catalog: str) -> None:
    language = i18n.find_language(value)
    assert language is not None
    assert language.catalog == catalog


@settings(deadline=None)  # a loaded CI machine may pause any call past the default 200 ms
@given(st.text(max_size=40))
def test_any_value_gives_a_known_language_or_none(value: str) -> None:
    language = i18n.find_language(value)
    assert language is None or language in i18n.LANGUAGES


def test_only_uyghur_reads_right_to_left() -> None:
    directions = {language.tag: language.text_direction for language in i18n.LANGUAGES}
    assert directions == {
        "en": "ltr",
        "fr": "ltr",
        "zh-Hans": "ltr",
        "zh-Hant": "ltr",
        "ug": "rtl",
        "bo": "ltr",
    }


@pytest.mark.parametrize("value", ["xx", "zh-XX", "../../etc", "ug" * 30, ""])
def test_unknown_values_fall_back_to_english(client: FlaskClient, value: str) -> None:
    response = client.get("/", query_string={"lang": value})
    assert response.status_code == 200
    assert b'<html lang="en" dir="ltr">' in response.data
    # and the bad value is not echoed into the page's links (short ones could match a token)
    if len(value) >= 5:
        assert value.encode() not in response.data


def test_accept_language_is_ignored(client: FlaskClient) -> None:
    response = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,ug;q=0.8"})
    assert b'<html lang="en" dir="ltr">' in response.data


def test_outside_a_request_the_default_language_is_used(app: Flask) -> None:
    with app.app_context():
        assert i18n.current_language() == i18n.DEFAULT_LANGUAGE
        assert i18n.localize({"fr": "Bonjour", "en": "Hello"}) == "Hello"


def test_template_variables_outside_a_request(app: Flask) -> None:
    """No request (a CLI or a background job): English, left to right, no language links."""
    from flask import render_template_string

    with app.app_context():
        text = render_template_string("{{ language_links|length }} {{ html_lang }} {{ text_dir }}")
    assert text == "0 en ltr"
