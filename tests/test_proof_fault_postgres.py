"""Fault: PostgreSQL stopped and started again under a running `sealdrop serve`.

A private cluster (initdb/pg_ctl as the postgres user; the shared CI cluster is never
touched). While the database is down, pages that need it answer 503 with a page a source can
act on, nothing is stored, and no worker dies (no crash loop); once the database is back,
submissions work again without restarting the server."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from intake_support import partial_uploads
from private_postgres import PrivatePostgres, postgres_bin
from proof_support import (
    base_url,
    descendants,
    form_token,
    holdings,
    receipt_in,
    served,
    submit_real,
    wait_for,
)

from intake.instance import create_instance

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A cluster of our own (skipped, like every postgres test, without the CI cluster)."""
    if not os.environ.get("SEALDROP_TEST_POSTGRES_URL"):
        pytest.skip("SEALDROP_TEST_POSTGRES_URL is not set")
    bin_dir = postgres_bin()
    assert bin_dir is not None, "PostgreSQL binaries not found (SEALDROP_TEST_PG_BIN)"
    cluster = PrivatePostgres(bin_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


def _answers(url: str) -> int:
    """The status of GET url, or 0 if nothing answers (a worker still booting)."""
    try:
        return requests.get(url, timeout=10).status_code
    except requests.ConnectionError:
        return 0


def test_database_down_answers_503_then_recovers_without_a_restart(
    private_postgres: PrivatePostgres, tmp_path: Path, admin_keys, argon2_cost
) -> None:
    instance = tmp_path / "instance"
    create_instance(instance, admin_keys.identity.to_text(), argon2_cost, private_postgres.url)
    with served(tmp_path, instance, private_postgres.url) as server:
        url = base_url(server)
        first = submit_real(url, "Before the outage.")
        assert first.status_code == 200, first.text[-500:]
        receipt = receipt_in(first.text)
        processes = descendants(server.process.pid)
        assert len(processes) >= 4  # two arbiters, each with a worker
        before = holdings(instance, private_postgres.url)

        private_postgres.stop()
        session = requests.Session()
        token = form_token(session, url)  # the landing page needs no database
        for _ in range(3):  # several tries: every pooled connection is dead
            fields = [("csrf_token", (None, token)), ("narrative", (None, "During the outage."))]
            down = session.post(url + "/submit", files=fields, timeout=30)
            assert down.status_code == 503, (down.status_code, down.text[-800:])
            assert "nothing was kept" in " ".join(down.text.split())
        token = form_token(session, url, "/login")  # the login form needs none either
        answer = session.post(
            url + "/login", data={"csrf_token": token, "receipt": receipt}, timeout=30
        )
        assert answer.status_code == 503, (answer.status_code, answer.text[-800:])
        assert "<html" in answer.text
        assert "Traceback" not in answer.text
        # Nothing partial: no new envelope file, no partial upload.
        storage = instance / "storage"
        assert sorted(p.name for p in storage.iterdir() if p.is_file()) == list(before.files)
        assert partial_uploads(storage) == []
        # No crash loop: the same arbiters and workers are still serving.
        assert server.process.poll() is None
        assert descendants(server.process.pid) == processes
        # Workers that die during the outage (OOM, a crash) are replaced, and the new ones
        # boot although the database is unreachable: the service does not go down. Both
        # apps' workers (the processes without children) are killed; each app answering
        # again means its new worker built its app.
        workers = [pid for pid in processes if not descendants(pid)]
        assert len(workers) == 2
        for worker in workers:
            os.kill(worker, signal.SIGKILL)
        staff_url = f"http://127.0.0.1:{server.staff_port}/staff/login"
        for page in (url + "/", staff_url):
            assert wait_for(lambda page=page: _answers(page) == 200, 60), server.output[-3000:]
        assert server.process.poll() is None, server.output[-3000:]
        assert len(descendants(server.process.pid)) == len(processes)
        processes = descendants(server.process.pid)

        private_postgres.start()
        again = submit_real(url, "After the outage.")
        assert again.status_code == 200, again.text[-500:]
        back = requests.Session()
        token = form_token(back, url, "/login")
        home = back.post(url + "/login", data={"csrf_token": token, "receipt": receipt}, timeout=30)
        assert home.status_code == 200, home.text[-500:]
        assert descendants(server.process.pid) == processes

    after = holdings(instance, private_postgres.url)
    assert after.sources == before.sources + 1
    assert after.envelopes == before.envelopes + 1
    assert after.consistent


def test_serve_started_before_the_database_comes_up_recovers_on_its_own(
    private_postgres: PrivatePostgres, tmp_path: Path, admin_keys, argon2_cost
) -> None:
    """After a reboot PostgreSQL may start after Sealdrop: serve must come up anyway (503
    meanwhile), not exit, and work as soon as the database is there."""
    instance = tmp_path / "instance"
    create_instance(instance, admin_keys.identity.to_text(), argon2_cost, private_postgres.url)
    private_postgres.stop()
    with served(tmp_path, instance, private_postgres.url) as server:
        url = base_url(server)
        assert "database is unreachable" in server.output
        session = requests.Session()
        token = form_token(session, url)
        fields = [("csrf_token", (None, token)), ("narrative", (None, "Too early."))]
        early = session.post(url + "/submit", files=fields, timeout=30)
        assert early.status_code == 503, early.text[-500:]
        processes = descendants(server.process.pid)
        private_postgres.start()
        late = submit_real(url, "Once the database is up.")
        assert late.status_code == 200, late.text[-500:]
        assert server.process.poll() is None
        assert descendants(server.process.pid) == processes
    after = holdings(instance, private_postgres.url)
    assert (after.sources, after.envelopes) == (1, 1)
    assert after.consistent
