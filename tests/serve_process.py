"""Run the real `sealdrop serve` in a subprocess for tests, and always stop it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nobody listens on right now (the kernel's choice)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServeProcess:
    """`sealdrop serve` with its stdout/stderr captured to files (to check what it logs)."""

    def __init__(self, workdir: Path, args: list[str], env: dict[str, str] | None = None) -> None:
        self.stdout_path = workdir / "serve.stdout"
        self.stderr_path = workdir / "serve.stderr"
        self.port = free_port()
        self.staff_port = free_port()
        command = [
            sys.executable,
            "-c",
            "from intake.cli import main; main()",
            "serve",
            *args,
            "--port",
            str(self.port),
            "--staff-port",
            str(self.staff_port),
            "--workers",
            "1",
        ]
        full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(command, stdout=out, stderr=err, env=full_env, cwd=REPO)

    @property
    def output(self) -> str:
        """Everything written so far to stdout and stderr."""
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(
            errors="replace"
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait for "Ready." (both apps listening); fail with the output if it never comes."""
        deadline = time.monotonic() + timeout
        while "Ready." not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"sealdrop serve did not start:\n{self.output}")
            time.sleep(0.1)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM (the graceful stop) and wait; kill if it overstays."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise
        return self.process.returncode


def raw_request(port: int, request: bytes, timeout: float = 10) -> bytes:
    """Send raw bytes, return every byte of the answer (the connection is closed by us)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(request)
        conn.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
