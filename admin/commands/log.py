"""`verify-log` and `log`: the custody log."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .. import custody
from ..display import cell
from .common import console, json_option, print_json, unlocked, unlocked_vault_options


@click.command(name="verify-log")
@unlocked_vault_options
@json_option
def verify_log(vault_dir: Path, passphrase_file: Path | None, actor: str, as_json: bool) -> None:
    """Recompute the custody log's hash chain; name the first broken entry (exit 1).

    \b
    Example:
        sealdrop-admin verify-log --vault /media/vault
    """
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        check = custody.verify(vault.db)
    if as_json:
        print_json(
            {
                "entries": check.entries,
                "ok": check.first_broken is None,
                "first_broken": check.first_broken,
                "problem": check.problem,
            }
        )
    elif check.first_broken is None:
        click.echo(f"Custody log intact: {check.entries} entries, hash chain verified.")
    if check.first_broken is not None:
        if not as_json:
            click.echo(
                f"Error: the custody log is broken at entry {check.first_broken}: "
                f"{check.problem}. Entries from {check.first_broken} on cannot be trusted; "
                "compare with a backup of the vault.",
                err=True,
            )
        raise click.exceptions.Exit(1)


@click.command(name="log")
@unlocked_vault_options
@click.option("--object", "obj", help="Only entries about this object, e.g. tip:12 or case:1.")
@json_option
def log(
    vault_dir: Path, passphrase_file: Path | None, actor: str, obj: str | None, as_json: bool
) -> None:
    """Show the custody log (who did what, when).

    \b
    Example:
        sealdrop-admin log --vault /media/vault --object case:1
    """
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        entries = custody.entries_for(vault.db, [obj]) if obj else custody.all_entries(vault.db)
    if as_json:
        print_json({"entries": entries})
        return
    table = Table()
    for col in ("Seq", "Time", "Who", "Action", "Object", "Details"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            str(e["seq"]),
            e["time"],
            cell(e["actor"]),
            e["action"],
            e["object"],
            cell(", ".join(f"{k}={v}" for k, v in sorted(e["details"].items()))),
        )
    console().print(table)
