"""End to end over real onion services: `sealdrop serve` on a private Tor network.

The network (tests/tornet.py) runs on loopback; `sealdrop serve` launches its own tor with
its production code, joined to that network through the test-only
$SEALDROP_TOR_EXTRA_TORRC hook. A client tor's SOCKS port carries curl to the onions.
Run alone with `pytest -m tornet`.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from serve_process import ServeProcess
from source_form import csrf_token
from tornet import TorNet

from crypto.envelope import Opener
from intake.cli import main
from intake.instance import create_instance
from intake.onion import EXTRA_TORRC_ENV

pytestmark = [
    pytest.mark.tornet,
    pytest.mark.tor,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:setDaemon:DeprecationWarning"),
    pytest.mark.skipif(
        not all(shutil.which(tool) for tool in ("tor", "tor-gencert", "curl")),
        reason="needs tor, tor-gencert and curl",
    ),
]
BOOTSTRAP_SECONDS = 180
_ONION = r"http://([a-z2-7]{56}\.onion)/"


def fetch_until_ok(net: TorNet, url: str, *args: str, deadline: float) -> bytes:
    """curl through tor until it answers (the descriptor may not be published yet)."""
    while True:
        result = net.curl(url, *args, timeout=60)
        if result.returncode == 0:
            return result.stdout
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} unreachable: {result.stderr!r}\n{net.diagnostics()}")
        net.check_alive()
        time.sleep(2)


def test_a_tip_sent_through_the_onion_arrives_sealed_and_staff_needs_its_key(
    tmp_path: Path,
    admin_keys,  # type: ignore[no-untyped-def]
    argon2_cost,  # type: ignore[no-untyped-def]
) -> None:
    instance = tmp_path / "instance"
    create_instance(instance, admin_keys.identity.to_text(), argon2_cost)
    added = CliRunner().invoke(
        main, ["staff", "onion-auth", "add", "--instance", str(instance), "amina"]
    )
    assert added.exit_code == 0, added.output
    auth_line = re.search(r"^[a-z2-7]{56}:descriptor:x25519:[A-Z2-7]{52}$", added.stdout, re.M)
    assert auth_line, added.stdout
    staff_id, _, _, private_b32 = auth_line.group(0).split(":")

    with TorNet(tmp_path / "tornet") as net:
        service_torrc = tmp_path / "service-torrc"
        service_torrc.write_text("\n".join(net.joining_torrc()) + "\n")
        serve = ServeProcess(
            tmp_path,
            ["--instance", str(instance)],
            env={EXTRA_TORRC_ENV: str(service_torrc)},
        )
        try:
            serve.wait_ready(120)
            onions = re.findall(_ONION, serve.output)
            assert len(onions) == 2, serve.output
            intake_onion, staff_onion = onions
            assert staff_onion == staff_id + ".onion"
            assert (instance / "tor" / "intake" / "hostname").read_text().strip() == intake_onion

            bootstrapped = net.wait_for_client(BOOTSTRAP_SECONDS)
            deadline = time.monotonic() + BOOTSTRAP_SECONDS
            jar = str(tmp_path / "cookies")
            page = fetch_until_ok(
                net, f"http://{intake_onion}/", "-c", jar, "-b", jar, deadline=deadline
            )
            reachable = time.monotonic() - net.started_at
            print(f"tornet: client bootstrapped {bootstrapped:.1f} s, form {reachable:.1f} s")
            assert b"csrf_token" in page
            # tor itself, asked through serve's control socket, publishes PoW parameters.
            assert any(
                line.startswith("pow-params v1 ")
                for line in published_inner_layer(instance, intake_onion).splitlines()
            )

            # A tip with a file, through the onion, exactly as a browser with JS off sends it.
            narrative = "Checkpoint at the northern bridge, three trucks"
            evidence = tmp_path / "photo.jpg"
            evidence.write_bytes(b"\xff\xd8 pretend jpeg " * 4000)
            sent = net.curl(
                f"http://{intake_onion}/submit",
                "-b",
                jar,
                "-F",
                f"csrf_token={csrf_token(page.decode())}",
                "-F",
                f"narrative={narrative}",
                "-F",
                f"files=@{evidence}",
                timeout=120,
            )
            assert sent.returncode == 0, sent.stderr
            assert re.search(rb"\d{4} \d{4} \d{4} \d{4} \d{4}", sent.stdout), sent.stdout[:500]
            opener = Opener([admin_keys.recipient])
            contents = {}
            for path in (instance / "storage").glob("*.sealed"):
                meta, content = opener.open_bytes(path.read_bytes())
                contents[meta.metadata["kind"]] = content
            assert contents == {"message": narrative.encode(), "file": evidence.read_bytes()}

            # The staff onion is refused without the client key. The client's SOCKS port
            # has ExtendedErrors, so tor says why: 0xF4 (244) is "onion service missing
            # client authorization", i.e. the descriptor was found but is locked to us.
            staff_url = f"http://{staff_onion}/"
            deadline = time.monotonic() + 120
            while True:
                refused = net.curl(staff_url, timeout=60)
                assert refused.returncode != 0, refused.stdout
                if b"(244)" in refused.stderr:
                    break
                assert time.monotonic() < deadline, refused.stderr
                time.sleep(2)
            # ...and reachable once the client holds it.
            with net.controller() as controller:
                private_b64 = _base32_to_base64(private_b32)
                reply = controller.msg(f"ONION_CLIENT_AUTH_ADD {staff_id} x25519:{private_b64}")
                # 252: "Registered client and decrypted desc" (the one it had fetched).
                assert reply.content()[0][0] in ("250", "252"), str(reply)
            staff_page = fetch_until_ok(
                net, staff_url + "staff/login", deadline=time.monotonic() + 120
            )
            assert b"Staff login" in staff_page
        finally:
            code = serve.stop()
        assert code == 0, serve.output
    assert "Stopped." in serve.output
    # serve reported its tor's progress to the operator.
    assert "tor: bootstrapped 100%" in serve.output


def published_inner_layer(instance: Path, onion: str) -> str:
    """The decrypted inner layer of the descriptor tor published for `onion`.

    Asked of the tor `sealdrop serve` launched, through its control socket; `pow-params`
    lives in this (encrypted) layer, so decrypting it is the only way to read it.
    """
    import stem.control
    from stem.descriptor.hidden_service import HiddenServiceDescriptorV3

    socket_path = instance / "tor" / "data" / "control.sock"
    with stem.control.Controller.from_socket_file(str(socket_path)) as controller:
        controller.authenticate()
        text = controller.get_info(f"hs/service/desc/id/{onion.removesuffix('.onion')}")
    return str(HiddenServiceDescriptorV3.from_str(text).decrypt(onion))


def _base32_to_base64(text: str) -> str:
    import base64

    raw = base64.b32decode(text + "=" * (-len(text) % 8))
    return base64.b64encode(raw).decode()
