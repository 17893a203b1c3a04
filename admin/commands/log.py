"""`verify-log` and `log`: the custody log."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from .. import custody
from ..errors import AdminError
from ..inert import cell, terminal
from ..tips import check_paging
from ..vault import damaged_error
from .common import (
    console,
    echo_not_shown,
    json_option,
    page_options,
    print_json,
    unlocked,
    unlocked_vault_options,
)


@click.command(name="verify-log")
@unlocked_vault_options
@click.option(
    "--expect",
    "expected",
    metavar="MARK",
    help="A mark (SEQ:HASH) printed by an earlier verify-log: check that entry is still there "
    "with the same hash, so nothing up to it was rewritten and nothing after it cut off.",
)
@json_option
def verify_log(
    vault_dir: Path, passphrase_file: Path | None, actor: str, expected: str | None, as_json: bool
) -> None:
    """Check every database page's MAC, recompute the custody log's hash chain; name the
    first broken entry (exit 1).

    A chain cannot show by itself that its newest entries were cut off. Keep the mark of
    the newest entry it prints apart from the vault (on paper, on a second medium) and
    give it back with --expect later.

    \b
    Example:
        sealdrop-admin verify-log --vault /media/vault
        sealdrop-admin verify-log --vault /media/vault --expect 8:3fa4...c2
    """
    try:
        mark = custody.Mark.parse(expected) if expected is not None else None
    except ValueError as exc:
        raise AdminError(f"--expect {expected!r}: {exc}.") from exc
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        damaged = vault.damaged_pages()
        if damaged:
            error = damaged_error(vault.root)
            raise AdminError(f"{error} ({'; '.join(damaged[:3])})") from None
        check = custody.verify(vault.db)
        mark_problem = (
            custody.find_mark(vault.db, mark)
            if mark is not None and check.first_broken is None
            else None
        )
    failure: str | None = mark_problem
    if check.first_broken is not None:
        failure = (
            f"the custody log is broken at entry {check.first_broken}: {check.problem}. "
            f"Entries from {check.first_broken} on cannot be trusted"
        )
    if as_json:
        print_json(
            {
                "entries": check.entries,
                "ok": failure is None,
                "first_broken": check.first_broken,
                "problem": check.problem or mark_problem,
                "newest": str(check.newest) if check.newest else None,
                "expected": str(mark) if mark else None,
            }
        )
    elif failure is None:
        click.echo(f"Custody log intact: {check.entries} entries, hash chain verified.")
        if mark is not None:
            click.echo(f"The mark you kept, entry {mark.seq}, is in the chain unchanged.")
        if check.newest is not None:
            click.echo(f"Newest entry's mark (keep it apart from the vault): {check.newest}")
    else:
        click.echo(terminal(f"Error: {failure}; compare with a backup of the vault."), err=True)
    if failure is not None:
        raise click.exceptions.Exit(1)


@click.command(name="log")
@unlocked_vault_options
@click.option("--object", "obj", help="Only entries about this object, e.g. tip:12 or case:1.")
@page_options
@json_option
def log(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    obj: str | None,
    page: int,
    limit: int,
    as_json: bool,
) -> None:
    """Show the custody log (who did what, when), the newest entries first by page.

    Page 1 holds the newest entries, each page in log order (oldest at the top).

    \b
    Example:
        sealdrop-admin log --vault /media/vault --object case:1
        sealdrop-admin log --vault /media/vault --page 2 --limit 200
    """
    check_paging(page, limit)
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        listing = custody.entries_page(vault.db, page, limit, obj)
    entries = listing["entries"]
    if as_json:
        print_json(listing)
        return
    table = Table()
    for col in ("Seq", "Time", "Who", "Action", "Object", "Details"):
        table.add_column(col, overflow="fold")
    for e in entries:
        table.add_row(
            str(e["seq"]),
            cell(e["time"]),
            cell(e["actor"]),
            cell(e["action"]),
            cell(e["object"]),
            cell(", ".join(f"{k}={v}" for k, v in sorted(e["details"].items()))),
        )
    console().print(table)
    again = "sealdrop-admin log" + (f" --object {obj}" if obj else "")
    echo_not_shown(listing, "entries", again + (f" --limit {limit}" if limit != 50 else ""))
