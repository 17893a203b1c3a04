"""A private schema in the shared test PostgreSQL, so tests never see each other's rows."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, make_url, text


@contextmanager
def postgres_schema(prefix: str = "t") -> Iterator[str]:
    """A database URL whose search_path is a fresh schema; dropped afterwards.

    Skips the test when $SEALDROP_TEST_POSTGRES_URL is unset (.ci/run always sets it).
    """
    base = os.environ.get("SEALDROP_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("SEALDROP_TEST_POSTGRES_URL is not set")
    schema = f"{prefix}_{secrets.token_hex(8)}"
    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()
