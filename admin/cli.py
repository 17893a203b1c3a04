"""`sealdrop-admin`: the offline tool that holds the private keys."""

from __future__ import annotations

import click

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="sealdrop", prog_name="sealdrop-admin")
def main() -> None:
    """Sealdrop offline admin: keys, import, triage, cases, replies, evidence."""
