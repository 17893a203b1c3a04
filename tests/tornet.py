"""A private Tor network on loopback for end-to-end onion tests (TestingTorNetwork 1).

Three directory authorities (keys made by tor-gencert for this run only), relays and a
client, each `tor -f torrc` in its own 0700 directory under a temporary root, on a fresh
port range. Settings follow /work/shared/notes/tor-testing.md; in particular every relay,
not only the authorities, has `AssumeReachable 1`, or vanguards-lite in tor 0.4.9 cannot
pick a second hop and the network sticks at 95%.

    with TorNet(tmp_path / "tornet") as net:
        net.wait_for_client(180)
        lines = net.joining_torrc()   # for a tor launched elsewhere (sealdrop serve)
        curl through net.socks_port

`stop()` (also on leaving the `with`) terminates every tor it started, even after errors.
"""

from __future__ import annotations

import contextlib
import random
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

COMMON = [
    "TestingTorNetwork 1",
    "PathsNeededToBuildCircuits 0.67",
    "TestingDirAuthVoteExit *",
    "TestingDirAuthVoteHSDir *",
    "TestingDirAuthVoteGuard *",
    "TestingMinExitFlagThreshold 0",
    "V3AuthNIntervalsValid 2",
    "RunAsDaemon 0",
    "SafeLogging 1",
    "ShutdownWaitLength 0",
]
RELAY = [
    "SocksPort 0",
    "Address 127.0.0.1",
    "ExitRelay 0",
    "AssumeReachable 1",
    "ContactInfo tornet-test",
]
AUTHORITY = [
    "AuthoritativeDirectory 1",
    "V3AuthoritativeDirectory 1",
    "V3AuthVotingInterval 10",
    "V3AuthVoteDelay 2",
    "V3AuthDistDelay 2",
    "TestingV3AuthInitialVotingInterval 10",
    "TestingV3AuthInitialVoteDelay 2",
    "TestingV3AuthInitialDistDelay 2",
]
_PROGRESS = re.compile(r"PROGRESS=(\d+)")


def free_port_range(count: int) -> list[int]:
    """`count` consecutive loopback ports nobody listens on, from a random start."""
    rng = random.SystemRandom()
    for _ in range(200):
        start = rng.randrange(20000, 60000 - count)
        ports = list(range(start, start + count))
        if all(_is_free(port) for port in ports):
            return ports
    raise RuntimeError("no free port range found")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Node:
    """One tor process of the network."""

    name: str
    directory: Path
    or_port: int = 0
    dir_port: int = 0
    lines: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        """tor's notice log for this node."""
        return self.directory / "notice.log"


class TorNet:
    """Builds, starts and always stops a private Tor network in `root`."""

    def __init__(self, root: Path, authorities: int = 3, relays: int = 2) -> None:
        self.root = root
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        ports = free_port_range(2 * (authorities + relays) + 2)
        self.socks_port, self.control_port = ports[-2:]
        self.authorities = [
            Node(f"auth{i}", root / f"auth{i}", ports[2 * i], ports[2 * i + 1])
            for i in range(authorities)
        ]
        offset = 2 * authorities
        self.relays = [
            Node(f"relay{i}", root / f"relay{i}", ports[offset + 2 * i], ports[offset + 2 * i + 1])
            for i in range(relays)
        ]
        self.client = Node("client", root / "client")
        self.dir_authority_lines: list[str] = []
        self.started_at = 0.0

    # -- set-up ---------------------------------------------------------------------------

    def _make_authority_keys(self, node: Node) -> str:
        """tor-gencert keys for an authority; returns the DirAuthority line."""
        keys = node.directory / "keys"
        keys.mkdir(mode=0o700, parents=True)
        subprocess.run(
            [
                "tor-gencert",
                "--create-identity-key",
                "--passphrase-fd",
                "0",
                "-i",
                str(keys / "authority_identity_key"),
                "-s",
                str(keys / "authority_signing_key"),
                "-c",
                str(keys / "authority_certificate"),
                "-m",
                "12",
                "-a",
                f"127.0.0.1:{node.dir_port}",
            ],
            input=b"\n",
            check=True,
            capture_output=True,
            timeout=60,
        )
        certificate = (keys / "authority_certificate").read_text()
        v3ident = re.search(r"^fingerprint (\S+)", certificate, re.MULTILINE)
        assert v3ident, "tor-gencert made no fingerprint line"
        fingerprint = self._relay_fingerprint(node)
        return (
            f"DirAuthority {node.name} orport={node.or_port} no-v2 v3ident={v3ident.group(1)} "
            f"127.0.0.1:{node.dir_port} {fingerprint}"
        )

    @staticmethod
    def _relay_fingerprint(node: Node) -> str:
        """The relay identity fingerprint (tor makes the key in the node's directory)."""
        listed = subprocess.run(
            [
                "tor",
                "--list-fingerprint",
                "--orport",
                "1",
                "--datadirectory",
                str(node.directory),
                "--nickname",
                node.name,
                "-f",
                "/dev/null",
                "--ignore-missing-torrc",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        line = [x for x in listed.splitlines() if x.startswith(node.name + " ")][-1]
        return line.split(" ", 1)[1].replace(" ", "")

    def joining_torrc(self) -> list[str]:
        """What another tor needs in its config to use this network (as a client/service)."""
        return [
            "TestingTorNetwork 1",
            "AssumeReachable 1",
            "PathsNeededToBuildCircuits 0.67",
            *self.dir_authority_lines,
        ]

    def _write_torrc(self, node: Node, role_lines: list[str]) -> Path:
        lines = [
            *COMMON,
            f"Nickname {node.name}",
            f"DataDirectory {node.directory}",
            f"Log notice file {node.log}",
            f"PidFile {node.directory / 'pid'}",
            *self.dir_authority_lines,
            *role_lines,
        ]
        torrc = node.directory / "torrc"
        torrc.write_text("\n".join(lines) + "\n")
        return torrc

    def start(self) -> None:
        """Generate keys, write every torrc and start every tor (does not wait)."""
        self.started_at = time.monotonic()
        for node in [*self.authorities, *self.relays, self.client]:
            node.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir_authority_lines = [self._make_authority_keys(a) for a in self.authorities]
        for node in self.relays:
            self._relay_fingerprint(node)
        for node in [*self.authorities, *self.relays]:
            ports = [f"ORPort 127.0.0.1:{node.or_port}", f"DirPort 127.0.0.1:{node.dir_port}"]
            extra = AUTHORITY if node in self.authorities else []
            self._launch(node, self._write_torrc(node, [*ports, *RELAY, *extra]))
        client_lines = [
            f"SocksPort {self.socks_port} ExtendedErrors",
            f"ControlPort {self.control_port}",
            "CookieAuthentication 1",
        ]
        self._launch(self.client, self._write_torrc(self.client, client_lines))

    @staticmethod
    def _launch(node: Node, torrc: Path) -> None:
        # Before its log is configured tor reports problems on stdout.
        with (node.directory / "stdout.log").open("wb") as output:
            node.process = subprocess.Popen(
                ["tor", "-f", str(torrc)], stdout=output, stderr=subprocess.STDOUT
            )

    # -- use ------------------------------------------------------------------------------

    def controller(self) -> Any:
        """An authenticated stem controller for the client tor."""
        import stem.control

        controller = stem.control.Controller.from_port(port=self.control_port)
        controller.authenticate()
        return controller

    def client_progress(self) -> int:
        """The client's bootstrap percentage (0 while its control port is not up yet)."""
        with contextlib.suppress(Exception), self.controller() as controller:
            match = _PROGRESS.search(controller.get_info("status/bootstrap-phase"))
            return int(match.group(1)) if match else 0
        return 0

    def wait_for_client(self, timeout: float) -> float:
        """Wait until the client has bootstrapped; returns seconds since start()."""
        deadline = time.monotonic() + timeout
        while self.client_progress() < 100:
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"tor network not bootstrapped:\n{self.diagnostics()}")
            time.sleep(1)
        return time.monotonic() - self.started_at

    def check_alive(self) -> None:
        """Fail fast if a tor of the network exited."""
        for node in [*self.authorities, *self.relays, self.client]:
            if node.process is not None and node.process.poll() is not None:
                raise RuntimeError(f"tor {node.name} exited:\n{self.diagnostics()}")

    def diagnostics(self) -> str:
        """The last log lines of every node, for a failure message."""
        parts = []
        for node in [*self.authorities, *self.relays, self.client]:
            for path in (node.log, node.directory / "stdout.log"):
                if path.exists():
                    tail = path.read_text(errors="replace").splitlines()[-8:]
                    parts.append(f"--- {node.name} {path.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def curl(self, url: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
        """curl through the client's SOCKS port (names resolved by tor)."""
        curl = shutil.which("curl")
        assert curl, "curl is needed for onion end-to-end tests"
        return subprocess.run(
            [
                curl,
                "--silent",
                "--show-error",
                "--max-time",
                str(int(timeout)),
                "--socks5-hostname",
                f"127.0.0.1:{self.socks_port}",
                *args,
                url,
            ],
            capture_output=True,
            timeout=timeout + 10,
            check=False,
        )

    # -- tear-down ------------------------------------------------------------------------

    def stop(self) -> None:
        """Terminate every tor started here; kill those that do not exit in time."""
        nodes = [n for n in [*self.authorities, *self.relays, self.client] if n.process]
        for node in nodes:
            assert node.process is not None
            if node.process.poll() is None:
                node.process.terminate()
        for node in nodes:
            assert node.process is not None
            try:
                node.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                node.process.kill()
                node.process.wait()

    def __enter__(self) -> TorNet:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
