"""Alembic migrations give exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from intake.config import load_config
from intake.db import make_engine, upgrade_database
from intake.models import Base


def test_upgrade_head_on_an_empty_database_matches_the_models(instance: Path) -> None:
    engine = make_engine(load_config(instance).database_url)
    try:
        upgrade_database(engine)  # idempotent: init already ran it
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
            tables = set(inspect(conn).get_table_names())
        assert {"sources", "envelopes", "replies", "source_sessions"} <= tables
    finally:
        engine.dispose()


def test_sqlite_runs_with_wal_and_secure_delete(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        upgrade_database(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
    finally:
        engine.dispose()


def test_concurrent_upgrades_from_an_empty_database_do_not_collide(
    tmp_path: Path, database_url: str | None
) -> None:
    """Every gunicorn worker migrates as it builds its app; they take turns."""
    import threading

    url = database_url or f"sqlite:///{tmp_path / 'race.db'}"
    engines = [make_engine(url) for _ in range(4)]
    errors: list[BaseException] = []

    def migrate(engine) -> None:
        try:
            upgrade_database(engine)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=migrate, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert errors == []
        with engines[0].connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        for engine in engines:
            engine.dispose()
