"""`init`: create a vault and its keys."""

from __future__ import annotations

from pathlib import Path

import click

from ..secrets import new_key_file_cost, read_passphrase
from ..vault import create_vault
from .common import json_option, passphrase_option, print_json, vault_option


@click.command()
@vault_option
@click.option(
    "--backup-recipient",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also make a backup recipient key and write its locked private key file here "
    "(e.g. a USB stick kept in a safe).",
)
@passphrase_option
@json_option
def init(
    vault_dir: Path, backup_recipient: Path | None, passphrase_file: Path | None, as_json: bool
) -> None:
    """Create a new vault: keys locked under a passphrase, and admin-identity.pub.

    The passphrase is asked twice. Give DIR/admin-identity.pub to whoever sets up the
    server (`sealdrop init --admin-identity`), and check the fingerprint with them.

    \b
    Example:
        sealdrop-admin init --vault /media/vault
        sealdrop-admin init --vault /media/vault --backup-recipient /media/usb/backup.key
    """
    cost = new_key_file_cost()
    passphrase = read_passphrase(passphrase_file, confirm=True)
    identity = create_vault(vault_dir, passphrase, cost, backup_recipient)
    identity_file = vault_dir / "admin-identity.pub"
    if as_json:
        print_json(
            {
                "vault": str(vault_dir),
                "identity_file": str(identity_file),
                "fingerprint": identity.fingerprint,
                "recipients": len(identity.recipients),
                "backup_key_file": str(backup_recipient) if backup_recipient else None,
            }
        )
        return
    click.echo(f"Vault created in {vault_dir}")
    click.echo(f"Admin identity: {identity_file}")
    click.echo(f"Fingerprint:    {identity.fingerprint}")
    if backup_recipient is not None:
        click.echo(f"Backup recipient key (locked with the same passphrase): {backup_recipient}")
    click.echo(
        "Next: copy admin-identity.pub to the server and compare this fingerprint with the "
        "one `sealdrop init` prints."
    )
