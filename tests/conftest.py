"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from require_all import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401

from crypto.kdf import TEST_COST, Argon2Cost


@pytest.fixture
def argon2_cost() -> Argon2Cost:
    """The one place tests get Argon2id parameters: libsodium's cheapest, to stay fast."""
    return TEST_COST


# --- intake: admin keys, database, instance, app (tests/test_intake_*.py) ---------------

import dataclasses  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

from nacl.public import PrivateKey  # noqa: E402
from nacl.signing import SigningKey  # noqa: E402
from postgres_schema import postgres_schema  # noqa: E402

from crypto.keys import AdminIdentity  # noqa: E402
from crypto.xwing import XWingPrivateKey  # noqa: E402


@dataclasses.dataclass(frozen=True)
class AdminKeys:
    """A real admin identity with its private halves kept in memory."""

    recipient: XWingPrivateKey | PrivateKey
    signing: SigningKey
    identity: AdminIdentity

    def write_identity(self, path: Path) -> Path:
        """Write admin-identity.pub as `sealdrop-admin init` would."""
        path.write_text(self.identity.to_text(), encoding="utf-8")
        return path


@pytest.fixture
def admin_keys() -> AdminKeys:
    """Fresh offline keys: an X-Wing (hybrid) recipient, as `sealdrop-admin init` makes
    since envelope v2, and an Ed25519 signer."""
    recipient, signing = XWingPrivateKey.generate(), SigningKey.generate()
    return AdminKeys(recipient, signing, AdminIdentity((recipient.public_key,), signing.verify_key))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None means the instance's own SQLite file; "postgres" a private schema."""
    if request.param == "sqlite":
        yield None
    else:
        with postgres_schema() as url:
            yield url


@pytest.fixture
def instance(
    tmp_path: Path,
    admin_keys: AdminKeys,
    argon2_cost: Argon2Cost,
    database_url: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """A real instance made by `sealdrop init`'s code, with the test Argon2id cost."""
    from intake.instance import create_instance

    monkeypatch.delenv("SEALDROP_DATABASE_URL", raising=False)
    directory = tmp_path / "instance"
    create_instance(directory, admin_keys.identity.to_text(), argon2_cost, database_url)
    return directory


# --- admin: cheap key files for `sealdrop-admin init` (tests/test_admin_*.py) -----------


@pytest.fixture
def admin_kdf(argon2_cost: Argon2Cost, monkeypatch: pytest.MonkeyPatch) -> Argon2Cost:
    """Make `sealdrop-admin init` create key files at the test cost (only init reads it)."""
    assert argon2_cost == TEST_COST, "SEALDROP_ADMIN_KDF=test selects crypto.kdf.TEST_COST"
    monkeypatch.setenv("SEALDROP_ADMIN_KDF", "test")
    return argon2_cost


@pytest.fixture
def app(instance: Path):  # type: ignore[no-untyped-def]
    """The source app of the `instance` fixture."""
    from intake import create_app
    from intake.config import load_config

    application = create_app(load_config(instance))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop"].engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    """A Flask test client for the source app."""
    return app.test_client()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium, headless, through Playwright (never `playwright install`)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield launched
        finally:
            launched.close()
