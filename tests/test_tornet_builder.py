"""The private-network builder itself: its configuration, and that it never leaks a tor."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tornet import TorNet

pytestmark = [
    pytest.mark.tor,
    pytest.mark.slow,
    pytest.mark.skipif(
        not (shutil.which("tor") and shutil.which("tor-gencert")), reason="needs tor"
    ),
]


class Boom(Exception):
    """A failure in the middle of a test using the network."""


def check_then_fail(net: TorNet) -> None:
    """Check the running network's configuration, then fail as a broken test would."""
    relays = [*net.authorities, *net.relays]
    for node in relays:
        torrc = (node.directory / "torrc").read_text().splitlines()
        assert "AssumeReachable 1" in torrc
        assert "TestingTorNetwork 1" in torrc
        assert sum(line.startswith("DirAuthority ") for line in torrc) == 3
    ports = [p for n in relays for p in (n.or_port, n.dir_port)]
    ports += [net.socks_port, net.control_port]
    assert len(set(ports)) == len(ports)
    assert all(n.process is not None and n.process.poll() is None for n in relays)
    raise Boom


def test_configuration_and_every_tor_stopped_after_a_failure(tmp_path: Path) -> None:
    net = TorNet(tmp_path / "net")
    with pytest.raises(Boom), net:
        check_then_fail(net)
    nodes = [*net.authorities, *net.relays, net.client]
    assert all(n.process is not None and n.process.poll() is not None for n in nodes)
