"""`sealdrop serve` with a port already taken by another program: it says which port and
how to choose another, and never says "Ready." (another server's answers fooled it)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from serve_process import REPO, free_port


@pytest.fixture
def squatter() -> Iterator[int]:
    """Another program's HTTP server on a loopback port: it answers every connection."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def answer() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nsomeone else\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        server.close()


@pytest.mark.parametrize(("role", "option"), [("source", "--port"), ("staff", "--staff-port")])
def test_a_taken_port_is_named_before_anything_starts(
    instance: Path, squatter: int, role: str, option: str
) -> None:
    ports = {"--port": str(free_port()), "--staff-port": str(free_port()), option: str(squatter)}
    command = [sys.executable, "-c", "from intake.cli import main; main()", "serve"]
    command += ["--instance", str(instance), "--no-tor", "--workers", "1"]
    command += [word for pair in ports.items() for word in pair]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert f"Error: port {squatter} of the {role} app on 127.0.0.1 cannot be used" in output
    assert "make run PORT=9080 STAFF_PORT=9081" in output
    assert "Ready." not in output


def test_make_run_takes_other_ports() -> None:
    done = subprocess.run(
        ["make", "-n", "-C", str(REPO), "run", "PORT=9080", "STAFF_PORT=9081"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert 'deploy/demo.sh "demo" --port "9080" --staff-port "9081"' in done.stdout
