"""Helpers for the staff-app tests: an account made by `sealdrop staff add`'s code, TOTP
codes computed from its otpauth:// URI, and logging in through the real login form."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyotp
from flask.testing import FlaskClient

from crypto.kdf import Argon2Cost
from intake.config import load_config
from intake.db import make_engine, make_sessionmaker
from intake.staff.accounts import TOTP_INTERVAL, add_account
from intake.staff_key import load_or_create_staff_key

NEW_PASSWORD = "a long staff passphrase"


@dataclass
class StaffMember:
    """A staff account's secrets as its owner holds them."""

    name: str
    password: str
    totp: pyotp.TOTP

    def code(self, steps_ahead: int = 0) -> str:
        """The code for now (or the next step: the window accepts one step of drift)."""
        return self.totp.at(time.time() + steps_ahead * TOTP_INTERVAL)


def add_staff(instance: Path, name: str, cost: Argon2Cost) -> StaffMember:
    """Create an account as `sealdrop staff add` does."""
    config = load_config(instance)
    engine = make_engine(config.database_url)
    try:
        with make_sessionmaker(engine)() as db:
            key = load_or_create_staff_key(config.staff_key_path)
            created = add_account(db, key, name, cost, __import__("datetime").date.today())
            db.commit()
    finally:
        engine.dispose()
    return StaffMember(name, created.password, pyotp.parse_uri(created.totp_uri))


def token(client: FlaskClient, path: str = "/staff/login") -> str:
    """The CSRF token of a page's first form."""
    page = client.get(path)
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page.data)
    assert match, (path, page.status_code, page.data[:500])
    return match.group(1).decode()


def post_login(client: FlaskClient, name: str, password: str, code: str) -> Any:
    """Submit the login form."""
    data = {"csrf_token": token(client), "name": name, "password": password, "code": code}
    return client.post("/staff/login", data=data)


def log_in(client: FlaskClient, member: StaffMember, steps_ahead: int = 0) -> None:
    """Log in and, the first time, replace the one-time password."""
    response = post_login(client, member.name, member.password, member.code(steps_ahead))
    assert response.status_code == 303, response.data[:1000]
    if client.get("/staff/").headers.get("Location", "").endswith("/staff/password"):
        data = {
            "csrf_token": token(client, "/staff/password"),
            "current_password": member.password,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        }
        changed = client.post("/staff/password", data=data)
        assert changed.status_code == 303, changed.data[:1000]
        member.password = NEW_PASSWORD
    assert client.get("/staff/").status_code == 200
