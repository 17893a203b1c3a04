"""The PostgreSQL clusters of the tests (.ci/postgres.sh's shared one, and the private ones
of tests/private_postgres.py) are UTF-8 even when started from an empty environment, as on
a fresh minimal Debian, where initdb would otherwise make a SQL_ASCII cluster."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
from private_postgres import PrivatePostgres, postgres_bin
from serve_process import REPO, free_port

pytestmark = pytest.mark.skipif(
    postgres_bin() is None or os.geteuid() != 0, reason="needs PostgreSQL and root, as CI has"
)


def _settings(url: str) -> tuple[str, str]:
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        encoding = conn.execute("SHOW server_encoding").fetchone()
        ctype = conn.execute("SHOW lc_ctype").fetchone()
    assert encoding is not None
    assert ctype is not None
    return str(encoding[0]), str(ctype[0])


def test_the_ci_cluster_is_utf8_from_an_empty_environment() -> None:
    port = free_port()
    data = Path(tempfile.mkdtemp(prefix="sealdrop-ci-pg-test-")) / "data"
    data.parent.chmod(0o755)  # the postgres user makes its data directory inside
    script = f". {REPO}/.ci/postgres.sh && start_test_postgres && echo $SEALDROP_TEST_POSTGRES_URL"
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SEALDROP_TEST_PG_PORT": str(port)}
    env["SEALDROP_TEST_PG_DIR"] = str(data)
    done = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    try:
        assert done.returncode == 0, done.stderr
        assert _settings(done.stdout.strip()) == ("UTF8", "C.UTF-8")
    finally:
        stop = f"{postgres_bin()}/pg_ctl -D {data} -m immediate stop"
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", stop], capture_output=True)
        subprocess.run(["rm", "-rf", str(data.parent)], check=False)


def test_a_private_cluster_is_utf8_whatever_the_callers_locale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LANG", "LC_ALL", "LC_CTYPE", "LC_COLLATE"):
        monkeypatch.delenv(name, raising=False)
    bin_dir = postgres_bin()
    assert bin_dir is not None
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.start()
        assert _settings(cluster.url) == ("UTF8", "C.UTF-8")
    finally:
        cluster.destroy()
