"""`sealdrop init`: create an instance directory."""

from __future__ import annotations

from pathlib import Path

import click

from crypto.errors import CryptoError

from .cli_options import instance_option
from .config import ConfigError
from .instance import create_instance, instance_key_fingerprint, load_instance_signing_key


@click.command("init")
@instance_option(must_exist=False, help="New instance directory.")
@click.option(
    "--admin-identity",
    "identity_file",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="admin-identity.pub written by `sealdrop-admin init` on the offline laptop.",
)
def init_command(instance: Path, identity_file: Path) -> None:
    """Create a new instance: config, secrets, database, storage.

    Compare the fingerprint printed at the end with the one `sealdrop-admin init`
    showed on the offline laptop before sending anything to this server.

    \b
    Example:
        sealdrop init --instance /var/lib/sealdrop --admin-identity admin-identity.pub
    """
    try:
        text = identity_file.read_text(encoding="utf-8")
        created = create_instance(instance, text)
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{identity_file} is not an admin identity file") from exc
    except CryptoError as exc:
        raise click.ClickException(
            f"{identity_file} is not a valid admin identity ({exc}); copy it again from "
            "the offline laptop"
        ) from exc
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"cannot create {instance}: {exc.strerror}") from exc
    config = created.config
    click.echo(f"Created instance {config.instance_id} in {config.instance_dir}")
    click.echo(f"Database: {config.database_url.split('@')[-1]}")
    click.echo(f"Admin identity fingerprint: {created.admin_fingerprint}")
    click.echo("  Compare it with the one shown by `sealdrop-admin init`; stop if they differ.")
    click.echo(f"Instance signing key (bundle manifests): {created.instance_key_text}")
    fingerprint = instance_key_fingerprint(load_instance_signing_key(config))
    click.echo(f"Instance key fingerprint: {fingerprint}")
    click.echo(
        "  The first `sealdrop-admin import` shows this fingerprint: write it down and check."
    )
