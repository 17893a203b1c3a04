"""Onion keys and ADD_ONION against a real tor (DisableNetwork=1, so it starts in a second)."""

from __future__ import annotations

import base64
import hashlib
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nacl.bindings import crypto_scalarmult_ed25519_base_noclamp
from nacl.public import PrivateKey

from intake import onion

# stem 1.8 still calls Thread.setDaemon(), deprecated since Python 3.10.
pytestmark = pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning")
needs_tor = pytest.mark.skipif(onion.tor_binary() is None, reason="tor is not installed")


def address_from_key_file(path: Path) -> str:
    """rend-spec-v3 by hand: base32(pubkey || SHA3-256(".onion checksum"||pubkey||v)[:2] || v)."""
    data = path.read_bytes()
    assert data[:32] == b"== ed25519v1-secret: type0 ==\x00\x00\x00"
    public = crypto_scalarmult_ed25519_base_noclamp(data[32:64])
    checksum = hashlib.sha3_256(b".onion checksum" + public + b"\x03").digest()[:2]
    return base64.b32encode(public + checksum + b"\x03").decode().lower()


@pytest.fixture
def offline_tor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A tor launched by the product code, kept off the network through the test hook."""
    extra = tmp_path / "extra-torrc"
    extra.write_text("DisableNetwork 1\n")
    monkeypatch.setenv(onion.EXTRA_TORRC_ENV, str(extra))
    with onion.launched_tor(tmp_path / "instance" / "tor" / "data") as controller:
        yield controller


def test_address_matches_rend_spec_derivation(tmp_path: Path) -> None:
    key = onion.load_or_create_key(tmp_path / "svc")
    assert key.address == address_from_key_file(tmp_path / "svc" / onion.SECRET_KEY_FILE)
    assert len(key.address) == 56
    assert (tmp_path / "svc" / "hostname").read_text() == key.address + ".onion\n"


def test_key_files_are_private_and_reused(tmp_path: Path) -> None:
    first = onion.load_or_create_key(tmp_path / "tor" / "intake")
    secret = tmp_path / "tor" / "intake" / onion.SECRET_KEY_FILE
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "tor").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "tor" / "intake").stat().st_mode) == 0o700
    assert onion.load_or_create_key(tmp_path / "tor" / "intake") == first


def test_shared_key_file_is_refused(tmp_path: Path) -> None:
    onion.load_or_create_key(tmp_path / "svc")
    (tmp_path / "svc" / onion.SECRET_KEY_FILE).chmod(0o644)
    with pytest.raises(onion.OnionError, match="chmod 600"):
        onion.load_or_create_key(tmp_path / "svc")


def test_client_auth_line_holds_the_private_half_of_the_stored_key(tmp_path: Path) -> None:
    auth = onion.add_client_auth(tmp_path / "staff", "amina")
    address, descriptor, kind, private_b32 = auth.auth_private_line.split(":")
    assert (address, descriptor, kind) == (auth.service_address, "descriptor", "x25519")
    private = PrivateKey(base64.b32decode(private_b32 + "===="))
    stored = onion.authorized_clients(tmp_path / "staff")
    assert stored == [base64.b32encode(bytes(private.public_key)).decode().rstrip("=")]
    assert private_b32 not in (tmp_path / "staff" / "authorized_clients" / "amina.auth").read_text()
    with pytest.raises(onion.OnionError, match="already exists"):
        onion.add_client_auth(tmp_path / "staff", "amina")
    with pytest.raises(onion.OnionError, match="not a usable name"):
        onion.add_client_auth(tmp_path / "staff", "../evil")


@pytest.mark.tor
@needs_tor
def test_tor_publishes_the_address_of_the_stored_key_and_keeps_it_across_restarts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = tmp_path / "extra-torrc"
    extra.write_text("DisableNetwork 1\n")
    monkeypatch.setenv(onion.EXTRA_TORRC_ENV, str(extra))
    tor_dir = tmp_path / "instance" / "tor"
    addresses = []
    for _ in range(2):
        with onion.launched_tor(tor_dir / "data") as controller:
            published = onion.publish_instance_onions(
                controller, tor_dir, ("127.0.0.1", 9), ("127.0.0.1", 10)
            )
            current = controller.get_info("onions/current").split()
            addresses.append(published.intake)
            assert current == [published.intake.removesuffix(".onion")]
            # No staff client key yet: the staff onion is not published at all.
            assert published.staff is None
    assert addresses[0] == addresses[1]
    assert addresses[0] == address_from_key_file(tor_dir / "intake" / onion.SECRET_KEY_FILE) + (
        ".onion"
    )
    assert stat.S_IMODE((tor_dir / "data").stat().st_mode) == 0o700


@pytest.mark.tor
@needs_tor
def test_tor_accepts_our_proof_of_work_settings_and_refuses_unknown_ones(
    tmp_path: Path, offline_tor: Any
) -> None:
    # tor 0.4.9 has no control-port query for an ephemeral service's PoW state, so this is
    # the proof it is on: tor parses these keywords (an unknown keyword or a bad value is
    # refused), and our command carries them.
    key = onion.load_or_create_key(tmp_path / "svc")
    command = onion.add_onion_command(key, ("127.0.0.1", 9))
    assert "PoWDefensesEnabled=1" in command.split()
    assert "PoWDefensesEnabled=bogus" not in command
    for bad in ("PoWDefensesEnabled=bogus", "NoSuchPoWKeyword=1"):
        refused = offline_tor.msg(command.replace("PoWDefensesEnabled=1", bad))
        assert not refused.is_ok(), bad
    assert onion.publish(offline_tor, command, key) == key.address


@pytest.mark.tor
@needs_tor
def test_staff_onion_is_published_with_client_authorisation(
    tmp_path: Path, offline_tor: Any
) -> None:
    tor_dir = tmp_path / "instance" / "tor"
    first = onion.add_client_auth(tor_dir / "staff", "amina")
    second = onion.add_client_auth(tor_dir / "staff", "bo")
    published = onion.publish_instance_onions(
        offline_tor, tor_dir, ("127.0.0.1", 9), ("127.0.0.1", 10)
    )
    assert published.staff == first.service_address + ".onion"
    assert second.service_address == first.service_address
    # tor echoes every ClientAuthV3 it applied; publish() checked that, check it here too.
    key = onion.load_or_create_key(tor_dir / "staff")
    offline_tor.msg(f"DEL_ONION {key.address}")
    clients = onion.authorized_clients(tor_dir / "staff")
    reply = offline_tor.msg(onion.add_onion_command(key, ("127.0.0.1", 10), clients))
    lines = str(reply).splitlines()
    echoed = sorted(line.split("=", 1)[1] for line in lines if line.startswith("ClientAuthV3="))
    assert echoed == sorted(clients)
    assert len(echoed) == 2


@pytest.mark.tor
@needs_tor
@pytest.mark.parametrize(
    "keyword",
    [
        "EnableIntroDoSDefense=1",
        "HiddenServiceEnableIntroDoSDefense=1",
        "IntroDoSRatePerSec=25",
    ],
)
def test_tor_takes_intro_dos_settings_only_from_a_torrc(
    tmp_path: Path, offline_tor: Any, keyword: str
) -> None:
    # Why intake/onion.py sends no intro-point DoS settings: tor 0.4.9 refuses them on
    # ADD_ONION (they exist only as HiddenService* torrc options, see
    # deploy/torrc.example). If a newer tor accepts one, this fails: start sending it.
    key = onion.load_or_create_key(tmp_path / "svc")
    command = onion.add_onion_command(key, ("127.0.0.1", 9)).replace(
        " Port=", f" {keyword} Port=", 1
    )
    reply = offline_tor.msg(command)
    assert not reply.is_ok()
    assert "Unrecognized keyword" in str(reply)
    # The same command without it is accepted, so the keyword alone was the problem.
    assert offline_tor.msg(onion.add_onion_command(key, ("127.0.0.1", 9))).is_ok()
