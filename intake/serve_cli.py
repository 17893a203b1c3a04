"""`sealdrop serve`: the source and staff apps under gunicorn, published as onion services."""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import click

from . import onion
from .cli_options import instance_option
from .gunicorn_conf import GRACEFUL_TIMEOUT_SECONDS, default_workers
from .hostguard import LOOPBACK_HOSTS

DEFAULT_PORT = 8080
DEFAULT_STAFF_PORT = 8081
STARTUP_SECONDS = 60
_BOOTSTRAP = re.compile(r'PROGRESS=(\d+).*SUMMARY="([^"]*)"')


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and "localhost"."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lock_instance(instance_dir: Path) -> int:
    """Hold an exclusive lock on DIR/serve.lock for as long as this process lives.

    Two servers of one instance would remove each other's partial uploads at start and
    stop, and fight over the tor data directory and the onion addresses.
    """
    fd = os.open(instance_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise click.ClickException(
            f"another `sealdrop serve` is already running for {instance_dir}; stop it first"
        ) from None
    return fd


def check_onion_host(value: str) -> str:
    """A v3 onion address as given by tor's hostname file, or an error saying so."""
    value = value.strip().lower()
    if not value or re.fullmatch(r"[a-z2-7]{56}\.onion", value):
        return value
    raise click.BadParameter(
        f"{value!r} is not a v3 onion address (56 letters and digits, then .onion); "
        "copy it from the hostname file in tor's HiddenServiceDir"
    )


def with_loopback(
    allowed: tuple[frozenset[str], frozenset[str]], loopback: frozenset[str], add: bool
) -> tuple[frozenset[str], frozenset[str]]:
    """The allowed Host names of both apps, plus the loopback names if `add`."""
    return (allowed[0] | loopback, allowed[1] | loopback) if add else allowed


def banner(lines: list[str], mark: str) -> None:
    """Print `lines` framed so they stand out in a terminal or journal."""
    rule = mark * 72
    click.echo("\n".join([rule, *(f"{mark} {line}" for line in lines), rule]), err=True)


def warn_without_tor(reason: str, host: str, port: int, staff_port: int) -> None:
    """The loud warning for serving without an onion service."""
    banner(
        [
            f"WARNING: NOT AN ONION SERVICE ({reason}).",
            "Sources cannot reach this server, and nobody using it is anonymous.",
            "Use this for development on this machine only.",
            f"Source app: http://{host}:{port}/",
            f"Staff app:  http://{host}:{staff_port}/",
        ],
        "!",
    )


@dataclass(frozen=True)
class AppSettings:
    """How both app processes run (the same for source and staff)."""

    instance: Path
    host: str
    workers: int
    graceful_timeout: int


@dataclass
class AppProcess:
    """One gunicorn arbiter (source or staff app) started by `sealdrop serve`."""

    role: str
    port: int
    process: subprocess.Popen[bytes]


def start_app(
    role: str, port: int, allowed_hosts: frozenset[str], factory: str | None, how: AppSettings
) -> AppProcess:
    """Start `python -m intake.serving` for one app; its output goes to ours."""
    host = how.host
    command = [
        sys.executable,
        "-m",
        "intake.serving",
        "--role",
        role,
        "--instance",
        str(how.instance),
        "--bind",
        f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "--workers",
        str(how.workers),
        "--graceful-timeout",
        str(how.graceful_timeout),
    ]
    for name in sorted(allowed_hosts):
        command += ["--allowed-host", name]
    if factory:
        command += ["--factory", factory]
    # A session of its own: Ctrl-C reaches only us, and we stop the apps gracefully.
    return AppProcess(role, port, subprocess.Popen(command, start_new_session=True))


def port_in_use(host: str, port: int) -> str | None:
    """Why PORT on HOST cannot be bound right now (None if it can), as gunicorn binds it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


def check_ports_free(host: str, ports: dict[str, int]) -> None:
    """Fail before starting anything if another program holds a port: otherwise that
    program's answers would make us say "Ready." for apps that never started."""
    for role, port in ports.items():
        problem = port_in_use(host, port)
        if problem is not None:
            option = "--port" if role == "source" else "--staff-port"
            raise click.ClickException(
                f"port {port} of the {role} app on {host} cannot be used ({problem}): another "
                f"program is probably listening there. Stop it, or choose another port with "
                f"{option} (for `make run`: make run PORT=9080 STAFF_PORT=9081)."
            )


def answers_http(host: str, port: int) -> bool:
    """True once a worker answers a request (gunicorn listens before its workers boot)."""
    try:
        with socket.create_connection((host, port), 2) as conn:
            conn.sendall(b"HEAD / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            return conn.recv(16).startswith(b"HTTP/")
    except OSError:
        return False


def wait_until_answering(apps: list[AppProcess], host: str) -> None:
    """Wait for every app to answer HTTP; fail if an app exits first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    for app in apps:
        while not answers_http(host, app.port):
            if app.process.poll() is not None:
                raise click.ClickException(
                    f"the {app.role} app stopped while starting (exit code "
                    f"{app.process.returncode}); see the messages above"
                )
            if time.monotonic() > deadline:
                raise click.ClickException(f"the {app.role} app did not start answering")
            time.sleep(0.2)


def stop_apps(apps: list[AppProcess], graceful_timeout: int) -> None:
    """SIGTERM every app (gunicorn's graceful stop) and wait; kill what overstays."""
    for app in apps:
        if app.process.poll() is None:
            app.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + graceful_timeout + 10
    for app in apps:
        try:
            app.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait()


@contextlib.contextmanager
def stop_requested() -> Iterator[list[int]]:
    """Turn SIGTERM/SIGINT/SIGHUP into a list of received signals the main loop watches."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, handler)
    try:
        yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def clean_partial_envelopes(config: Any) -> None:
    """Remove this host's envelopes left half-written by an upload cut off by a stop or a
    crash (other hosts sharing storage/ write theirs elsewhere)."""
    from .storage import EnvelopeStore

    removed = EnvelopeStore(config.storage_dir, host=config.storage.host).cleanup_tmp()
    if removed:
        click.echo(f"Removed {removed} unfinished upload(s) (sealed, never complete).", err=True)


def prepare_storage(config: Any) -> None:
    """Before any worker starts: migrate, and remove what a crash left (partial uploads, and
    envelope files whose database commit never happened: the source saw no receipt)."""
    from sqlalchemy.exc import OperationalError

    from .startup import prepare_instance

    try:
        prepared = prepare_instance(config)
    except OperationalError:
        click.echo("Warning: the database is unreachable; pages needing it answer 503.", err=True)
        clean_partial_envelopes(config)
        return
    if prepared.partial_uploads_removed:
        count = prepared.partial_uploads_removed
        click.echo(f"Removed {count} unfinished upload(s) (sealed, never complete).", err=True)
    if prepared.orphan_envelopes_removed:
        count = prepared.orphan_envelopes_removed
        click.echo(f"Removed {count} envelope(s) never recorded (a crash mid-commit).", err=True)


class FileTimesBlur:
    """The hourly rewrite of new envelope files (intake/time_blur.py) in serve's loop; a
    failure (the database down) is reported once and retried at the next pass."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.blur: Any = None
        self.warned = False

    def poll(self, stop: Callable[[], bool]) -> None:
        """Run the pass if it is due; never stops the server."""
        from .db import make_engine
        from .storage import EnvelopeStore
        from .time_blur import TimeBlur

        try:
            if self.blur is None:
                store = EnvelopeStore(self.config.storage_dir, host=self.config.storage.host)
                self.blur = TimeBlur(store, make_engine(self.config.database_url))
            self.blur.poll(stop)
            self.warned = False
        except Exception as exc:  # a pass that fails must never stop serving
            if not self.warned:
                click.echo(
                    f"Warning: envelope file times could not be blurred this hour "
                    f"({type(exc).__name__}); trying again in an hour.",
                    err=True,
                )
                self.warned = True


class BootstrapReporter:
    """Print tor's bootstrap progress as it changes, until it reaches 100%."""

    def __init__(self, controller: Any) -> None:
        self.controller = controller
        self.last = -1

    def poll(self) -> None:
        """Ask tor once; print a line if the progress moved."""
        if self.controller is None or self.last >= 100:
            return
        with contextlib.suppress(Exception):
            match = _BOOTSTRAP.search(self.controller.get_info("status/bootstrap-phase"))
            if match and int(match.group(1)) != self.last:
                self.last = int(match.group(1))
                click.echo(f"tor: bootstrapped {self.last}% ({match.group(2)})", err=True)
                if self.last >= 100:
                    click.echo("tor: connected; the onion services are being published.", err=True)


@contextlib.contextmanager
def tor_controller(tor_dir: Path, control: str | None, password: str | None) -> Iterator[Any]:
    """A controller for an attached tor (control given) or one launched in DIR/tor/data."""
    try:
        if control:
            with onion.attached_tor(control, password) as controller:
                yield controller
        else:
            with onion.launched_tor(tor_dir / "data") as controller:
                yield controller
    except onion.OnionError as error:
        raise click.ClickException(str(error)) from error


def serve_apps(
    config: Any,
    how: AppSettings,
    ports: tuple[int, int],
    allowed: tuple[frozenset[str], frozenset[str]],
    factories: tuple[str | None, str | None],
    controller: Any,
) -> None:
    """Run both apps until a stop signal or an app exits; always leave storage clean."""
    prepare_storage(config)
    apps: list[AppProcess] = []
    reporter = BootstrapReporter(controller)
    blur = FileTimesBlur(config)
    with stop_requested() as received:
        try:
            roles = zip(("source", "staff"), ports, allowed, factories, strict=True)
            apps += [start_app(role, port, hosts, make, how) for role, port, hosts, make in roles]
            wait_until_answering(apps, how.host)
            click.echo(
                "Ready. Stop with Ctrl-C or SIGTERM (requests in progress get "
                f"{how.graceful_timeout} s to finish).",
                err=True,
            )
            while not received:
                reporter.poll()
                blur.poll(lambda: bool(received))
                exited = [app for app in apps if app.process.poll() is not None]
                if exited:
                    raise click.ClickException(
                        f"the {exited[0].role} app stopped unexpectedly (exit code "
                        f"{exited[0].process.returncode}); see the messages above"
                    )
                time.sleep(0.5)
            click.echo("Stopping: letting requests in progress finish...", err=True)
        finally:
            stop_apps(apps, how.graceful_timeout)
            # An upload still running when its worker was stopped leaves a partial
            # (sealed) file; only this host writes there, so everything left is garbage.
            clean_partial_envelopes(config)
        click.echo("Stopped.", err=True)


@click.command("serve")
@instance_option(must_exist=False)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Local port of the source app.",
)
@click.option(
    "--staff-port",
    default=DEFAULT_STAFF_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Local port of the staff app.",
)
@click.option("--no-tor", is_flag=True, help="Do not publish onion services (development).")
@click.option(
    "--tor-control",
    envvar="SEALDROP_TOR_CONTROL",
    metavar="SOCKET|PORT",
    help="Use a running tor via its control socket path or port instead of "
    "launching one (default: $SEALDROP_TOR_CONTROL).",
)
@click.option(
    "--tor-control-password",
    envvar="SEALDROP_TOR_CONTROL_PASSWORD",
    help="Control port password, if tor uses HashedControlPassword "
    "(default: $SEALDROP_TOR_CONTROL_PASSWORD).",
)
@click.option(
    "--onion-host",
    envvar="SEALDROP_ONION_HOST",
    metavar="ADDRESS.onion",
    help="The intake onion is published by a system tor (deploy/torrc.example): serve it "
    "under this address and launch no tor (default: $SEALDROP_ONION_HOST).",
)
@click.option(
    "--staff-onion-host",
    envvar="SEALDROP_STAFF_ONION_HOST",
    metavar="ADDRESS.onion",
    help="With --onion-host: the staff onion's address (default: $SEALDROP_STAFF_ONION_HOST).",
)
@click.option(
    "--allow-loopback",
    is_flag=True,
    help="With an onion: also answer requests addressed to 127.0.0.1/localhost "
    "(development; `make run` uses it). Off in production, so that only the onion name works.",
)
@click.option(
    "--allow-non-loopback",
    is_flag=True,
    help="Allow --host to be a non-loopback address (see below).",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="gunicorn worker processes per app (default: one per core, at least 2).",
)
@click.option(
    "--graceful-timeout",
    type=click.IntRange(1, 3600),
    default=GRACEFUL_TIMEOUT_SECONDS,
    show_default=True,
    help="Seconds requests in progress get to finish when stopping.",
)
@click.option("--source-factory", hidden=True, help="module:function for the source app.")
@click.option("--staff-factory", hidden=True, help="module:function for the staff app.")
def serve(
    instance: Path,
    host: str,
    port: int,
    staff_port: int,
    no_tor: bool,
    tor_control: str | None,
    tor_control_password: str | None,
    allow_non_loopback: bool,
    workers: int | None,
    graceful_timeout: int,
    source_factory: str | None,
    staff_factory: str | None,
    onion_host: str | None,
    staff_onion_host: str | None,
    allow_loopback: bool,
) -> None:
    """Serve the source app and the staff app, published as onion services.

    With tor installed, a tor of its own is started (data in DIR/tor/data) and the intake
    onion is published with the key in DIR/tor/intake (same address on every start) and
    proof-of-work defenses on; the staff onion is published only to staff holding a client
    key (`sealdrop staff onion-auth add`). Without tor, or with --no-tor, the apps are only
    served on loopback, with a warning.

    Both apps listen on loopback only: bound to a public address, visitors' IP addresses
    would reach the server and the onion's protections would be bypassed.
    --allow-non-loopback exists for a tor running in another container.

    \b
    Example:
        sealdrop serve --instance /var/lib/sealdrop
        sealdrop serve --instance demo/instance --no-tor --port 8080
    """
    from .config import ConfigError, load_config

    if port == staff_port:
        raise click.UsageError("--port and --staff-port must differ.")
    if not is_loopback(host) and not allow_non_loopback:
        raise click.ClickException(
            f"--host {host} is not a loopback address. Sealdrop is reached through tor, "
            "which connects over loopback; listening on a network address would let "
            "browsers reach it without Tor, exposing their IP addresses. Use 127.0.0.1, or "
            "add --allow-non-loopback if tor runs on another host you control."
        )
    try:
        config = load_config(instance)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    lock_instance(config.instance_dir)
    check_ports_free(host, {"source": port, "staff": staff_port})
    how = AppSettings(config.instance_dir, host, workers or default_workers(), graceful_timeout)
    factories = (source_factory, staff_factory)
    loopback = LOOPBACK_HOSTS | {host}
    if onion_host and not no_tor:
        # A system tor publishes the onions from its own HiddenServiceDir.
        hosts = [check_onion_host(onion_host), check_onion_host(staff_onion_host or "")]
        lines = ["Onion services published by the system tor:"]
        lines.append(f"  Source onion (give this to sources):  http://{hosts[0]}/")
        if staff_onion_host:
            lines.append(f"  Staff onion (client key required):    http://{hosts[1]}/")
        if allow_loopback:
            lines.append(
                f"  Also on this machine: http://{host}:{port}/ and http://{host}:{staff_port}/"
            )
        banner(lines, "=")
        staff_allowed = frozenset({hosts[1]}) if staff_onion_host else loopback
        allowed = with_loopback((frozenset({hosts[0]}), staff_allowed), loopback, allow_loopback)
        serve_apps(config, how, (port, staff_port), allowed, factories, None)
        return
    if no_tor or (not tor_control and onion.tor_binary() is None):
        reason = "--no-tor" if no_tor else "tor is not installed"
        warn_without_tor(reason, host, port, staff_port)
        serve_apps(config, how, (port, staff_port), (loopback, loopback), factories, None)
        return
    with tor_controller(config.tor_dir, tor_control, tor_control_password) as controller:
        try:
            published = onion.publish_instance_onions(
                controller, config.tor_dir, (host, port), (host, staff_port)
            )
        except onion.OnionError as error:
            raise click.ClickException(str(error)) from error
        lines = [
            "Sealdrop onion services (tor publishes them once it has bootstrapped):",
            f"  Source onion (give this to sources):  http://{published.intake}/",
        ]
        if published.staff:
            lines.append(f"  Staff onion (client key required):    http://{published.staff}/")
        else:
            lines += [
                "  Staff onion: NOT published: no staff client key yet. Create one with",
                f"    sealdrop staff onion-auth add --instance {instance} NAME",
                "  and restart. Until then the staff app is reachable on this machine only.",
            ]
        if allow_loopback:
            lines.append(
                f"  Also on this machine: http://{host}:{port}/ and http://{host}:{staff_port}/"
            )
        banner(lines, "=")
        staff_hosts = frozenset({published.staff}) if published.staff else loopback
        allowed = with_loopback(
            (frozenset({published.intake}), staff_hosts), loopback, allow_loopback
        )
        serve_apps(config, how, (port, staff_port), allowed, factories, controller)
