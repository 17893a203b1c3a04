"""`upgrade`: convert a first-format vault to the SQLCipher database."""

from __future__ import annotations

from pathlib import Path

import click

from ..secrets import read_passphrase
from ..upgrade import upgrade_vault
from ..vault import OLD_DB_NAME, vault_exists
from .common import json_option, print_json, unlocked_vault_options


@click.command(name="upgrade")
@unlocked_vault_options
@json_option
def upgrade(vault_dir: Path, passphrase_file: Path | None, actor: str, as_json: bool) -> None:
    """Convert a vault made by an earlier sealdrop-admin to the current format.

    The old database (vault.db.enc) is copied into a new SQLCipher database and the
    copy checked (row counts of every table, every page, the custody chain) before it
    is used; the old file is kept as vault.db.enc.v1 until you delete it. Needs free
    space of about 1.5 times the old database. Safe to run again after a crash.

    \b
    Example:
        sealdrop-admin upgrade --vault /media/vault
    """
    if not vault_exists(vault_dir):
        raise click.ClickException(f"no vault in {vault_dir}. Give the right --vault directory.")
    passphrase = read_passphrase(passphrase_file)

    def say(line: str) -> None:
        if not as_json:
            click.echo(line, err=True)

    result = upgrade_vault(vault_dir, passphrase, actor, say)
    if as_json:
        print_json(
            {
                "already": result.already,
                "rows": result.rows,
                "custody_entries": result.custody_entries,
                "custody_mark": result.newest_mark,
                "kept": None if result.already else result.kept,
            }
        )
        return
    if result.already:
        click.echo("This vault is already in the current format. Nothing to do.")
        return
    click.echo(
        f"Upgraded: {sum(result.rows.values()):,} rows in {len(result.rows)} tables and "
        f"{result.custody_entries:,} custody entries copied and checked "
        f"(newest mark {result.newest_mark})."
    )
    click.echo(
        f"The old database is kept as {vault_dir / (OLD_DB_NAME + '.v1')}: delete it once "
        "you have checked the vault (it holds the same tips under the same key)."
    )
