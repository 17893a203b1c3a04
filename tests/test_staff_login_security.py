"""Staff login under attack, on SQLite and PostgreSQL: one TOTP code logs in once however
many parallel requests carry it; the throttle holds under parallel guesses; a name without
an account is answered exactly like a real one; failed and replayed logins reach the audit;
a copy of the database yields no TOTP secret."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from nacl import pwhash
from sqlalchemy import select, text
from staff_support import StaffMember, add_staff, post_login, token

from crypto.kdf import Argon2Cost
from intake import create_staff_app
from intake.config import load_config
from intake.models import StaffAccount, StaffAudit
from intake.staff.accounts import FREE_FAILURES
from intake.staff.views import REPLAYED_CODE, UNKNOWN_NAME, WRONG_LOGIN
from intake.staff_key import load_staff_key

PARALLEL = 6
# Slower than the test cost, so parallel checks surely overlap (the race was in that gap).
OVERLAP_COST = Argon2Cost(opslimit=2, memlimit=16 * 1024 * 1024)


@pytest.fixture
def staff_app(instance: Path) -> Iterator[Flask]:
    """A staff app whose gate lets every parallel request check at once."""
    config = instance / "config.toml"
    config.write_text(
        config.read_text().replace(
            "max_concurrent_derivations = 4", f"max_concurrent_derivations = {PARALLEL + 2}"
        )
    )
    application = create_staff_app(load_config(instance))
    application.config["TESTING"] = True
    yield application
    application.extensions["sealdrop_staff"].engine.dispose()


def _in_parallel(app: Flask, attempt: Callable[[FlaskClient], Any], count: int) -> list[Any]:
    """Run `attempt` in `count` threads, each with its own browser, released together."""
    browsers = [app.test_client() for _ in range(count)]
    for browser in browsers:
        token(browser)  # each gets its CSRF cookie first, so only the POSTs race
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = attempt(browsers[index])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _post(browser: FlaskClient, name: str, password: str, code: str) -> tuple[int, bytes]:
    response = post_login(browser, name, password, code)
    return response.status_code, response.data


def _audit(app: Flask) -> list[tuple[str, str]]:
    with app.extensions["sealdrop_staff"].sessions() as db:
        return [(a.actor, a.action) for a in db.scalars(select(StaffAudit).order_by(StaffAudit.id))]


def test_one_code_logs_in_once_among_parallel_logins(instance: Path, staff_app: Flask) -> None:
    member = add_staff(instance, "amina", OVERLAP_COST)
    for steps_ahead in (0, 1):  # twice, with the code of this step and of the next
        code = member.code(steps_ahead)
        results = _in_parallel(
            staff_app, lambda b, c=code: _post(b, member.name, member.password, c), PARALLEL
        )
        statuses = sorted(status for status, _ in results)
        assert statuses.count(303) == 1, statuses
        # The others: the code was used already, or the parallel failures earned a wait.
        for status, body in results:
            assert status in (303, 401, 429)
            if status == 401:
                assert REPLAYED_CODE.encode() in body
        logins = [entry for entry in _audit(staff_app) if entry[1] == "login"]
        assert len(logins) == 1 + steps_ahead


def test_parallel_guesses_get_no_more_free_tries_than_serial_ones(
    instance: Path, staff_app: Flask
) -> None:
    member = add_staff(instance, "amina", OVERLAP_COST)
    results = _in_parallel(
        staff_app, lambda b: _post(b, member.name, "wrong guess", "000000"), PARALLEL + 2
    )
    statuses = [status for status, _ in results]
    # Each attempt is counted before it is checked: the (FREE_FAILURES + 1)th sets the wait.
    assert statuses.count(401) <= FREE_FAILURES + 1, statuses
    assert statuses.count(429) >= PARALLEL + 2 - FREE_FAILURES - 1, statuses


def _answers(app: Flask, name: str, password: str) -> list[tuple[int, str]]:
    """Six failed logins in a row: status and the message shown, for one name."""
    browser = app.test_client()
    answers = []
    for _ in range(FREE_FAILURES + 3):
        status, body = _post(browser, name, password, "000000")
        message = body.split(b'role="alert"', 1)[-1].split(b"</p>", 1)[0].decode()
        answers.append((status, message.split("Try again in")[0]))
    return answers


def test_an_unknown_name_is_answered_like_a_real_one(
    instance: Path, staff_app: Flask, argon2_cost: Argon2Cost, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_staff(instance, "amina", argon2_cost)
    checks: list[str] = []
    real_verify = pwhash.verify

    def counting_verify(hashed: bytes, password: bytes) -> bool:
        checks.append("argon2id")
        return bool(real_verify(hashed, password))

    monkeypatch.setattr(pwhash, "verify", counting_verify)
    real = _answers(staff_app, "amina", "wrong password")
    real_checks = len(checks)
    checks.clear()
    unknown = _answers(staff_app, "nobody", "wrong password")
    assert unknown == real
    assert [status for status, _ in real] == [401] * (FREE_FAILURES + 1) + [429, 429]
    assert str(WRONG_LOGIN) in real[0][1]
    # The same Argon2id work: one check per attempt that was not throttled.
    assert len(checks) == real_checks == FREE_FAILURES + 1


def test_failed_and_replayed_logins_reach_the_audit_without_the_names_tried(
    instance: Path, staff_app: Flask, argon2_cost: Argon2Cost
) -> None:
    member = add_staff(instance, "amina", argon2_cost)
    browser = staff_app.test_client()
    assert _post(browser, member.name, "wrong password", member.code())[0] == 401
    typo = "my-password-in-the-name-field"
    assert _post(browser, typo, member.password, member.code())[0] == 401
    code = member.code()
    assert _post(browser, member.name, member.password, code)[0] == 303
    assert _post(staff_app.test_client(), member.name, member.password, code)[0] == 401
    assert _audit(staff_app) == [
        ("amina", "login-failed"),
        (UNKNOWN_NAME, "login-failed"),
        ("amina", "login"),
        ("amina", "login-replayed"),
    ]
    with staff_app.extensions["sealdrop_staff"].sessions() as db:
        rows = db.execute(text("SELECT * FROM staff_audit")).all()
        throttle = db.execute(text("SELECT * FROM staff_login_throttle")).all()
    assert typo not in repr(rows) + repr(throttle)
    # Days only: the audit has no column that could hold a time or an address.
    with staff_app.extensions["sealdrop_staff"].engine.connect() as conn:
        columns = conn.execute(text("SELECT * FROM staff_audit")).keys()
    assert sorted(columns) == ["action", "actor", "day", "detail", "id"]


def test_a_copy_of_the_database_yields_no_totp_secret(
    instance: Path, staff_app: Flask, argon2_cost: Argon2Cost
) -> None:
    member = add_staff(instance, "amina", argon2_cost)
    config = load_config(instance)
    with staff_app.extensions["sealdrop_staff"].sessions() as db:
        stored = db.scalars(select(StaffAccount.totp_secret)).one()
    assert member.totp.secret not in stored
    if config.database_url.startswith("sqlite"):
        for path in config.database_path.parent.glob(config.database_path.name + "*"):
            assert member.totp.secret.encode() not in path.read_bytes(), path
    key = load_staff_key(config.staff_key_path)
    assert key.open("amina", stored) == member.totp.secret
    assert oct(config.staff_key_path.stat().st_mode & 0o777) == "0o600"


def test_a_secret_moved_to_another_account_or_a_lost_key_fails_closed(
    instance: Path, staff_app: Flask, argon2_cost: Argon2Cost
) -> None:
    amina = add_staff(instance, "amina", argon2_cost)
    bo = add_staff(instance, "bo", argon2_cost)
    sessions = staff_app.extensions["sealdrop_staff"].sessions
    with sessions() as db:
        accounts = {a.name: a for a in db.scalars(select(StaffAccount))}
        accounts["bo"].totp_secret = accounts["amina"].totp_secret
        db.commit()
    # Whoever can write the database cannot give bo amina's authenticator.
    assert _post(staff_app.test_client(), "bo", bo.password, amina.code())[0] == 401
    assert _post(staff_app.test_client(), "amina", amina.password, amina.code())[0] == 303
    config = load_config(instance)
    config.staff_key_path.unlink()
    fresh = create_staff_app(config)  # a new key is made: the old secrets no longer open
    try:
        later = StaffMember("amina", amina.password, amina.totp)
        status, body = _post(fresh.test_client(), later.name, later.password, later.code(1))
        assert status == 401
        assert WRONG_LOGIN.encode() in body
    finally:
        fresh.extensions["sealdrop_staff"].engine.dispose()
