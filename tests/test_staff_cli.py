"""`sealdrop staff add / remove / list`: a one-time password and an otpauth:// URI shown once,
Argon2id at the instance's cost, no secret ever listed; help with examples."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select
from transfer_support import sealdrop

from intake.cli import main
from intake.config import load_config
from intake.db import make_engine, make_sessionmaker
from intake.models import StaffAccount, StaffAudit
from intake.staff.accounts import password_matches
from intake.staff_key import load_staff_key


def _accounts(instance: Path) -> list[StaffAccount]:
    engine = make_engine(load_config(instance).database_url)
    try:
        with make_sessionmaker(engine)() as db:
            return list(db.scalars(select(StaffAccount)))
    finally:
        engine.dispose()


def test_add_prints_a_strong_one_time_password_and_a_totp_uri(instance: Path, argon2_cost) -> None:  # type: ignore[no-untyped-def]
    result = sealdrop("staff", "add", "--instance", str(instance), "amina")
    assert result.exit_code == 0, result.output
    password = re.search(r"One-time password: (\S+)", result.output).group(1)  # type: ignore[union-attr]
    uri = re.search(r"(otpauth://totp/\S+)", result.output).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"([a-z2-9]{4}-){5}[a-z2-9]{4}", password)
    totp = pyotp.parse_uri(uri)
    assert "amina" in uri
    assert "must be changed at first login" in result.output
    (account,) = _accounts(instance)
    assert account.name == "amina"
    assert account.must_change_password
    # Stored sealed under the staff key file, which a copy of the database lacks.
    assert totp.secret not in account.totp_secret
    key = load_staff_key(load_config(instance).staff_key_path)
    assert key.open("amina", account.totp_secret) == totp.secret
    assert password not in account.password_hash
    assert account.password_hash.startswith("$argon2id$")
    # The hash carries the instance's Argon2id cost (the test cost here).
    assert f"m={argon2_cost.memlimit // 1024},t={argon2_cost.opslimit}" in account.password_hash
    assert password_matches(account.password_hash, password)
    assert not password_matches(account.password_hash, password + "x")

    second = sealdrop("staff", "add", "--instance", str(instance), "bo")
    other = re.search(r"One-time password: (\S+)", second.output).group(1)  # type: ignore[union-attr]
    assert other != password


def test_list_shows_names_and_state_but_no_secret(instance: Path) -> None:
    added = sealdrop("staff", "add", "--instance", str(instance), "amina").output
    password = re.search(r"One-time password: (\S+)", added).group(1)  # type: ignore[union-attr]
    listed = sealdrop("staff", "list", "--instance", str(instance))
    assert listed.exit_code == 0
    assert "amina" in listed.output
    assert "one-time password not changed yet" in listed.output
    (account,) = _accounts(instance)
    for secret in (password, account.totp_secret, account.password_hash, account.session_nonce):
        assert secret not in listed.output


def test_remove_deletes_the_account_and_is_audited(instance: Path) -> None:
    sealdrop("staff", "add", "--instance", str(instance), "amina")
    result = sealdrop("staff", "remove", "--instance", str(instance), "amina")
    assert result.exit_code == 0
    assert _accounts(instance) == []
    assert "No staff accounts" in sealdrop("staff", "list", "--instance", str(instance)).output
    engine = make_engine(load_config(instance).database_url)
    try:
        with make_sessionmaker(engine)() as db:
            actions = [(a.action, a.detail) for a in db.scalars(select(StaffAudit))]
    finally:
        engine.dispose()
    assert actions == [("staff-add", "account amina"), ("staff-remove", "account amina")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "amina"], "there is already a staff account 'amina'"),
        (["add", "_bad"], "a staff name is 1-64 letters"),
        (["add", "a b"], "a staff name is 1-64 letters"),
        (["add", "x" * 65], "a staff name is 1-64 letters"),
        (["remove", "nobody"], "there is no staff account 'nobody'"),
    ],
)
def test_account_mistakes_are_clear_errors(instance: Path, args: list[str], message: str) -> None:
    sealdrop("staff", "add", "--instance", str(instance), "amina")
    before = [(a.name, a.password_hash) for a in _accounts(instance)]
    result = sealdrop("staff", args[0], "--instance", str(instance), *args[1:])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}")
    assert result.output.count("\n") == 1
    assert [(a.name, a.password_hash) for a in _accounts(instance)] == before


def test_a_missing_instance_is_a_usage_error(tmp_path: Path) -> None:
    result = sealdrop("staff", "list", "--instance", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["export"],
        ["import-replies"],
        ["apply-ack"],
        ["purge"],
        ["staff", "add"],
        ["staff", "remove"],
        ["staff", "list"],
    ],
)
def test_every_transfer_and_staff_command_has_help_with_an_example(command: list[str]) -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(main, [*command, "-h"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"sealdrop {' '.join(command)} --instance" in result.output
    doc = (Path(__file__).resolve().parent.parent / "docs" / "staff.md").read_text()
    assert f"sealdrop {' '.join(command)}" in doc
