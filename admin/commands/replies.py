"""`reply` and `export-replies`."""

from __future__ import annotations

from pathlib import Path

import click

from .. import replies
from ..drafts import edit_draft
from ..errors import AdminError
from .common import json_option, print_json, save, unlocked, unlocked_vault_options

EDITOR_HINT = (
    "# Write the reply to the source above this line. Lines starting with # are dropped.\n"
)


@click.command()
@unlocked_vault_options
@click.argument("source")
@click.option(
    "--message",
    help="The reply text (if absent, your $EDITOR opens on a draft kept in memory only).",
)
@json_option
def reply(
    vault_dir: Path,
    passphrase_file: Path | None,
    actor: str,
    source: str,
    message: str | None,
    as_json: bool,
) -> None:
    """Write a reply to a source: sealed to the source's reply key and signed.

    SOURCE is the source id (or its first 6+ digits) shown by `inbox` and `show`. The
    reply waits in the vault until `export-replies`.

    \b
    Example:
        sealdrop-admin reply --vault /media/vault 3f9a2c --message "Which month was it?"
    """
    if message is None:
        edited = edit_draft("\n" + EDITOR_HINT, "reply", "--message")
        if edited is None:
            raise AdminError("the editor was closed without saving: no reply was written.")
        message = edited
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        made = replies.make(vault, source, message)
        save(vault)
    if as_json:
        print_json(made)
    else:
        click.echo(f"Reply {made['reply']} to source {made['source'][:12]} saved.")
        click.echo("Send it with: sealdrop-admin export-replies --out FILE")


@click.command(name="export-replies")
@unlocked_vault_options
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="New file for the reply bundle (never overwritten).",
)
@json_option
def export_replies(
    vault_dir: Path, passphrase_file: Path | None, actor: str, out: Path, as_json: bool
) -> None:
    """Write every reply not yet sent into a reply bundle for the server.

    Replies are marked sent and never exported twice. If there is nothing to send, no
    file is written.

    \b
    Example:
        sealdrop-admin export-replies --vault /media/vault --out /media/usb/replies.sdr
    """
    if out.exists() or out.is_symlink():
        raise AdminError(f"{out} already exists: it is never overwritten. Choose a new file.")
    with unlocked(vault_dir, passphrase_file, actor) as vault:
        ids = replies.export(vault, out)
        if ids:
            try:
                save(vault)
            except AdminError:
                out.unlink(missing_ok=True)
                raise
    if as_json:
        print_json({"out": str(out) if ids else None, "replies": ids})
    elif ids:
        click.echo(f"Wrote {len(ids)} reply(ies) to {out}.")
        click.echo("Carry it to the server: sealdrop import-replies --instance DIR " + out.name)
    else:
        click.echo("No unsent replies: nothing was written.")
