"""The promise to sources, tested as a property through a real gunicorn on loopback: a
canary sent in every field and inside a 5 MiB file appears nowhere on disk afterwards (plain
or UTF-16), yet is inside the sealed envelopes. A client that vanishes mid-upload leaves
nothing behind."""

from __future__ import annotations

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from intake_support import BOUNDARY, MULTIPART, multipart, partial_uploads, submission_parts

from crypto.envelope import Opener
from intake.config import load_config
from intake.storage import EnvelopeStore

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Gunicorn:
    """gunicorn serving intake.wsgi:app for one instance, with a private TMPDIR."""

    def __init__(self, instance: Path, tmpdir: Path, database_url: str | None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SEALDROP_INSTANCE": str(instance), "TMPDIR": str(tmpdir)}
        env["PYTHONPATH"] = str(REPO)
        env.pop("SEALDROP_DATABASE_URL", None)
        if database_url:
            env["SEALDROP_DATABASE_URL"] = database_url
        self.log = tmpdir.parent / "gunicorn.log"
        command = [
            sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--threads", "4",
            "--workers", "1", "--bind", f"127.0.0.1:{self.port}", "intake.wsgi:app",
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()  # never leave a server running behind a failed start
            raise

    def _wait_ready(self) -> None:
        # Generous: on a loaded 2-core machine a worker can take many seconds to boot.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                if requests.get(self.url + "/", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as an operator's restart would."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(instance: Path, tmp_path: Path, database_url: str | None) -> Iterator[Gunicorn]:
    """A running gunicorn; stopped afterwards whatever happens."""
    tmpdir = tmp_path / "gunicorn-tmp"
    tmpdir.mkdir()
    process = Gunicorn(instance, tmpdir, database_url)
    try:
        yield process
    finally:
        process.stop()


def _forms(canary: str) -> list[bytes]:
    return [canary.encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be")]


def _files_containing(roots: list[Path], needles: list[bytes]) -> list[str]:
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                if any(needle in data for needle in needles):
                    found.append(str(path))
    return found


def _token(session: requests.Session, url: str) -> str:
    page = session.get(url + "/")
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_a_canary_never_reaches_the_disk_but_is_sealed_inside(
    server: Gunicorn, instance: Path, tmp_path: Path, admin_keys, database_url: str | None
) -> None:
    canary = f"CANARY-{secrets.token_hex(8)}-秘密"
    session = requests.Session()
    token = _token(session, server.url)
    # The canary in the file: at the start, across a 64 KiB boundary, and at the end.
    content = bytearray(os.urandom(5 * 1024 * 1024))
    raw = canary.encode()
    for offset in (0, 65536 - 5, len(content) // 2, len(content) - len(raw)):
        content[offset : offset + len(raw)] = raw
    fields = [
        ("csrf_token", (None, token)),
        ("website", (None, "")),
        ("narrative", (None, f"They took him. {canary} Nobody knows where.")),
        ("q_when", (None, f"March {canary}")),
        ("files", (f"{canary}.mp4", bytes(content), "video/mp4")),
    ]
    response = session.post(server.url + "/submit", files=fields, timeout=60)
    assert response.status_code == 200, response.text[-500:]
    assert "<bdi" in response.text

    roots = [instance, tmp_path / "gunicorn-tmp"]
    pg_data = os.environ.get("SEALDROP_TEST_PG_DATA")
    if database_url and pg_data:
        roots.append(Path(pg_data))
    needles = _forms(canary)
    assert _files_containing(roots, needles) == []
    server.stop()
    assert _files_containing(roots, needles) == []

    store = EnvelopeStore(load_config(instance).storage_dir)
    opener = Opener([admin_keys.recipient])
    seen = {}
    for envelope_id in store.ids():
        with store.open(envelope_id) as handle:
            opened, data = opener.open_bytes(handle.read())
        seen[opened.metadata["kind"]] = (opened.metadata, data)
    assert canary in seen["message"][1].decode()
    assert canary in seen["message"][0]["answers"]["when"]
    assert seen["file"][0]["filename"] == f"{canary}.mp4"
    assert seen["file"][1] == bytes(content)


def test_an_expired_form_shows_the_canary_back_and_writes_it_nowhere(
    server: Gunicorn, instance: Path, tmp_path: Path, database_url: str | None
) -> None:
    """After New Identity the form comes back with what was typed: in that response only,
    never on disk (not in the database, the storage, gunicorn's temp files or a log)."""
    canary = f"CANARY-{secrets.token_hex(8)}-秘密"
    fresh = requests.Session()  # no CSRF cookie: Tor Browser's New Identity
    fields = [
        ("csrf_token", (None, "IjEyMyI.expired.token")),
        ("website", (None, "")),
        ("narrative", (None, f"A long account. {canary} The end.")),
        ("q_when", (None, f"March {canary}")),
        ("files", (f"{canary}.mp4", canary.encode() * 50_000, "video/mp4")),
    ]
    response = fresh.post(server.url + "/submit", files=fields, timeout=60)
    assert response.status_code == 400
    assert f"A long account. {canary} The end." in response.text  # shown back
    assert f'value="March {canary}"' in response.text
    assert f"{canary}.mp4" not in response.text  # a file cannot be given back
    roots = [instance, tmp_path]  # tmp_path holds gunicorn's temp folder and its log
    pg_data = os.environ.get("SEALDROP_TEST_PG_DATA")
    if database_url and pg_data:
        roots.append(Path(pg_data))
    needles = _forms(canary)
    assert _files_containing(roots, needles) == []
    server.stop()  # logs flushed, database closed
    assert _files_containing(roots, needles) == []
    assert [p for p in load_config(instance).storage_dir.iterdir() if p.is_file()] == []


def test_a_client_vanishing_mid_upload_leaves_nothing(
    server: Gunicorn, instance: Path, tmp_path: Path
) -> None:
    session = requests.Session()
    token = _token(session, server.url)
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    body = multipart(submission_parts(token, files=[(b"clip.mp4", os.urandom(3 * 1024 * 1024))]))
    head = (
        f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: {MULTIPART}\r\nContent-Length: {len(body)}\r\nCookie: {cookie}\r\n\r\n"
    ).encode()
    assert BOUNDARY in body
    with socket.create_connection(("127.0.0.1", server.port)) as conn:
        conn.sendall(head + body[: len(body) // 2])
        time.sleep(0.5)  # the server is sealing the file part
    storage = load_config(instance).storage_dir
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and partial_uploads(storage):
        time.sleep(0.1)
    assert partial_uploads(storage) == []
    assert [p for p in storage.iterdir() if p.is_file()] == []
    # The service keeps serving, and a whole submission afterwards works.
    token = _token(session, server.url)
    fields = [("csrf_token", (None, token)), ("narrative", (None, "after the cut"))]
    assert session.post(server.url + "/submit", files=fields, timeout=30).status_code == 200
    assert len([p for p in storage.iterdir() if p.is_file()]) == 1


def test_an_upload_over_the_limit_gets_the_friendly_page(
    instance: Path, tmp_path: Path, database_url: str | None
) -> None:
    config = instance / "config.toml"
    text = config.read_text()
    config.write_text(text.replace("max_file_bytes = 2147483648", "max_file_bytes = 100000"))
    tmpdir = tmp_path / "gunicorn-tmp"
    tmpdir.mkdir()
    server = Gunicorn(instance, tmpdir, database_url)
    try:
        session = requests.Session()
        token = _token(session, server.url)
        fields = [
            ("csrf_token", (None, token)),
            ("narrative", (None, "a long video")),
            ("files", ("video.mp4", os.urandom(20 * 1024 * 1024), "video/mp4")),
        ]
        response = session.post(server.url + "/submit", files=fields, timeout=60)
        assert response.status_code == 413
        assert "A file is larger than this service accepts" in response.text
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        storage = load_config(instance).storage_dir
        assert [p.name for p in storage.rglob("*") if p.is_file()] == []
    finally:
        server.stop()
