"""Every source response: the exact header set, no script, nothing third-party, small pages,
fail closed without a valid admin identity, logs without form content."""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from intake_support import (
    Part,
    csrf_token,
    login,
    nothing_stored,
    post_parts,
    submission_parts,
)

from intake import create_app
from intake.config import Limits, load_config

EXPECTED = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cache-Control": "no-store",
}
ALWAYS = {"Content-Type", "Content-Length", *EXPECTED}
MAY = {"Set-Cookie", "Vary", "Location"}


@pytest.fixture
def app(instance: Path):  # type: ignore[no-untyped-def]
    """The source app with a tiny submission limit, to provoke a 413."""
    config = load_config(instance)
    limits = dataclasses.replace(Limits(), max_file_bytes=1000, max_submission_bytes=5000)
    application = create_app(dataclasses.replace(config, limits=limits))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop"].engine.dispose()


def _responses(client: FlaskClient) -> dict[str, object]:
    """One response of every kind a source can get."""
    out: dict[str, object] = {}
    out["landing"] = client.get("/")
    out["landing-fr"] = client.get("/?lang=fr")
    out["login"] = client.get("/login")
    out["css"] = client.get("/static/style.css")
    out["404"] = client.get("/no/such/page")
    out["404-static"] = client.get("/static/other.css")
    out["405"] = client.put("/")
    out["csrf-login"] = client.post("/login", data={"receipt": "1"})
    token = csrf_token(client)
    big = submission_parts(token, files=[(b"big.bin", b"x" * 2000)])
    out["413"] = post_parts(client, big)
    out["csrf-submit"] = post_parts(client, submission_parts("bad-token"))
    receipt_page = post_parts(client, submission_parts(csrf_token(client)))
    out["receipt"] = receipt_page
    receipt = re.search(rb"<bdi dir=\"ltr\">([0-9 ]+)</bdi>", receipt_page.data).group(1)
    out["bad-receipt"] = login(client, "12")
    out["unknown-receipt"] = login(client, "1111 2222 3333 4444 5555")
    out["source-no-session"] = client.get("/source")
    out["login-ok"] = login(client, receipt.decode())
    out["source"] = client.get("/source")
    out["logout"] = client.post("/logout", data={"csrf_token": csrf_token(client, "/source")})
    return out


def test_every_response_has_exactly_the_security_headers(client: FlaskClient):
    responses = _responses(client)
    statuses = {name: r.status_code for name, r in responses.items()}
    assert statuses["404"] == 404
    assert statuses["413"] == 413
    assert statuses["csrf-login"] == statuses["csrf-submit"] == 400
    assert statuses["405"] == 405
    for name, response in responses.items():
        names = set(response.headers.keys())
        assert names >= ALWAYS, name
        assert names <= ALWAYS | MAY, (name, names - ALWAYS - MAY)
        for header, value in EXPECTED.items():
            assert response.headers.get_all(header) == [value], (name, header)


def test_the_server_error_page_has_the_headers_and_logs_no_content(
    app: Flask, caplog: pytest.LogCaptureFixture
):
    def boom() -> str:
        raise ValueError("CANARY-narrative-text-7731")

    app.add_url_rule("/boom", "boom", boom)
    app.config["TESTING"] = False
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/boom?q=CANARY-query-5512")
    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    for header, value in EXPECTED.items():
        assert response.headers[header] == value
    assert "ValueError" in caplog.text
    assert "CANARY" not in caplog.text


def test_no_script_and_nothing_third_party_on_any_page(client: FlaskClient):
    for name, response in _responses(client).items():
        text = response.data.decode()
        assert "<script" not in text.lower(), name
        assert not re.search(r"(?i)\bon[a-z]+\s*=", text), name  # no inline event handlers
        assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+", text.replace("<!doctype", "")), name
        assert "@import" not in text, name
        assert "url(" not in text, name


def test_the_landing_page_with_its_stylesheet_is_at_most_30_kb(client: FlaskClient):
    page = client.get("/")
    css = client.get("/static/style.css")
    assert b'<link rel="stylesheet" href="/static/style.css">' in page.data
    assert len(page.data) + len(css.data) <= 30 * 1024


def test_the_language_comes_from_the_url_and_no_cookie_records_it(client: FlaskClient):
    page = client.get("/?lang=fr")
    assert b'action="/submit?lang=fr"' in page.data
    assert all("lang" not in c for c in page.headers.get_all("Set-Cookie"))


def test_the_landing_form_puts_the_token_and_honeypot_before_any_file(client: FlaskClient):
    html = client.get("/").data.decode()
    form = html[html.index("<form") :]
    assert form.index('name="csrf_token"') < form.index('name="website"')
    assert form.index('name="website"') < form.index('name="narrative"')
    assert form.index('name="narrative"') < form.index('type="file"')


@pytest.mark.parametrize("damage", ["missing", "garbage", "wrong-fingerprint"])
def test_without_a_valid_admin_identity_every_source_page_is_offline(instance: Path, damage):
    path = instance / "admin-identity.pub"
    if damage == "missing":
        path.unlink()
    elif damage == "garbage":
        path.write_bytes(b"\xff\xfe not an identity")
    else:
        text = re.sub(
            r"fingerprint: .*", "fingerprint: 0000 0000 0000 0000 0000 0001", path.read_text()
        )
        path.write_text(text)
    app = create_app(load_config(instance))
    client = app.test_client()
    body = Part(b"narrative", b"x")
    for response in (
        client.get("/"),
        client.get("/login"),
        client.get("/source"),
        client.get("/nope"),
        client.post("/login", data={"receipt": "1"}),
        post_parts(client, [body]),
    ):
        assert response.status_code == 503
        assert b"This service is offline" in response.data
        assert response.headers["Cache-Control"] == "no-store"
    assert nothing_stored(app)
    app.extensions["sealdrop"].engine.dispose()


def test_an_unreachable_database_gives_a_503_page_and_keeps_nothing(app: Flask, client):
    from intake_support import submission_parts as parts
    from sqlalchemy import create_engine

    from intake.db import make_sessionmaker

    token = csrf_token(client)
    receipt_form = csrf_token(client, "/login")
    good = app.extensions["sealdrop"]
    gone = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    app.extensions["sealdrop"] = dataclasses.replace(good, sessions=make_sessionmaker(gone))
    try:
        response = client.post(
            "/login", data={"csrf_token": receipt_form, "receipt": "1111 2222 3333 4444 5555"}
        )
        assert response.status_code == 503
        assert b"not available right now" in response.data
        submitted = post_parts(client, parts(token, files=[(b"a.jpg", b"x" * 100)]))
        assert submitted.status_code == 503
        for header, value in EXPECTED.items():
            assert submitted.headers[header] == value
    finally:
        app.extensions["sealdrop"] = good
        gone.dispose()
    assert nothing_stored(app)
    assert client.get("/").status_code == 200  # back without a restart
