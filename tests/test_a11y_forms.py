"""Accessibility of the source forms without a browser: every field has a label, hints and
errors are tied to their fields, the honeypot is hidden from people and screen readers, and
every button says what it does. (tests/test_a11y_axe.py checks the rendered pages too.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient
from intake_support import csrf_token, multipart, receipt_of, submission_parts

CONTROLS = ("input", "textarea", "select")


class FormReader(HTMLParser):
    """Collects form controls, labels, ids and buttons of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.controls: list[dict[str, str]] = []
        self.label_for: set[str] = set()
        self.ids: dict[str, str] = {}
        self.buttons: list[str] = []
        self._in_label = 0
        self._in_button = False
        self._hidden_depth = 0
        self._stack: list[str] = []
        self._button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if "id" in values:
            self.ids[values["id"]] = tag
        if tag not in ("input", "br", "meta", "link", "img"):
            self._stack.append(tag)
            if values.get("aria-hidden") == "true" or self._hidden_depth:
                self._hidden_depth += 1
        if tag == "label":
            self._in_label += 1
            if values.get("for"):
                self.label_for.add(values["for"])
        if tag in CONTROLS:
            values["_tag"] = tag
            values["_wrapped"] = "1" if self._in_label else ""
            values["_aria_hidden"] = "1" if self._hidden_depth else ""
            self.controls.append(values)
        if tag == "button":
            self._in_button = True
            self._button_text = ""

    def handle_endtag(self, tag: str) -> None:
        if self._stack and self._stack[-1] == tag:
            self._stack.pop()
            if self._hidden_depth:
                self._hidden_depth -= 1
        if tag == "label" and self._in_label:
            self._in_label -= 1
        if tag == "button":
            self._in_button = False
            self.buttons.append(self._button_text.strip())

    def handle_data(self, data: str) -> None:
        if self._in_button:
            self._button_text += data


def read_forms(html: str) -> FormReader:
    """Parse a page's forms."""
    reader = FormReader()
    reader.feed(html)
    reader.close()
    return reader


def source_pages(client: FlaskClient, tag: str) -> dict[str, str]:
    """The pages with forms, in `tag`, reached the way a source reaches them."""
    pages = {"landing": client.get(f"/?lang={tag}").get_data(as_text=True)}
    pages["login"] = client.get(f"/login?lang={tag}").get_data(as_text=True)
    token = csrf_token(client, f"/login?lang={tag}")
    pages["login error"] = client.post(
        f"/login?lang={tag}", data={"csrf_token": token, "receipt": "12ab"}
    ).get_data(as_text=True)
    token = csrf_token(client, f"/?lang={tag}")
    response = client.post(
        f"/submit?lang={tag}",
        data=multipart(submission_parts(token)),
        content_type="multipart/form-data; boundary=sealdroptestboundary7MA4YWxkTrZu0gW",
    )
    receipt = receipt_of(response.data)
    token = csrf_token(client, f"/login?lang={tag}")
    location = client.post(
        f"/login?lang={tag}", data={"csrf_token": token, "receipt": receipt}
    ).headers["Location"]
    pages["source"] = client.get(location).get_data(as_text=True)
    return pages


@pytest.fixture
def database_url() -> None:
    """Pages, not databases: the instance's SQLite is enough."""
    return None


@pytest.mark.parametrize("tag", ["en", "ug"])
def test_every_visible_field_has_a_label(client: FlaskClient, tag: str) -> None:
    for name, html in source_pages(client, tag).items():
        page = read_forms(html)
        assert page.controls, name
        for control in page.controls:
            if control.get("type") == "hidden" or control["_aria_hidden"]:
                continue
            labelled = control["_wrapped"] or control.get("id", "") in page.label_for
            assert labelled, f"{name}: {control.get('name')} has no label"


@pytest.mark.parametrize("tag", ["en", "ug"])
def test_descriptions_point_at_existing_elements(client: FlaskClient, tag: str) -> None:
    for name, html in source_pages(client, tag).items():
        page = read_forms(html)
        for control in page.controls:
            for ref in control.get("aria-describedby", "").split():
                assert ref in page.ids, f"{name}: {control.get('name')} -> #{ref} missing"


def test_a_login_error_is_tied_to_the_receipt_field(client: FlaskClient) -> None:
    html = source_pages(client, "zh-Hans")["login error"]
    page = read_forms(html)
    field = next(c for c in page.controls if c.get("name") == "receipt")
    assert field.get("aria-invalid") == "true"
    error_id = field["aria-describedby"]
    match = re.search(rf'<p [^>]*id="{error_id}"[^>]*>([^<]+)</p>', html)
    assert match
    assert "24" in match.group(1)  # the message explains the 24 digits, in Chinese
    assert re.search(r"[\u4e00-\u9fff]", match.group(1))


def test_the_file_hint_is_tied_to_the_file_field(client: FlaskClient) -> None:
    page = read_forms(source_pages(client, "en")["landing"])
    files = next(c for c in page.controls if c.get("name") == "files")
    assert files.get("aria-describedby") == "files-hint"


def test_the_honeypot_is_hidden_from_people_and_screen_readers(client: FlaskClient) -> None:
    for name in ("landing", "source"):
        page = read_forms(source_pages(client, "en")[name])
        trap = next(c for c in page.controls if c.get("name") == "website")
        assert trap["_aria_hidden"]
        assert trap.get("tabindex") == "-1"
        assert trap.get("autocomplete") == "off"


@pytest.mark.parametrize("tag", ["en", "zh-Hans", "ug", "bo"])
def test_every_button_says_what_it_does(client: FlaskClient, tag: str) -> None:
    for name, html in source_pages(client, tag).items():
        page = read_forms(html)
        assert page.buttons, name
        assert all(len(text) >= 2 for text in page.buttons), (name, page.buttons)
