"""`sealdrop staff ...`: staff accounts and their access to the staff onion."""

from __future__ import annotations

from pathlib import Path

import click

from . import onion
from .cli_options import CONTEXT, instance_option


@click.group("staff", context_settings=CONTEXT)
def staff() -> None:
    """Manage staff: accounts, and the client keys that reach the staff onion.

    \b
    Example:
        sealdrop staff onion-auth add --instance /var/lib/sealdrop amina
    """


@staff.group("onion-auth", context_settings=CONTEXT)
def onion_auth() -> None:
    """Client keys for the staff onion (tor v3 client authorisation).

    \b
    Example:
        sealdrop staff onion-auth add --instance /var/lib/sealdrop amina
    """


@onion_auth.command("add")
@instance_option()
@click.argument("name")
def add(instance: Path, name: str) -> None:
    """Make a client key NAME for the staff onion and print it, once, for Tor Browser.

    Only the public half is kept (DIR/tor/staff/authorized_clients/NAME.auth); the private
    half is printed and never stored on the server, so a seized server does not open the
    staff onion. Restart `sealdrop serve` to publish the staff onion with the new key.
    Revoke a key by deleting its .auth file and restarting.

    \b
    Example:
        sealdrop staff onion-auth add --instance /var/lib/sealdrop amina
    """
    from .config import ConfigError, load_config

    try:
        config = load_config(instance)
        auth = onion.add_client_auth(config.tor_dir / "staff", name)
    except (ConfigError, onion.OnionError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Client key {name!r} added for the staff onion http://{auth.service_address}.onion/\n"
        "Give the line below to this staff member over a safe channel, then forget it\n"
        "(it is not stored on the server). In Tor Browser, open the address above and\n"
        "paste the part after the last ':' when asked for the key; for a tor client, save\n"
        "the whole line as a .auth_private file in its ClientOnionAuthDir.\n",
        err=True,
    )
    click.echo(auth.auth_private_line)
    click.echo("\nRestart `sealdrop serve` to publish the staff onion with this key.", err=True)
