"""Fuzzing the receipt path over HTTP (hypothesis, Flask test client): whatever a person or a
script types as a receipt, /login never answers 5xx (503 "busy" aside) and never opens a
session, except for the real receipt, which works however its digits are written (any
script's decimal digits, full-width, spaces, dashes)."""

from __future__ import annotations

import dataclasses
import unicodedata
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from intake_support import csrf_token, stored, submit
from proof_support import PROOF

from intake import create_app
from intake.config import LoginPolicy, load_config

# Every Unicode decimal digit, grouped by value: what a receipt's digits may be typed as.
DIGITS: dict[int, list[str]] = {}
for code in range(0x110000):
    char = chr(code)
    if unicodedata.category(char) == "Nd":
        DIGITS.setdefault(unicodedata.digit(char), []).append(char)


@pytest.fixture
def database_url() -> None:
    """The receipt path reads one row: SQLite keeps the fuzzing fast."""
    return None


@pytest.fixture
def app(instance: Path):  # type: ignore[no-untyped-def]
    """The source app, with the failed-login limiter out of the way of the fuzzer."""
    config = load_config(instance)
    config = dataclasses.replace(config, login=LoginPolicy(failures_per_window=10**6))
    application = create_app(config)
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop"].engine.dispose()


@PROOF
@given(typed=st.text(max_size=120) | st.text("0123456789 -\u3000\uff10\uff11", max_size=40))
def test_any_typed_receipt_is_refused_with_a_page_and_opens_no_session(
    app: Flask, client: FlaskClient, typed: str
) -> None:
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "receipt": typed})
    assert response.status_code in (400, 403, 503), response.status_code
    assert b"<h1>" in response.data
    assert stored(app).sessions == 0


@PROOF
@given(data=st.data())
def test_the_real_receipt_opens_however_its_digits_are_written(
    app: Flask, client: FlaskClient, data: st.DataObject
) -> None:
    if not hasattr(app, "_proof_receipt"):
        app._proof_receipt = submit(client)  # type: ignore[attr-defined]
    receipt: str = app._proof_receipt  # type: ignore[attr-defined]
    typed = ""
    for char in receipt.replace(" ", ""):
        typed += data.draw(st.sampled_from(DIGITS[int(char)]))
        typed += data.draw(st.sampled_from(["", "", " ", "-", "\u3000"]))
    fresh = app.test_client()
    token = csrf_token(fresh, "/login")
    response = fresh.post("/login", data={"csrf_token": token, "receipt": typed})
    assert response.status_code == 303, (typed, response.status_code)
    assert response.headers["Location"].split("?")[0].endswith("/source")
    logout = fresh.post("/logout", data={"csrf_token": csrf_token(fresh, "/source")})
    assert logout.status_code in (200, 303)
    assert stored(app).sessions == 0
