"""Options, output helpers and the vault opener shared by every command."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from ..errors import AdminError
from ..inert import json_text
from ..secrets import read_passphrase
from ..vault import Vault, open_vault

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def vault_option(func: F) -> F:
    """--vault DIR (default $SEALDROP_VAULT)."""
    return click.option(
        "--vault",
        "vault_dir",
        envvar="SEALDROP_VAULT",
        required=True,
        type=click.Path(path_type=Path, file_okay=False),
        help="The vault directory (default: $SEALDROP_VAULT).",
    )(func)


def passphrase_option(func: F) -> F:
    """--passphrase-file FILE (else $SEALDROP_ADMIN_PASSPHRASE, else a prompt)."""
    return click.option(
        "--passphrase-file",
        type=click.Path(path_type=Path, dir_okay=False),
        help="Read the passphrase from this file (else $SEALDROP_ADMIN_PASSPHRASE, else asked).",
    )(func)


def actor_option(func: F) -> F:
    """--actor NAME for the custody log."""
    return click.option(
        "--actor",
        default=_default_actor,
        show_default="your login name",
        help="Name recorded in the custody log for this action.",
    )(func)


def unlocked_vault_options(func: F) -> F:
    """--vault, --passphrase-file and --actor together."""
    return vault_option(passphrase_option(actor_option(func)))


def json_option(func: F) -> F:
    """--json for scripts."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (stable; see docs).")(
        func
    )


@contextlib.contextmanager
def unlocked(vault_dir: Path, passphrase_file: Path | None, actor: str) -> Iterator[Vault]:
    """Ask for the passphrase and open the vault for one command."""
    passphrase = read_passphrase(passphrase_file)
    with open_vault(vault_dir, passphrase, actor) as vault:
        yield vault


def save(vault: Vault) -> None:
    """Write the vault database back; a full disk leaves the old one in place."""
    try:
        vault.save()
    except OSError as exc:
        raise AdminError(
            f"cannot save the vault ({exc.strerror}): this change was not recorded and the "
            "vault is as it was. Free some disk space and run the command again."
        ) from exc


def console() -> Console:
    """Console on standard output (created per call so tests can capture it)."""
    return Console(highlight=False, soft_wrap=False)


def err_console() -> Console:
    """Console on standard error, for progress bars and warnings."""
    return Console(stderr=True, highlight=False)


def print_json(value: Any) -> None:
    """Stable JSON: sorted keys, UTF-8, two-space indent, hidden characters escaped."""
    click.echo(json_text(value))


def page_options(func: F) -> F:
    """--page N and --limit N for listings that come a page at a time."""
    func = click.option(
        "--limit",
        type=int,
        default=50,
        show_default=True,
        help="How many to show per page (1 to 1000).",
    )(func)
    return click.option(
        "--page", type=int, default=1, show_default=True, help="Which page (1 = the newest)."
    )(func)


def echo_not_shown(listing: dict[str, Any], noun: str, again: str) -> None:
    """`Page 1: 50 of 1,234 new tips shown (1,184 not shown); next: ... --page 2`."""
    shown = listing["total"] - listing["not_shown"]
    if listing["not_shown"] <= 0:
        return
    first = (listing["page"] - 1) * listing["limit"]
    line = (
        f"Page {listing['page']}: {shown:,} of {listing['total']:,} {noun} shown "
        f"({listing['not_shown']:,} not shown)."
    )
    if first + shown < listing["total"]:
        line += f" Next page: {again} --page {listing['page'] + 1}"
    click.echo(line)


def silent_option(func: F) -> F:
    """--silent hides progress bars."""
    return click.option("--silent", is_flag=True, help="Do not show a progress bar.")(func)


@contextlib.contextmanager
def progress_bar(total: int, description: str, silent: bool) -> Iterator[Callable[[int], None]]:
    """A byte progress bar on stderr; yields advance(n)."""
    stderr = err_console()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=silent,
        transient=False,
        # A refresh thread only helps a person watching a terminal.
        auto_refresh=stderr.is_terminal,
    ) as progress:
        task = progress.add_task(description, total=total)

        def advance(n: int) -> None:
            progress.advance(task, n)

        yield advance
