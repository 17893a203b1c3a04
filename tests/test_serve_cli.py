"""`sealdrop serve --no-tor` under real gunicorn: headers, limits, logs, graceful stop."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from intake_support import partial_uploads
from serve_process import ServeProcess, free_port, raw_request
from source_form import csrf_token, multipart

from crypto.envelope import Opener
from intake.cli import main
from intake.instance import create_instance


@pytest.fixture
def served_instance(tmp_path: Path, admin_keys, argon2_cost) -> Path:  # type: ignore[no-untyped-def]
    """An instance made by `sealdrop init`'s code (SQLite)."""
    directory = tmp_path / "instance"
    create_instance(directory, admin_keys.identity.to_text(), argon2_cost)
    return directory


@pytest.fixture
def serve(tmp_path: Path, served_instance: Path) -> Iterator[ServeProcess]:
    """`sealdrop serve --no-tor` with a short graceful timeout; always stopped."""
    home = tmp_path / "home"
    home.mkdir()
    process = ServeProcess(
        tmp_path,
        ["--instance", str(served_instance), "--no-tor", "--graceful-timeout", "3"],
        # A home of its own, to see that gunicorn creates nothing there (control socket).
        env={"HOME": str(home), "XDG_RUNTIME_DIR": ""},
    )
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def rows(instance: Path, table: str) -> int:
    """How many rows `table` holds in the instance's SQLite database."""
    with sqlite3.connect(instance / "sealdrop.db") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


@pytest.mark.slow
def test_responses_name_no_software_and_nothing_is_logged(
    serve: ServeProcess, served_instance: Path
) -> None:
    marker = "a-path-that-must-not-be-logged-7f3a"
    files_before = {p for p in served_instance.rglob("*") if p.is_file()}
    apps = ((serve.port, "/", b"csrf_token"), (serve.staff_port, "/staff/login", b"Staff login"))
    for port, path, expected in apps:
        answer = raw_request(port, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer
        assert expected in body
        header_names = [line.split(b":")[0].lower() for line in head.split(b"\r\n")[1:]]
        assert b"server" not in header_names
        assert b"gunicorn" not in answer.lower()
        assert b"python" not in answer.lower()
        assert b"werkzeug" not in answer.lower()
        raw_request(port, f"GET /{marker} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert serve.stop() == 0
    output = serve.output
    assert "WARNING: NOT AN ONION SERVICE (--no-tor)" in output
    assert marker not in output
    assert "GET" not in output
    assert "127.0.0.1 -" not in output
    # No log file appeared in the instance either (the database may have grown).
    files_after = {p for p in served_instance.rglob("*") if p.is_file()}
    assert {p.name for p in files_after - files_before} <= {"sealdrop.db-journal"}
    for file in files_after:
        assert marker.encode() not in file.read_bytes(), file
    # gunicorn's control socket (on by default since 25.1, in $HOME) was never created.
    assert list((served_instance.parent / "home").iterdir()) == []


@pytest.mark.slow
def test_request_line_and_header_limits(serve: ServeProcess) -> None:
    long_line = b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    assert raw_request(serve.port, long_line).startswith(b"HTTP/1.1 414")
    many = b"".join(b"X-Field-%d: x\r\n" % i for i in range(60))
    answer = raw_request(serve.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    big = b"X-Big: " + b"x" * 9000 + b"\r\n"
    answer = raw_request(serve.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + big + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    assert b"gunicorn" not in answer.lower()


@pytest.mark.slow
def test_host_guard_and_tor2web_refusal_through_gunicorn(serve: ServeProcess) -> None:
    foreign = raw_request(serve.port, b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    assert foreign.startswith(b"HTTP/1.1 400")
    tor2web = raw_request(
        serve.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Tor2web: encrypted\r\n\r\n"
    )
    assert tor2web.startswith(b"HTTP/1.1 403")
    assert b"Tor2web" in tor2web
    assert b"csrf_token" not in tor2web


@pytest.mark.slow
def test_a_tip_sent_through_gunicorn_arrives_sealed(
    serve: ServeProcess,
    served_instance: Path,
    admin_keys,  # type: ignore[no-untyped-def]
) -> None:
    narrative = "The convoy left the depot at dawn " + "x" * 20
    evidence = b"evidence-bytes " * 20_000
    with requests.Session() as browser:
        base = f"http://127.0.0.1:{serve.port}"
        token = csrf_token(browser.get(base + "/", timeout=30).text)
        content_type, body = multipart(
            [("csrf_token", token), ("narrative", narrative), ("files", ("clip.bin", evidence))]
        )
        answer = browser.post(
            base + "/submit", data=body, headers={"Content-Type": content_type}, timeout=60
        )
    assert answer.status_code == 200, answer.text
    assert "receipt" in answer.text
    sealed = sorted((served_instance / "storage").glob("*.sealed"))
    assert len(sealed) == 2
    opened = [Opener([admin_keys.recipient]).open_bytes(p.read_bytes()) for p in sealed]
    contents = {meta.metadata["kind"]: content for meta, content in opened}
    assert contents == {"message": narrative.encode(), "file": evidence}
    for path in served_instance.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"convoy" not in data, path
            assert b"evidence-bytes" not in data, path


@pytest.mark.slow
def test_sigterm_during_an_upload_leaves_nothing_half_written(
    serve: ServeProcess, served_instance: Path
) -> None:
    storage = served_instance / "storage"
    with requests.Session() as browser:
        token = csrf_token(browser.get(f"http://127.0.0.1:{serve.port}/", timeout=30).text)
        cookies = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    content_type, body = multipart(
        [
            ("csrf_token", token),
            ("narrative", "half a tip"),
            ("files", ("big.bin", b"y" * 5_000_000)),
        ]
    )
    head = (
        f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", serve.port), timeout=30) as conn:
        conn.sendall(head + body[:1_000_000])
        deadline = time.monotonic() + 60  # generous: the machine may be busy
        while not partial_uploads(storage):
            if time.monotonic() > deadline:
                conn.settimeout(1)
                answer = conn.recv(2000)
                raise AssertionError(f"the upload never started: {answer!r}\n{serve.output}")
            time.sleep(0.05)
        # The source stalls mid-upload (a slow bridge) while the server is stopped.
        started = time.monotonic()
        assert serve.stop() == 0
        stopped_after = time.monotonic() - started
    assert partial_uploads(storage) == []
    assert [p for p in storage.iterdir() if p.name != "tmp"] == []
    assert rows(served_instance, "envelopes") == 0
    assert rows(served_instance, "sources") == 0
    assert "Stopped." in serve.output
    # Graceful: it waited for the upload (3 s here), then gave up on it.
    assert stopped_after >= 3


def test_non_loopback_host_is_refused_with_the_reason(served_instance: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--instance", str(served_instance), "--host", "0.0.0.0", "--no-tor"]
    )
    assert result.exit_code == 1
    assert "Error: --host 0.0.0.0 is not a loopback address" in result.output
    assert "IP addresses" in result.output


def test_missing_instance_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--instance", str(tmp_path / "nope"), "--no-tor"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "loopback_status"), [([], b"400"), (["--allow-loopback"], b"200")]
)
def test_behind_a_system_tor_only_the_given_onion_host_is_answered(
    tmp_path: Path, served_instance: Path, flags: list[str], loopback_status: bytes
) -> None:
    onion = "b" * 56 + ".onion"
    serve = ServeProcess(
        tmp_path, ["--instance", str(served_instance), "--onion-host", onion.upper(), *flags]
    )
    try:
        serve.wait_ready()
        own = raw_request(serve.port, f"GET / HTTP/1.1\r\nHost: {onion}\r\n\r\n".encode())
        assert own.startswith(b"HTTP/1.1 200")
        loopback = raw_request(serve.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert loopback.startswith(b"HTTP/1.1 " + loopback_status)
    finally:
        assert serve.stop() == 0
    assert f"Source onion (give this to sources):  http://{onion}/" in serve.output
    assert "NOT AN ONION SERVICE" not in serve.output


def test_a_malformed_onion_host_is_refused(served_instance: Path) -> None:
    result = CliRunner().invoke(
        main, ["serve", "--instance", str(served_instance), "--onion-host", "example.com"]
    )
    assert result.exit_code == 2
    assert "is not a v3 onion address" in result.output


@pytest.mark.slow
def test_an_upload_slower_than_the_worker_timeout_still_arrives(
    tmp_path: Path, served_instance: Path
) -> None:
    # gthread's `timeout` is a worker heartbeat, not a request limit: an upload that takes
    # three times longer than it (here 2 s against 6 s of trickling) must still arrive.
    port = free_port()
    with (tmp_path / "app.log").open("wb") as log:
        command = [sys.executable, "-m", "intake.serving", "--role", "source", "--workers", "1"]
        command += ["--instance", str(served_instance), "--bind", f"127.0.0.1:{port}"]
        command += ["--heartbeat-timeout", "2", "--allowed-host", "127.0.0.1"]
        app = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
                break
            except requests.ConnectionError:
                assert app.poll() is None
                assert time.monotonic() < deadline
                time.sleep(0.2)
        token = csrf_token(page.text)
        cookies = "; ".join(f"{c.name}={c.value}" for c in page.cookies)
        content_type, body = multipart(
            [("csrf_token", token), ("narrative", "slow tip"), ("files", ("a.bin", b"z" * 60_000))]
        )
        head = (
            f"POST /submit HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookies}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\nConnection: close"
            "\r\n\r\n"
        ).encode()
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(head)
            for offset in range(0, len(body), len(body) // 12 + 1):
                conn.sendall(body[offset : offset + len(body) // 12 + 1])
                time.sleep(0.5)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert time.monotonic() - started > 3 * 2
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        assert len(list((served_instance / "storage").glob("*.sealed"))) == 2
    finally:
        app.terminate()
        app.wait(timeout=30)
    assert "WORKER TIMEOUT" not in (tmp_path / "app.log").read_text()


@pytest.mark.slow
def test_an_app_that_cannot_start_stops_serve_with_a_clear_error(
    tmp_path: Path, served_instance: Path
) -> None:
    (served_instance / "secrets" / "peppers").unlink()
    serve = ServeProcess(tmp_path, ["--instance", str(served_instance), "--no-tor"])
    try:
        serve.process.wait(timeout=60)
    finally:
        serve.stop()
    assert serve.process.returncode == 1
    assert "Error: the source app stopped while starting" in serve.output
    assert "Ready." not in serve.output
