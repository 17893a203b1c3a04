"""`sealdrop staff onion-auth add`, and `sealdrop serve` publishing with a local tor."""

from __future__ import annotations

import base64
import contextlib
import re
import shutil
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from nacl.public import PrivateKey
from serve_process import ServeProcess, free_port

from intake.cli import main
from intake.instance import create_instance
from intake.onion import (
    EXTRA_TORRC_ENV,
    add_onion_command,
    authorized_clients,
    load_or_create_key,
)

AUTH_LINE = re.compile(r"^([a-z2-7]{56}):descriptor:x25519:([A-Z2-7]{52})$", re.M)


@pytest.fixture
def inst(tmp_path: Path, admin_keys, argon2_cost) -> Path:  # type: ignore[no-untyped-def]
    """An instance made by `sealdrop init`'s code (SQLite)."""
    create_instance(tmp_path / "instance", admin_keys.identity.to_text(), argon2_cost)
    return tmp_path / "instance"


def add(inst: Path, name: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["staff", "onion-auth", "add", "--instance", str(inst), name])


def test_onion_auth_add_prints_the_line_once_and_keeps_only_the_public_key(inst: Path) -> None:
    result = add(inst, "amina")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.strip().splitlines()  # stdout carries only the line to paste
    address, private_b32 = AUTH_LINE.fullmatch(line).groups()  # type: ignore[union-attr]
    staff_dir = inst / "tor" / "staff"
    assert (staff_dir / "hostname").read_text().strip() == address + ".onion"
    private = PrivateKey(base64.b32decode(private_b32 + "===="))
    public = base64.b32encode(bytes(private.public_key)).decode().rstrip("=")
    assert authorized_clients(staff_dir) == [public]
    for path in (inst / "tor").rglob("*"):
        if path.is_file():
            assert private_b32.encode() not in path.read_bytes()
    assert "Restart `sealdrop serve`" in result.output


@pytest.mark.parametrize(
    ("name", "message"),
    [("../x", "not a usable name"), ("a b", "not a usable name"), ("amina", "already exists")],
)
def test_onion_auth_add_refuses_bad_or_taken_names(inst: Path, name: str, message: str) -> None:
    assert add(inst, "amina").exit_code == 0
    result = add(inst, name)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert message in result.output


def test_onion_auth_add_needs_an_instance(tmp_path: Path) -> None:
    result = add(tmp_path / "missing", "amina")
    assert result.exit_code == 2
    assert "does not exist" in result.output


@pytest.mark.tor
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_serve_publishes_the_same_intake_address_on_every_start(tmp_path: Path, inst: Path) -> None:
    offline = tmp_path / "offline-torrc"
    offline.write_text("DisableNetwork 1\n")
    seen = []
    for run in range(2):
        workdir = tmp_path / f"run{run}"
        workdir.mkdir()
        serve = ServeProcess(
            workdir,
            ["--instance", str(inst)],
            env={EXTRA_TORRC_ENV: str(offline)},
        )
        try:
            serve.wait_ready()
        finally:
            assert serve.stop() == 0, serve.output
        output = serve.output
        assert "NOT AN ONION SERVICE" not in output
        assert "Staff onion: NOT published: no staff client key yet" in output
        seen += re.findall(r"Source onion \(give this to sources\):\s+http://(\S+\.onion)/", output)
    assert len(seen) == 2
    assert seen[0] == seen[1] == (inst / "tor" / "intake" / "hostname").read_text().strip()


@pytest.mark.tor
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")
@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_serve_attaches_to_a_running_tor_and_its_onions_leave_with_it(
    tmp_path: Path, inst: Path
) -> None:
    import stem.control
    import stem.process

    port = free_port()
    data = tmp_path / "system-tor"
    data.mkdir(mode=0o700)
    tor = stem.process.launch_tor_with_config(
        config={
            "DataDirectory": str(data),
            "ControlPort": str(port),
            "CookieAuthentication": "1",
            "SocksPort": "0",
            "DisableNetwork": "1",
        },
        completion_percent=0,
        # Not owned: with ownership, tor would exit as soon as a controller of ours closed.
        take_ownership=False,
    )
    try:
        assert add(inst, "amina").exit_code == 0
        serve = ServeProcess(tmp_path, ["--instance", str(inst), "--tor-control", str(port)])
        try:
            serve.wait_ready()
            # serve published the intake onion on that tor: re-adding its key collides.
            key = load_or_create_key(inst / "tor" / "intake")
            command = add_onion_command(key, ("127.0.0.1", 9))
            with stem.control.Controller.from_port(port=port) as controller:
                controller.authenticate()
                collision = controller.msg(command)
                assert not collision.is_ok()
                assert "collision" in str(collision).lower()
        finally:
            assert serve.stop() == 0, serve.output
        # ...and it left with serve (ephemeral onions belong to their control connection).
        with stem.control.Controller.from_port(port=port) as controller:
            controller.authenticate()
            assert controller.msg(command).is_ok()
        intake_host = (inst / "tor" / "intake" / "hostname").read_text().strip()
        staff_host = (inst / "tor" / "staff" / "hostname").read_text().strip()
        assert f"http://{intake_host}/" in serve.output
        assert f"http://{staff_host}/" in serve.output
        assert not (inst / "tor" / "data").exists()  # no tor of its own was launched
    finally:
        tor.kill()
        tor.wait()


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (children of children...), from /proc."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                kids = {int(x) for x in (task / "children").read_text().split()}
                todo += list(kids - found)
                found |= kids
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


@pytest.mark.tor
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_killing_serve_outright_leaves_no_tor_or_gunicorn_behind(
    tmp_path: Path, inst: Path
) -> None:
    offline = tmp_path / "offline-torrc"
    offline.write_text("DisableNetwork 1\n")
    serve = ServeProcess(tmp_path, ["--instance", str(inst)], env={EXTRA_TORRC_ENV: str(offline)})
    try:
        serve.wait_ready()
        below = descendants(serve.process.pid)
        names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in below}
        assert "tor" in names
        assert len(below) >= 5  # tor, two arbiters, one worker each
        serve.process.send_signal(signal.SIGKILL)  # no chance to clean up
        serve.process.wait()
        deadline = time.monotonic() + 90
        while any(alive(pid) for pid in below):
            assert time.monotonic() < deadline, [p for p in below if alive(p)]
            time.sleep(0.5)
    finally:
        serve.stop()


@pytest.mark.tor
@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tor") is None, reason="tor is not installed")
def test_a_second_serve_of_the_same_instance_is_refused_clearly(tmp_path: Path, inst: Path) -> None:
    offline = tmp_path / "offline-torrc"
    offline.write_text("DisableNetwork 1\n")
    env = {EXTRA_TORRC_ENV: str(offline)}
    (tmp_path / "first").mkdir()
    (tmp_path / "second").mkdir()
    first = ServeProcess(tmp_path / "first", ["--instance", str(inst)], env=env)
    try:
        first.wait_ready()
        second = ServeProcess(tmp_path / "second", ["--instance", str(inst)], env=env)
        try:
            assert second.process.wait(timeout=60) == 1
        finally:
            second.stop()
        assert "Error: another `sealdrop serve` is already running" in second.output
        assert "Traceback" not in second.output
        # The first one is unharmed.
        assert first.process.poll() is None
    finally:
        assert first.stop() == 0
