"""`make run`'s demo (deploy/demo.sh) as a newcomer meets it: log in to the staff app with
the account it prints, send a tip, then type the printed next steps into a plain `sh` with
a minimal PATH (no .venv on it): every one must work, and the first import must show the
instance key fingerprint `sealdrop init` printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest
import requests
from serve_process import REPO, free_port

pytestmark = pytest.mark.slow

BIN = REPO / ".venv" / "bin"
MINIMAL_PATH = "/usr/bin:/bin"


@dataclass
class Demo:
    """A running deploy/demo.sh and what it printed."""

    process: subprocess.Popen[bytes]
    log: Path
    workdir: Path

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(r"^Ready\.", self.output, re.MULTILINE):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the demo did not start:\n{self.output}")
            time.sleep(0.2)

    def next_steps(self) -> str:
        """The printed next steps, as a newcomer would type them (indent removed)."""
        block = self.output.split("DEMO: next steps", 1)[1].split("\n", 1)[1]
        lines = []
        for line in block.splitlines():
            if not line.startswith("  "):
                break
            lines.append(line[2:])
        assert lines, self.output
        return "\n".join(lines) + "\n"


@pytest.fixture
def demo(tmp_path: Path, admin_kdf) -> Iterator[Demo]:  # type: ignore[no-untyped-def]
    """deploy/demo.sh run as `make run` runs it (the .venv's tools first on PATH), in an
    empty directory, on free ports; stopped by SIGTERM to its whole process group."""
    log = tmp_path / "demo.log"
    env = {
        "PATH": f"{BIN}:{MINIMAL_PATH}",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        "SEALDROP_ADMIN_KDF": "test",  # the vault's key files at the cheap test cost
    }
    ports = [str(free_port()), str(free_port())]
    command = ["sh", str(REPO / "deploy" / "demo.sh"), "demo", "--no-tor", "--workers", "1"]
    command += ["--port", ports[0], "--staff-port", ports[1]]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Demo(process, log, tmp_path)
    try:
        running.wait_ready()
        yield running
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


def _log_in_as_printed(output: str) -> None:
    """The staff login the demo prints works: name, one-time password, TOTP URI."""
    url = re.search(r"DEMO: staff app (http://\S+/staff/login)", output).group(1)  # type: ignore[union-attr]
    name = re.search(r"Name: (\S+)", output).group(1)  # type: ignore[union-attr]
    password = re.search(r"One-time password: (\S+)", output).group(1)  # type: ignore[union-attr]
    totp = pyotp.parse_uri(re.search(r"(otpauth://\S+)", output).group(1))  # type: ignore[union-attr]
    staff = requests.Session()
    token = _token(staff.get(url, timeout=30).text)
    form = {"csrf_token": token, "name": name, "password": password, "code": totp.now()}
    response = staff.post(url, data=form, timeout=60)
    assert response.url.endswith("/staff/password"), response.text[-1000:]


def _send_a_tip(output: str) -> None:
    """Step 1 of the printed steps: a source sends a tip at the printed address."""
    url = re.search(r"open (http://127\.0\.0\.1:\d+/) in a browser", output).group(1)  # type: ignore[union-attr]
    source = requests.Session()
    token = _token(source.get(url, timeout=30).text)
    fields = [
        ("csrf_token", (None, token)),
        ("website", (None, "")),
        ("narrative", (None, "A tip sent while trying the demo.")),
    ]
    response = source.post(url + "submit", files=fields, timeout=60)
    assert response.status_code == 200, response.text[-1000:]


def test_the_printed_next_steps_work_as_typed_in_a_plain_shell(demo: Demo) -> None:
    output = demo.output
    _log_in_as_printed(output)
    _send_a_tip(output)
    script = demo.workdir / "typed.sh"
    script.write_text(demo.next_steps())
    done = subprocess.run(
        ["/bin/sh", "-eu", str(script)],
        cwd=Path("/"),  # a new terminal starts elsewhere: the steps begin with cd
        env={"PATH": MINIMAL_PATH, "HOME": str(demo.workdir), "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    typed = done.stdout + done.stderr
    assert done.returncode == 0, f"{demo.next_steps()}\n{typed}"
    assert "Exported 1 envelope(s)" in typed
    # The first import shows the fingerprint `sealdrop init` printed (issue 17 item 3).
    printed = re.search(r"Instance key fingerprint: ([\d ]+)\n", output).group(1)  # type: ignore[union-attr]
    assert re.search(r"Its key fingerprint is ([\d ]+):", typed).group(1) == printed  # type: ignore[union-attr]
    assert "A tip sent while trying the" in typed  # the inbox shows the tip's first words
