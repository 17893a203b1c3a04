"""`sealdrop-admin`: the offline tool that holds the private keys."""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="sealdrop", prog_name="sealdrop-admin")
def main() -> None:
    """Sealdrop offline admin: keys, import, triage, cases, replies, evidence.

    Every command works on a vault directory (--vault, or $SEALDROP_VAULT) and asks
    for the vault passphrase (or reads $SEALDROP_ADMIN_PASSPHRASE / --passphrase-file).
    Run `sealdrop-admin COMMAND -h` for each command's help. Guide: docs/admin.md.

    \b
    Example:
        sealdrop-admin init --vault /media/vault
        sealdrop-admin import --vault /media/vault bundle.sdb --ack-out ack.sda
        sealdrop-admin inbox --vault /media/vault
    """


def _register() -> None:
    """Attach the commands (kept in admin/commands/, one module per area)."""
    from .commands.cases import case
    from .commands.importing import import_
    from .commands.keys import add_recipient, init
    from .commands.log import log, verify_log
    from .commands.replies import export_replies, reply
    from .commands.triage import inbox_cmd, open_cmd, search_cmd, show
    from .commands.upgrade import upgrade
    from .commands.workspace import workspace

    for command in (
        init,
        add_recipient,
        import_,
        inbox_cmd,
        show,
        open_cmd,
        search_cmd,
        case,
        reply,
        export_replies,
        verify_log,
        log,
        upgrade,
        workspace,
    ):
        main.add_command(command)


_register()
