"""`workspace`: the local web UI over the vault, for staff who do not use a terminal."""

from __future__ import annotations

import ctypes
import secrets
import signal
import socket
import sys
import webbrowser
from pathlib import Path
from typing import Any

import click
from werkzeug.serving import WSGIRequestHandler, make_server

from ..errors import AdminError
from .common import unlocked, unlocked_vault_options

SECRET_BYTES = 24
# Where CPython keeps a bytes object's contents: after its header (the size of b"" less its
# terminating NUL).
_BYTES_DATA_OFFSET = sys.getsizeof(b"") - 1
_KEY_ATTRIBUTES = ("_private_key", "_seed", "_signing_key")


def wipe_keys(vault: Any) -> int:
    """Overwrite the unlocked keys' secret bytes with zeros (CPython only), before the vault
    forgets them: Python frees memory without clearing it. Copies made by libraries
    (libsodium's, SQLCipher's own key schedule) are theirs to clear. Returns how many."""
    if sys.implementation.name != "cpython":
        return 0
    wiped = 0
    for key in vault._keys.values():
        for name in _KEY_ATTRIBUTES:
            data = getattr(key, name, None)
            if isinstance(data, bytes) and len(data) >= 32:  # never a shared small object
                ctypes.memset(id(data) + _BYTES_DATA_OFFSET, 0, len(data))
                wiped += 1
    return wiped


class _QuietHandler(WSGIRequestHandler):
    """No access log: URLs carry tip and source ids, and the terminal is not the vault."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Log nothing."""


@click.command(name="workspace")
@unlocked_vault_options
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default="a free port",
    help="Loopback port to serve on.",
)
@click.option("--no-browser", is_flag=True, help="Only print the address; do not open a browser.")
def workspace(
    vault_dir: Path, passphrase_file: Path | None, actor: str, port: int, no_browser: bool
) -> None:
    """Open the vault in a local web workspace (inbox, sources, cases, transfer, custody).

    The vault is unlocked once and served on 127.0.0.1 only, at an address holding a
    secret made for this run: other users and programs on the laptop cannot reach it
    without it. Every action is recorded in the custody log under --actor. Stop with
    Ctrl-C: the vault is locked again. Guide: docs/workspace.md.

    \b
    Example:
        sealdrop-admin workspace --vault /media/vault --actor "Li Wei"
        sealdrop-admin workspace --vault /media/vault --port 8765 --no-browser
    """
    from ..workspace import create_app

    with unlocked(vault_dir, passphrase_file, actor) as vault:
        for name in ("recipient", "signing", "vault"):
            vault.key(name)  # a wrong passphrase fails now, not on the first reply
        vault._passphrase = b""  # every key is unlocked: forget the passphrase
        secret = secrets.token_urlsafe(SECRET_BYTES)
        app, gate = create_app(vault, secret)
        # Bound here, not by Werkzeug: on a busy port it prints its own advice and exits.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", port))
            listener.listen(16)
            listener_port = int(listener.getsockname()[1])
        except OSError as exc:
            listener.close()
            raise AdminError(
                f"cannot listen on 127.0.0.1:{port} ({exc.strerror}). Choose another --port "
                "or leave it out to take a free one."
            ) from exc
        # One thread: the vault's database belongs to the thread that opened it, and one
        # person uses the workspace. Progress pages stream within that thread.
        server = make_server(
            "127.0.0.1", port, app, request_handler=_QuietHandler, fd=listener.fileno()
        )
        listener.close()  # the server holds its own copy of the socket
        gate.port = listener_port
        url = f"http://127.0.0.1:{listener_port}/{secret}/"
        click.echo("Workspace open at (keep this address to yourself):", err=True)
        click.echo(url)
        click.echo("Stop it with Ctrl-C: the vault is locked again.", err=True)
        # A service manager's stop (SIGTERM) ends the run as Ctrl-C does: vault locked.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        if not no_browser:
            webbrowser.open(url)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
            app.extensions.clear()
            wipe_keys(vault)
    click.echo("Workspace stopped; the vault is locked.", err=True)
