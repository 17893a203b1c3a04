"""Migration 0002 (staff tables) goes up over an instance database made by 0001 with data in
it, and comes back down, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from intake.config import load_config
from intake.db import alembic_config, make_engine


def test_0002_adds_the_staff_tables_and_keeps_what_was_there(instance: Path) -> None:
    engine = make_engine(load_config(instance).database_url)
    cfg = alembic_config(engine)
    try:
        command.downgrade(cfg, "0001")
        assert "staff_accounts" not in inspect(engine).get_table_names()
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO sources VALUES (:id, :key, :day)"),
                {"id": "ab" * 32, "key": bytes(32), "day": datetime.date(2026, 11, 29)},
            )
        command.upgrade(cfg, "0002")
        tables = set(inspect(engine).get_table_names())
        assert {"staff_accounts", "staff_audit"} <= tables
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sources")).scalar() == 1
            columns = {c["name"] for c in inspect(conn).get_columns("staff_accounts")}
        assert {"password_hash", "totp_secret", "last_totp_step", "locked_until"} <= columns
        command.downgrade(cfg, "0001")
        assert not {"staff_accounts", "staff_audit"} & set(inspect(engine).get_table_names())
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()


def test_0003_seals_clear_totp_secrets_of_an_older_instance_on_first_use(
    instance: Path, argon2_cost
) -> None:  # type: ignore[no-untyped-def]
    """An instance from before the staff key: accounts with clear secrets and no key file.
    After the migration and the staff app's first start, every secret is sealed under a new
    0600 key file, and the account still logs in with the codes of its authenticator."""
    import os
    import stat

    import pyotp
    from staff_support import StaffMember, post_login

    from intake import create_staff_app
    from intake.staff.accounts import hash_password
    from intake.staff_key import SEALED_PREFIX, load_staff_key

    config = load_config(instance)
    config.staff_key_path.unlink()  # made by init now; an older instance had none
    engine = make_engine(config.database_url)
    cfg = alembic_config(engine)
    secret = pyotp.random_base32()
    try:
        command.downgrade(cfg, "0002")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO staff_accounts (name, password_hash, totp_secret, "
                    "must_change_password, session_nonce, last_totp_step, failed_logins, "
                    "locked_until, created_day) VALUES ('amina', :hash, :secret, false, "
                    "'00', 0, 2, 0, :day)"
                ),
                {
                    "hash": hash_password("an old staff passphrase", argon2_cost),
                    "secret": secret,
                    "day": datetime.date(2026, 11, 30),
                },
            )
        command.upgrade(cfg, "head")
        assert "staff_login_throttle" in inspect(engine).get_table_names()
        columns = {c["name"] for c in inspect(engine).get_columns("staff_accounts")}
        assert not {"failed_logins", "locked_until"} & columns
        app = create_staff_app(load_config(instance))  # first use: key made, secrets sealed
        try:
            mode = stat.S_IMODE(os.stat(config.staff_key_path).st_mode)
            assert mode == 0o600
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT totp_secret FROM staff_accounts")).scalar()
            assert stored.startswith(SEALED_PREFIX)
            assert secret not in stored
            assert load_staff_key(config.staff_key_path).open("amina", stored) == secret
            member = StaffMember("amina", "an old staff passphrase", pyotp.TOTP(secret))
            browser = app.test_client()
            response = post_login(browser, member.name, member.password, member.code())
            assert response.status_code == 303
        finally:
            app.extensions["sealdrop_staff"].engine.dispose()
        # Sealed secrets cannot go back into the old column: the downgrade refuses.
        with pytest.raises(RuntimeError, match="sealed TOTP secrets"):
            command.downgrade(cfg, "0002")
    finally:
        engine.dispose()
