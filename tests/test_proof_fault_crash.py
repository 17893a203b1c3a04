"""Fault: the server killed with SIGKILL (no graceful stop) in the middle of an upload, and
a crash between an envelope's rename and its database commit. After a restart of
`sealdrop serve`: no partial file, no orphan envelope, no orphan row; the next submission
works and is imported on the offline side. SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import requests
from intake_support import partial_uploads
from proof_support import (
    Offline,
    base_url,
    descendants,
    form_token,
    holdings,
    make_offline,
    served,
    submit_real,
    wait_for,
)
from source_form import multipart
from sqlalchemy import create_engine, delete

from intake.config import load_config
from intake.instance import create_instance
from intake.models import Envelope, Source

pytestmark = pytest.mark.slow


@pytest.fixture
def offline(tmp_path: Path) -> Offline:
    """The admin's vault."""
    return make_offline(tmp_path / "offline")


@pytest.fixture
def served_instance(
    tmp_path: Path, offline: Offline, argon2_cost, database_url: str | None
) -> Path:
    """An instance sealing to the vault's keys, on SQLite or PostgreSQL."""
    directory = tmp_path / "instance"
    create_instance(directory, offline.identity_text, argon2_cost, database_url)
    return directory


def _kill_everything(pid: int) -> None:
    """SIGKILL `sealdrop serve` and every process under it at once: nothing runs a handler."""
    victims = descendants(pid) | {pid}
    for victim in victims:
        os.kill(victim, signal.SIGKILL)
    for victim in victims:
        wait_for(lambda v=victim: not Path(f"/proc/{v}").exists() or _zombie(v), 10)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _assert_imported(offline: Offline, instance: Path, narrative: str, files: int) -> None:
    report = offline.carry(instance, "after-crash")
    assert report["skipped"] == []
    tips = offline.inbox()
    assert [tip["first_words"] for tip in tips] == [narrative]
    assert tips[0]["files"] == files
    assert holdings(instance).files == ()  # acked: deleted on the server


def test_sigkill_mid_upload_leaves_nothing_and_the_next_tip_is_imported(
    tmp_path: Path, served_instance: Path, offline: Offline, database_url: str | None
) -> None:
    storage = load_config(served_instance).storage_dir
    with served(tmp_path, served_instance, database_url) as server:
        session = requests.Session()
        token = form_token(session, base_url(server))
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        content_type, body = multipart(
            [
                ("csrf_token", token),
                ("narrative", "This upload is cut by a crash."),
                ("files", ("video.mp4", os.urandom(8 * 1024 * 1024))),
            ]
        )
        head = (
            f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", server.port)) as conn:
            conn.sendall(head + body[: len(body) // 2])
            # The server is sealing the file part: a partial envelope exists.
            assert wait_for(lambda: partial_uploads(storage), 20)
            _kill_everything(server.process.pid)
        assert server.process.poll() is not None
    # The crash left its partial write behind (what the restart must clean).
    assert partial_uploads(storage) != []

    with served(tmp_path, served_instance, database_url) as server:
        now = holdings(served_instance, database_url)
        assert now == type(now)(0, 0, 0, 0, (), ())
        narrative = "After the crash, a whole tip."
        answer = submit_real(base_url(server), narrative, [("photo.jpg", os.urandom(200_000))])
        assert answer.status_code == 200, answer.text[-500:]
        assert holdings(served_instance, database_url).consistent
    _assert_imported(offline, served_instance, narrative, files=1)


def test_a_crash_between_rename_and_commit_leaves_no_orphan_after_restart(
    tmp_path: Path, served_instance: Path, offline: Offline, database_url: str | None
) -> None:
    """The state such a crash leaves (envelope files in place, their rows and the new
    source never committed) is made from a real submission by removing its rows."""
    with served(tmp_path, served_instance, database_url) as server:
        lost = submit_real(base_url(server), "Never committed.", [("a.jpg", b"x" * 5000)])
        assert lost.status_code == 200
        _kill_everything(server.process.pid)
    url = load_config(served_instance).database_url
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(delete(Envelope))
        conn.execute(delete(Source))
    engine.dispose()
    crashed = holdings(served_instance)
    assert len(crashed.files) == 2
    assert crashed.envelopes == 0  # two orphan envelope files

    with served(tmp_path, served_instance, database_url) as server:
        assert holdings(served_instance).files == ()
        narrative = "The tip after the restart."
        assert submit_real(base_url(server), narrative).status_code == 200
        time.sleep(0.1)
    _assert_imported(offline, served_instance, narrative, files=0)


def test_a_worker_killed_mid_upload_is_replaced_and_the_service_goes_on(
    tmp_path: Path, served_instance: Path, offline: Offline, database_url: str | None
) -> None:
    """Only the source app's worker dies (an OOM kill): gunicorn starts another, which removes
    the killed upload's sealed partial file (nobody holds its lock any more) when it boots;
    the next tip is stored."""
    storage = load_config(served_instance).storage_dir
    with served(tmp_path, served_instance, database_url) as server:
        url = base_url(server)
        source_port = server.port
        session = requests.Session()
        token = form_token(session, url)
        cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        content_type, body = multipart(
            [
                ("csrf_token", token),
                ("narrative", "Cut by an OOM kill."),
                ("files", ("clip.mp4", os.urandom(6 * 1024 * 1024))),
            ]
        )
        head = (
            f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{source_port}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", source_port)) as conn:
            conn.sendall(head + body[: len(body) // 2])
            assert wait_for(lambda: partial_uploads(storage), 20)
            writer = _process_with_open_file(descendants(server.process.pid), storage / "tmp")
            os.kill(writer, signal.SIGKILL)
            conn.settimeout(20)
            # The connection dies with the worker: closed, or reset when the kernel still
            # held body bytes the worker had not read yet (a race with its reads).
            with contextlib.suppress(ConnectionResetError):
                assert conn.recv(65536) == b""
        narrative = "The next tip, after the worker was replaced."
        assert wait_for(lambda: _status(url) == 200, 60)
        answer = submit_real(url, narrative, [("photo.jpg", os.urandom(100_000))])
        assert answer.status_code == 200, answer.text[-500:]
        assert server.process.poll() is None
        now = holdings(served_instance, database_url)
        assert (now.sources, now.envelopes, len(now.files)) == (1, 2, 2)
        assert now.tmp_files == ()
        assert "unhandled" not in server.output
    _assert_imported(offline, served_instance, narrative, files=1)


def _status(url: str) -> int:
    try:
        return requests.get(url + "/", timeout=10).status_code
    except requests.ConnectionError:
        return 0


def _process_with_open_file(pids: set[int], directory: Path) -> int:
    """The process holding a file under `directory` open (the worker sealing the upload)."""
    for pid in pids:
        try:
            targets = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        except OSError:
            continue
        if any(target.startswith(str(directory)) for target in targets):
            return pid
    raise AssertionError("no process has the partial upload open")


def test_only_partial_files_whose_writer_is_gone_are_swept(tmp_path: Path) -> None:
    """remove_abandoned() (run by every worker as it boots) keeps uploads in progress."""
    from intake.storage import EnvelopeStore

    (tmp_path / "storage" / "tmp").mkdir(parents=True)
    store = EnvelopeStore(tmp_path / "storage")
    live = store.begin()
    live.write(b"sealed bytes of an upload in progress")
    # A writer that died: a child process creates and locks a partial file, then exits.
    code = (
        "import sys; from pathlib import Path; from intake.storage import EnvelopeStore; "
        "p = EnvelopeStore(Path(sys.argv[1])).begin(); p.write(b'x'); p.file.flush(); "
        "import os; os._exit(0)"
    )
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "storage")],
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
    )
    assert done.returncode == 0
    assert len(list(store.tmp_dir.iterdir())) == 2
    assert store.remove_abandoned() == 1
    assert [p.name for p in store.tmp_dir.iterdir()] == [live.tmp_path.name]
    live.commit()
    live.release()
    assert store.remove_abandoned() == 0
    assert list(store.ids()) == [live.envelope_id]
