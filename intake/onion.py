"""Publish the intake and staff onion services through tor's control port (stem).

Keys live in the instance directory in tor's own HiddenServiceDir layout, so an operator
can move a service to a system tor by copying the directory:

    DIR/tor/                          0700
    DIR/tor/intake/hs_ed25519_secret_key   0600 (the address is derived from it)
    DIR/tor/intake/hostname
    DIR/tor/staff/hs_ed25519_secret_key
    DIR/tor/staff/authorized_clients/NAME.auth   "descriptor:x25519:<base32 public key>"
    DIR/tor/data/                     0700, the DataDirectory of a tor we launch

Services are added with ADD_ONION (works both for a tor we launch and for one we attach
to), with proof-of-work defenses on. tor 0.4.9 accepts PoWDefensesEnabled, PoWQueueRate,
PoWQueueBurst, MaxStreams and the MaxStreamsCloseCircuit flag on ADD_ONION; it refuses the
intro-point DoS defense keywords (only a torrc HiddenServiceDir can set those, see
deploy/torrc.example), so they are not sent.

Test-only hook: $SEALDROP_TOR_EXTRA_TORRC names a file of extra torrc lines ("Key value",
one per line, keys may repeat) merged into the config of a tor we launch. The test suite
uses it to join a private Tor network; operators never need it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nacl.bindings import crypto_scalarmult_ed25519_base_noclamp
from nacl.public import PrivateKey

SECRET_KEY_FILE = "hs_ed25519_secret_key"  # noqa: S105 (a file name, not a secret)
PUBLIC_KEY_FILE = "hs_ed25519_public_key"
# tor's on-disk key headers (32 bytes each), so the files work in a HiddenServiceDir.
_SECRET_HEADER = b"== ed25519v1-secret: type0 ==\x00\x00\x00"
_PUBLIC_HEADER = b"== ed25519v1-public: type0 ==\x00\x00\x00"
_VERSION = b"\x03"
CLIENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
EXTRA_TORRC_ENV = "SEALDROP_TOR_EXTRA_TORRC"
# Unix socket paths are limited to 108 bytes; leave room for the NUL and be safe.
_MAX_SOCKET_PATH = 100


class OnionError(Exception):
    """A problem with tor or the onion keys, explained for the operator."""


def onion_address(public_key: bytes) -> str:
    """The v3 onion address (without ".onion") of an ed25519 public key (rend-spec-v3)."""
    if len(public_key) != 32:
        raise ValueError("an ed25519 public key is 32 bytes")
    checksum = hashlib.sha3_256(b".onion checksum" + public_key + _VERSION).digest()[:2]
    return base64.b32encode(public_key + checksum + _VERSION).decode("ascii").lower()


@dataclass(frozen=True)
class OnionKey:
    """An onion service identity key in tor's expanded form (scalar || prefix, 64 bytes)."""

    expanded: bytes

    @classmethod
    def generate(cls) -> OnionKey:
        """A fresh key, expanded from a random seed exactly as ed25519 does."""
        digest = bytearray(hashlib.sha512(os.urandom(32)).digest())
        digest[0] &= 248
        digest[31] &= 127
        digest[31] |= 64
        return cls(bytes(digest))

    @property
    def public_key(self) -> bytes:
        """The ed25519 public key: the (already clamped) scalar times the base point."""
        return bytes(crypto_scalarmult_ed25519_base_noclamp(self.expanded[:32]))

    @property
    def address(self) -> str:
        """The 56-character onion address, without ".onion"."""
        return onion_address(self.public_key)

    def add_onion_key(self) -> str:
        """The key argument of ADD_ONION."""
        return "ED25519-V3:" + base64.b64encode(self.expanded).decode("ascii")


def _write_private(path: Path, data: bytes) -> None:
    """Create `path` 0600 and write `data`, refusing to overwrite anything."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) as 0700, or check an existing one is not shared."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=0o700, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise OnionError(
            f"{path} is accessible to other users (mode {mode:o}); "
            f"tor refuses such directories. Run: chmod 700 {path}"
        )
    return path


def load_or_create_key(service_dir: Path) -> OnionKey:
    """Read the service key kept in `service_dir`, creating it (0600) on first use."""
    private_dir(service_dir)
    secret = service_dir / SECRET_KEY_FILE
    if not secret.exists():
        key = OnionKey.generate()
        _write_private(secret, _SECRET_HEADER + key.expanded)
        # Public key and hostname are derived data; tor writes the same files.
        (service_dir / PUBLIC_KEY_FILE).write_bytes(_PUBLIC_HEADER + key.public_key)
        (service_dir / "hostname").write_text(key.address + ".onion\n", encoding="ascii")
        return key
    mode = stat.S_IMODE(secret.stat().st_mode)
    if mode & 0o077:
        raise OnionError(
            f"{secret} is readable by other users (mode {mode:o}): whoever reads it can "
            f"impersonate this onion service. Run: chmod 600 {secret}"
        )
    data = secret.read_bytes()
    if len(data) != 96 or not data.startswith(_SECRET_HEADER):
        raise OnionError(f"{secret} is not a tor ed25519 onion service key")
    return OnionKey(data[32:])


@dataclass(frozen=True)
class ClientAuth:
    """A new staff client key: the public half is stored, the private half only shown."""

    name: str
    service_address: str
    private_key: PrivateKey

    @property
    def private_base32(self) -> str:
        """The private key as tor and Tor Browser read it (unpadded base32)."""
        return base64.b32encode(bytes(self.private_key)).decode("ascii").rstrip("=")

    @property
    def auth_private_line(self) -> str:
        """The line for Tor Browser / a ClientOnionAuthDir `.auth_private` file."""
        return f"{self.service_address}:descriptor:x25519:{self.private_base32}"


def add_client_auth(service_dir: Path, name: str) -> ClientAuth:
    """Make an x25519 client key for the service in `service_dir`; store only its public half."""
    if not CLIENT_NAME.fullmatch(name):
        raise OnionError(
            f"{name!r} is not a usable name: use 1-64 letters, digits, '-' or '_' (e.g. amina)"
        )
    key = load_or_create_key(service_dir)
    clients = private_dir(service_dir / "authorized_clients")
    target = clients / f"{name}.auth"
    if target.exists():
        raise OnionError(
            f"a client key named {name!r} already exists ({target}); choose another name, "
            f"or delete that file to revoke it first"
        )
    private = PrivateKey.generate()
    public = base64.b32encode(bytes(private.public_key)).decode("ascii").rstrip("=")
    _write_private(target, f"descriptor:x25519:{public}\n".encode("ascii"))
    return ClientAuth(name, key.address, private)


def authorized_clients(service_dir: Path) -> list[str]:
    """The base32 x25519 public keys allowed to reach the service, from authorized_clients/."""
    keys = []
    folder = service_dir / "authorized_clients"
    if not folder.is_dir():
        return []
    for path in sorted(folder.glob("*.auth")):
        parts = path.read_text(encoding="ascii").strip().split(":")
        if len(parts) != 3 or parts[:2] != ["descriptor", "x25519"] or len(parts[2]) != 52:
            raise OnionError(f"{path} is not a 'descriptor:x25519:<key>' client auth file")
        keys.append(parts[2])
    return keys


@dataclass(frozen=True)
class OnionDefenses:
    """DoS defenses sent with ADD_ONION (PoW as in tor's defaults, stream limits per circuit)."""

    pow_queue_rate: int = 250
    pow_queue_burst: int = 2500
    # A Tor Browser page needs a handful of streams; hundreds on one circuit is an attack.
    max_streams: int = 32


def add_onion_command(
    key: OnionKey,
    target: tuple[str, int],
    client_auth: Sequence[str] = (),
    defenses: OnionDefenses = OnionDefenses(),
) -> str:
    """The ADD_ONION line: port 80 of the onion to `target`, PoW on, optional client auth."""
    host, port = target
    flags = "DiscardPK,MaxStreamsCloseCircuit" + (",V3Auth" if client_auth else "")
    parts = [
        "ADD_ONION",
        key.add_onion_key(),
        f"Flags={flags}",
        f"MaxStreams={defenses.max_streams}",
        "PoWDefensesEnabled=1",
        f"PoWQueueRate={defenses.pow_queue_rate}",
        f"PoWQueueBurst={defenses.pow_queue_burst}",
        f"Port=80,{host}:{port}",
    ]
    parts += [f"ClientAuthV3={public}" for public in client_auth]
    return " ".join(parts)


def publish(controller: Any, command: str, key: OnionKey, client_auth: Sequence[str] = ()) -> str:
    """Send an ADD_ONION line; check tor answers with our key's address and every client key."""
    reply = controller.msg(command)
    if not reply.is_ok():
        raise OnionError(f"tor refused to publish the onion service: {reply}")
    fields: dict[str, list[str]] = {}
    for line in str(reply).splitlines():
        name, _, value = line.partition("=")
        fields.setdefault(name, []).append(value)
    if fields.get("ServiceID") != [key.address]:
        raise OnionError(f"tor published {fields.get('ServiceID')}, expected {key.address}")
    # tor echoes each ClientAuthV3 it applied; anything else means the staff onion would
    # be open to everyone, so stop.
    if sorted(fields.get("ClientAuthV3", [])) != sorted(client_auth):
        controller.msg(f"DEL_ONION {key.address}")
        raise OnionError("tor did not confirm client authorisation for the staff onion")
    return key.address


def extra_torrc() -> dict[str, list[str]]:
    """Extra torrc lines from $SEALDROP_TOR_EXTRA_TORRC (test-only; empty when unset)."""
    name = os.environ.get(EXTRA_TORRC_ENV)
    if not name:
        return {}
    extra: dict[str, list[str]] = {}
    for line in Path(name).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition(" ")
            extra.setdefault(key, []).append(value.strip())
    return extra


def tor_binary() -> str | None:
    """The tor executable on PATH, if any."""
    return shutil.which("tor")


def launch_config(data_dir: Path) -> dict[str, str | list[str]]:
    """The torrc of a tor we launch: service only, control socket in its 0700 data dir."""
    config: dict[str, str | list[str]] = {
        "DataDirectory": str(data_dir),
        "SocksPort": "0",
        "CookieAuthentication": "1",
        "AvoidDiskWrites": "1",
        "Log": "notice stdout",
    }
    control = data_dir / "control.sock"
    if len(str(control)) <= _MAX_SOCKET_PATH:
        config["ControlSocket"] = str(control)
    else:
        config["ControlPort"] = "auto"
        config["ControlPortWriteToFile"] = str(data_dir / "control-port")
    config.update(extra_torrc())
    return config


def _connect(data_dir: Path, config: dict[str, str | list[str]]) -> Any:
    """Open and authenticate a controller to the tor configured by `config`."""
    import stem.control

    if "ControlSocket" in config:
        controller = stem.control.Controller.from_socket_file(str(config["ControlSocket"]))
    else:
        written = (data_dir / "control-port").read_text(encoding="ascii").strip()
        controller = stem.control.Controller.from_port(port=int(written.rsplit(":", 1)[1]))
    controller.authenticate()
    return controller


@contextmanager
def launched_tor(data_dir: Path, tor_cmd: str = "tor") -> Iterator[Any]:
    """Launch a tor of our own in `data_dir` and yield an authenticated controller."""
    import stem
    import stem.connection
    import stem.process

    private_dir(data_dir)
    config = launch_config(data_dir)
    for stale in ("control.sock", "control-port"):
        (data_dir / stale).unlink(missing_ok=True)
    try:
        # completion_percent=0: don't wait for the network; ADD_ONION works at once and tor
        # publishes the descriptors as soon as it has bootstrapped. take_ownership: tor
        # exits with us even if we are killed.
        process = stem.process.launch_tor_with_config(
            config=config, tor_cmd=tor_cmd, completion_percent=0, take_ownership=True, timeout=60
        )
    except OSError as error:
        raise OnionError(f"could not start tor: {error}") from error
    try:
        try:
            controller = _connect(data_dir, config)
        except (OSError, stem.SocketError, stem.connection.AuthenticationFailure) as error:
            raise OnionError(f"could not talk to the tor we started: {error}") from error
        try:
            yield controller
        finally:
            controller.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except Exception:
            process.kill()
            process.wait()


@contextmanager
def attached_tor(control: str, password: str | None = None) -> Iterator[Any]:
    """Attach to a running tor by control socket path or port; services vanish with us."""
    import stem
    import stem.connection
    import stem.control

    try:
        if control.isdigit():
            controller = stem.control.Controller.from_port(port=int(control))
        else:
            controller = stem.control.Controller.from_socket_file(control)
        controller.authenticate(password=password)
    except (stem.SocketError, stem.connection.AuthenticationFailure) as error:
        raise OnionError(f"could not use tor's control port {control}: {error}") from error
    try:
        yield controller
    finally:
        controller.close()


@dataclass(frozen=True)
class PublishedOnions:
    """What `publish_instance_onions` published."""

    intake: str
    staff: str | None


def publish_instance_onions(
    controller: Any,
    tor_dir: Path,
    intake_target: tuple[str, int],
    staff_target: tuple[str, int] | None,
) -> PublishedOnions:
    """Publish the intake onion and, when staff client keys exist, the staff onion."""
    intake_key = load_or_create_key(tor_dir / "intake")
    intake = publish(controller, add_onion_command(intake_key, intake_target), intake_key)
    staff = None
    if staff_target is not None:
        clients = authorized_clients(tor_dir / "staff")
        # Fail closed: a staff onion without client authorisation would let anyone who
        # learns the address reach the staff login.
        if clients:
            staff_key = load_or_create_key(tor_dir / "staff")
            command = add_onion_command(staff_key, staff_target, clients)
            staff = publish(controller, command, staff_key, clients)
    return PublishedOnions(intake + ".onion", staff + ".onion" if staff else None)
