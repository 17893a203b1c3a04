"""`sealdrop`: the server-side command. Each command lives beside what it operates on and
is registered here, one line each."""

from __future__ import annotations

import click

from .cli_options import CONTEXT


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="sealdrop", prog_name="sealdrop")
def main() -> None:
    """Sealdrop intake server: set up an instance, serve it as an onion service, and move
    sealed tips to and from the offline admin laptop.

    \b
    Example:
        sealdrop init --instance /var/lib/sealdrop --admin-identity admin-identity.pub
        sealdrop serve --instance /var/lib/sealdrop
    """


# Commands are added below (one line each): main.add_command(...)
from intake.cli_init import init_command  # noqa: E402

main.add_command(init_command)
from intake.serve_cli import serve  # noqa: E402

main.add_command(serve)
from intake.staff_cli import staff  # noqa: E402

main.add_command(staff)
from intake.staff.cli import add_staff_commands  # noqa: E402

add_staff_commands(staff)
from intake.transfer_cli import COMMANDS as TRANSFER_COMMANDS  # noqa: E402

for _command in TRANSFER_COMMANDS:
    main.add_command(_command)
