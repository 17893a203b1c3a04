"""Migration 0004 (X-Wing reply keys) goes up over a database with sources in it and back
down, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
from pathlib import Path

from alembic import command
from sqlalchemy import inspect, text

from intake.config import load_config
from intake.db import alembic_config, make_engine


def test_0004_adds_a_nullable_hybrid_reply_key_and_keeps_the_sources(instance: Path) -> None:
    engine = make_engine(load_config(instance).database_url)
    cfg = alembic_config(engine)
    try:
        command.downgrade(cfg, "0003_staff_login")
        columns = {c["name"] for c in inspect(engine).get_columns("sources")}
        assert "reply_xwing_public_key" not in columns
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO sources VALUES (:id, :key, :day)"),
                {"id": "cd" * 32, "key": b"\x07" * 32, "day": datetime.date(2026, 12, 6)},
            )
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT reply_public_key, reply_xwing_public_key FROM sources")
            ).one()
        assert bytes(row[0]) == b"\x07" * 32
        assert row[1] is None
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE sources SET reply_xwing_public_key = :k"), {"k": b"\x01" * 1216}
            )
        command.downgrade(cfg, "0003_staff_login")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sources")).scalar() == 1
        assert "reply_xwing_public_key" not in {
            c["name"] for c in inspect(engine).get_columns("sources")
        }
        command.upgrade(cfg, "head")
    finally:
        engine.dispose()
