"""deploy/: the install and demo scripts, the systemd unit and the torrc template."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from serve_process import REPO, free_port

DEPLOY = REPO / "deploy"


def test_install_script_is_valid_bash_and_explains_itself() -> None:
    script = DEPLOY / "install-debian.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", str(script)], check=True)
    shown = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=False)
    assert shown.returncode == 0
    assert "--admin-identity FILE" in shown.stdout
    assert "set -euo" not in shown.stdout
    wrong = subprocess.run([str(script), "--bogus"], capture_output=True, text=True, check=False)
    assert wrong.returncode == 2
    assert wrong.stderr.startswith("Error: unknown argument --bogus")


def test_demo_script_is_posix_sh() -> None:
    # `make run` runs it with sh (dash on Debian), not bash.
    subprocess.run(["sh", "-n", str(DEPLOY / "demo.sh")], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "--shell=sh", str(DEPLOY / "demo.sh")], check=True)


def read_unit() -> dict[str, list[str]]:
    """The [Service] section as name -> every value given (repeated keys kept)."""
    values: dict[str, list[str]] = {}
    section = ""
    for line in (DEPLOY / "sealdrop.service").read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def test_systemd_unit_is_sandboxed() -> None:
    unit = read_unit()
    expected = {
        "User": "sealdrop",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/sealdrop",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "MemoryDenyWriteExecute": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "CapabilityBoundingSet": "",
        "KillSignal": "SIGTERM",
    }
    for key, value in expected.items():
        assert unit.get(key) == [value], key
    assert "@system-service" in unit["SystemCallFilter"]
    assert unit["ExecStart"][0].startswith("/opt/sealdrop/venv/bin/sealdrop serve ")
    # Longer than serve's graceful stop (30 s) plus its clean-up.
    assert int(unit["TimeoutStopSec"][0]) > 30
    parser = configparser.ConfigParser(strict=False)
    parser.read_string((DEPLOY / "sealdrop.service").read_text())
    assert parser["Install"]["WantedBy"] == "multi-user.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="needs systemd-analyze")
def test_systemd_accepts_the_unit_and_rates_its_exposure_low(tmp_path: Path) -> None:
    # The unit as shipped, except ExecStart's program, which exists only once installed.
    unit = tmp_path / "sealdrop.service"
    text = (DEPLOY / "sealdrop.service").read_text()
    unit.write_text(text.replace("/opt/sealdrop/venv/bin/sealdrop serve", "/bin/true serve"))
    verified = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stderr == ""
    # --threshold is in tenths: 20 means "exposure 2.0 or less" (systemd's "OK" band).
    rated = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rated.returncode == 0, rated.stdout


@pytest.mark.tor
@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_torrc_template_is_accepted_by_tor(tmp_path: Path) -> None:
    template = (DEPLOY / "torrc.example").read_text()
    for line in (
        "HiddenServicePoWDefensesEnabled 1",
        "HiddenServiceEnableIntroDoSDefense 1",
        "HiddenServiceMaxStreams 32",
        "HiddenServiceMaxStreamsCloseCircuit 1",
        "HiddenServicePort 80 127.0.0.1:8080",
        "HiddenServicePort 80 127.0.0.1:8081",
    ):
        assert line in template.splitlines()
    torrc = tmp_path / "torrc"
    torrc.write_text(
        template.replace("/var/lib/tor/", f"{tmp_path}/hs/") + f"DataDirectory {tmp_path}/data\n"
    )
    (tmp_path / "hs").mkdir(mode=0o700)
    checked = subprocess.run(
        ["tor", "--verify-config", "-f", str(torrc)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout
    assert "Configuration was valid" in checked.stdout


@pytest.mark.slow
def test_demo_creates_a_loudly_labelled_identity_once_then_serves(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    args = ["--no-tor", "--port", str(free_port()), "--staff-port", str(free_port())]
    args += ["--graceful-timeout", "3"]
    outputs = []
    for _ in range(2):
        log = tmp_path / "demo.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                ["sh", str(DEPLOY / "demo.sh"), str(demo), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=REPO,
            )
        try:
            deadline = time.monotonic() + 90
            while "Ready." not in log.read_text():
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        finally:
            process.send_signal(signal.SIGTERM)  # demo.sh exec'd serve: it gets the signal
            process.wait(timeout=60)
        assert process.returncode == 0, log.read_text()
        outputs.append(log.read_text())
    first, second = outputs
    passphrase = demo / "DEMO-ADMIN-PASSPHRASE.txt"
    assert "THIS IS A DEMO ADMIN IDENTITY" in first
    assert str(passphrase) in first
    assert oct(passphrase.stat().st_mode & 0o777) == "0o600"
    assert re.fullmatch(r"[0-9a-f]{48}", passphrase.read_text())
    assert (demo / "instance" / "config.toml").is_file()
    # The second start reuses both: no new identity, no new instance.
    assert "THIS IS A DEMO ADMIN IDENTITY" not in second
    assert "Created instance" not in second
