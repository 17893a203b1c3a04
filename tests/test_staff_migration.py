"""Migration 0002 (staff tables) goes up over an instance database made by 0001 with data in
it, and comes back down, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
from pathlib import Path

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
        command.upgrade(cfg, "head")
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
