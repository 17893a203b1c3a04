"""`sealdrop staff add / remove / list`: staff accounts of the staff app.

Registered on the `staff` group of intake/staff_cli.py by intake/cli.py.
"""

from __future__ import annotations

from pathlib import Path

import click

from ..cli_options import CONTEXT, instance_option
from ..config import ConfigError
from ..staff_key import StaffKeyError, load_or_create_staff_key, seal_plaintext_secrets
from ..terminal_qr import terminal_qr
from ..transfer import OPERATOR, record_action
from ..transfer.instance_access import open_instance, utc_today
from .accounts import AccountError, add_account, list_accounts, remove_account


@click.command("add", context_settings=CONTEXT)
@instance_option()
@click.argument("name")
def add_command(instance: Path, name: str) -> None:
    """Create staff account NAME; print its one-time password and TOTP URI, once.

    Give both to the person over a safe channel. They scan the QR code (the otpauth://
    URI) with an authenticator app (or type its secret), log in to the staff app with the
    one-time password and a code, and must then choose their own password. Nothing printed here
    can be shown again: if it is lost, remove the account and add it again.

    \b
    Example:
        sealdrop staff add --instance /var/lib/sealdrop amina
    """
    try:
        with open_instance(instance) as access:
            site = access.config.site.name or "Sealdrop"
            cost = access.config.receipt_cost
            key = load_or_create_staff_key(access.config.staff_key_path)
            seal_plaintext_secrets(access.db, key)
            created = add_account(access.db, key, name, cost, utc_today(), issuer=site)
            record_action(access.db, OPERATOR, "staff-add", f"account {name}", utc_today())
            access.db.commit()
    except (ConfigError, AccountError, StaffKeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Staff account {name!r} created. Shown once; give it over a safe channel:")
    click.echo(f"One-time password: {created.password}")
    click.echo(f"TOTP (authenticator app): {created.totp_uri}")
    click.echo("The same TOTP secret as a QR code, to scan with the authenticator app:")
    click.echo(terminal_qr(created.totp_uri), nl=False)
    click.echo("The password must be changed at first login to the staff app.")


@click.command("remove", context_settings=CONTEXT)
@instance_option()
@click.argument("name")
def remove_command(instance: Path, name: str) -> None:
    """Delete staff account NAME; any session it has ends at once.

    \b
    Example:
        sealdrop staff remove --instance /var/lib/sealdrop amina
    """
    try:
        with open_instance(instance) as access:
            remove_account(access.db, name)
            record_action(access.db, OPERATOR, "staff-remove", f"account {name}", utc_today())
            access.db.commit()
    except (ConfigError, AccountError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Staff account {name!r} removed.")


@click.command("list", context_settings=CONTEXT)
@instance_option()
def list_command(instance: Path) -> None:
    """List staff accounts (names and state; never a secret).

    \b
    Example:
        sealdrop staff list --instance /var/lib/sealdrop
    """
    try:
        with open_instance(instance) as access:
            accounts = list_accounts(access.db)
            rows = [
                (
                    a.name,
                    a.created_day.isoformat(),
                    "one-time password not changed yet" if a.must_change_password else "active",
                )
                for a in accounts
            ]
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if not rows:
        click.echo("No staff accounts. Add one with: sealdrop staff add --instance DIR NAME")
        return
    width = max(len(row[0]) for row in rows)
    click.echo(f"{'NAME'.ljust(width)}  CREATED     STATE")
    for row_name, created, state in rows:
        click.echo(f"{row_name.ljust(width)}  {created}  {state}")


def add_staff_commands(group: click.Group) -> None:
    """Register add/remove/list on the `sealdrop staff` group."""
    for command in (add_command, remove_command, list_command):
        group.add_command(command)
