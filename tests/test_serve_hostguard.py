"""The host guard through Flask's test client: own hosts only, Tor2web refused."""

from __future__ import annotations

import pytest
from flask import Flask

from intake import hostguard

ONION = "a" * 56 + ".onion"


def guarded_app() -> Flask:
    """A minimal app with the guard installed as the factories install it."""
    app = Flask(__name__)

    @app.before_request
    def registered_first() -> str | None:
        # Registered before the guard, but must run after it.
        return "other hook" if app.config.get("TRIPWIRE", True) else None

    hostguard.init_app(app)

    @app.get("/")
    def index() -> str:
        return "form"

    return app


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:8480", "[::1]:8480", "LOCALHOST"])
def test_loopback_names_pass_the_guard(host: str) -> None:
    response = guarded_app().test_client().get("/", headers={"Host": host})
    assert response.data == b"other hook"


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.2", "b" * 56 + ".onion", ""])
def test_foreign_hosts_get_400_before_any_other_hook(host: str) -> None:
    response = guarded_app().test_client().get("/", headers={"Host": host})
    assert response.status_code == 400
    assert response.data == b"Unknown host.\n"


def test_served_app_answers_only_its_onion_address() -> None:
    app = guarded_app()
    app.config["TRIPWIRE"] = False
    app.config[hostguard.ALLOWED_HOSTS_KEY] = frozenset({ONION})
    client = app.test_client()
    assert client.get("/", headers={"Host": ONION}).data == b"form"
    assert client.get("/", headers={"Host": ONION.upper() + ":80"}).data == b"form"
    assert client.get("/", headers={"Host": "localhost"}).status_code == 400


@pytest.mark.parametrize("value", ["encrypted", "1", ""])
def test_tor2web_requests_get_the_explanation_page(value: str) -> None:
    app = guarded_app()
    response = app.test_client().get("/", headers={"Host": "localhost", "x-tor2web": value})
    assert response.status_code == 403
    page = response.get_data(as_text=True)
    assert "Tor2web" in page
    assert "Do not send anything" in page
    assert "Tor Browser" in page
    assert "<script" not in page.lower()


def test_the_source_app_factory_installs_the_guard(client) -> None:  # type: ignore[no-untyped-def]
    # `client` (tests/conftest.py): the real source app, for SQLite and PostgreSQL.
    assert b"csrf_token" in client.get("/", headers={"Host": "localhost"}).data
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    refused = client.get("/", headers={"Host": "localhost", "X-Tor2web": "1"})
    assert refused.status_code == 403
    assert b"Tor2web" in refused.data
    # The app's own security headers still apply to the refusal.
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'none'")
