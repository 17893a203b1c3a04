"""The Tor2web refusal page speaks every source language, each in its own script and
direction, with nothing loaded from elsewhere."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from i18n_checks import read_page, script_problems

from intake import i18n


@pytest.fixture
def database_url() -> None:
    """Pages, not databases: the instance's SQLite is enough."""
    return None


def sections(html: str) -> dict[str, tuple[str, str]]:
    """Each language's section of the page: tag -> (dir, inner HTML)."""
    found = re.findall(r'<section lang="([^"]+)" dir="([^"]+)">(.*?)</section>', html, re.DOTALL)
    return {lang: (direction, inner) for lang, direction, inner in found}


def test_tor2web_visitors_are_warned_in_every_language(client: FlaskClient) -> None:
    response = client.get("/", headers={"X-Tor2web": "encrypted"})
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert html.startswith("<!doctype html>")  # standards mode: nothing before the doctype
    parts = sections(html)
    assert list(parts) == [language.tag for language in i18n.LANGUAGES]
    for language in i18n.LANGUAGES:
        direction, inner = parts[language.tag]
        assert direction == language.text_direction
        wrapped = f'<html lang="{language.tag}" dir="{direction}"><body>{inner}</body></html>'
        assert script_problems(language.tag, read_page(wrapped)) == [], language.tag
        assert "Tor2web" in inner
        assert "https://www.torproject.org/download/" in inner
    page = read_page(html)
    assert page.scripts == 0
    assert page.external == []
    assert len(response.data) <= 30 * 1024
