"""`init`: create a vault and its keys; `add-recipient`: add a hybrid recipient key."""

from __future__ import annotations

from pathlib import Path

import click

from ..rotation import add_hybrid_recipient
from ..secrets import new_key_file_cost, read_passphrase
from ..vault import create_vault, open_vault
from .common import (
    json_option,
    passphrase_option,
    print_json,
    unlocked_vault_options,
    vault_option,
)


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


@click.command("add-recipient")
@unlocked_vault_options
@click.option(
    "--backup-recipient",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Also make a new hybrid backup recipient key and write its locked key file here.",
)
@click.option(
    "--keep-old",
    is_flag=True,
    help="Keep listing the identity's current recipients after the new ones. Tips sealed "
    "to a classical (X25519) recipient are not safe from a future quantum computer.",
)
@json_option
def add_recipient(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    backup_recipient: Path | None,
    keep_old: bool,
    as_json: bool,
) -> None:
    """Add a hybrid post-quantum (X-Wing) recipient key to this vault and write a new
    admin-identity.pub that lists it.

    The old private keys stay in the vault and keep opening every tip sealed to them. The
    server seals to the new key once it has the new admin-identity.pub (replace the file
    in the instance folder and restart; docs/operations.md). Compare the new fingerprint
    with the one the server shows.

    \b
    Example:
        sealdrop-admin add-recipient --vault /media/vault
        sealdrop-admin add-recipient --vault /media/vault --backup-recipient /media/usb/pq.key
    """
    cost = new_key_file_cost()
    passphrase = read_passphrase(passphrase_file)
    with open_vault(vault_dir, passphrase, actor) as vault:
        rotation = add_hybrid_recipient(vault, passphrase, cost, backup_recipient, keep_old)
    identity = rotation.identity
    if as_json:
        print_json(
            {
                "identity_file": str(vault_dir / "admin-identity.pub"),
                "fingerprint": identity.fingerprint,
                "previous_fingerprint": rotation.previous_fingerprint,
                "key_file": str(rotation.key_file),
                "backup_key_file": str(backup_recipient) if backup_recipient else None,
                "recipients": len(identity.recipients),
                "hybrid": identity.hybrid,
            }
        )
        return
    click.echo(f"New hybrid recipient key: {rotation.key_file}")
    if backup_recipient is not None:
        click.echo(f"New hybrid backup key (same passphrase): {backup_recipient}")
    click.echo(f"Admin identity rewritten: {vault_dir / 'admin-identity.pub'}")
    click.echo(f"New fingerprint:  {identity.fingerprint}")
    click.echo(f"Old fingerprint:  {rotation.previous_fingerprint}")
    if not identity.hybrid:
        click.echo(
            "WARNING: the identity still lists a classical (X25519) recipient: tips sealed to "
            "it are not safe from a future quantum computer."
        )
    click.echo(
        "Next: copy admin-identity.pub to the server, replace the instance's copy and restart "
        "(docs/operations.md, 'Rotate the admin key'). Until then the server seals to the old "
        "keys, which this vault still opens."
    )
