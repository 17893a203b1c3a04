"""Getting the admin passphrase and choosing the Argon2id cost of new key files."""

from __future__ import annotations

import os
from pathlib import Path

import click

from crypto.kdf import KEY_FILE_COST, TEST_COST, Argon2Cost

PASSPHRASE_ENV = "SEALDROP_ADMIN_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
KDF_ENV = "SEALDROP_ADMIN_KDF"
MIN_PASSPHRASE_CHARS = 8


def read_passphrase(passphrase_file: Path | None, *, confirm: bool = False) -> bytes:
    """The passphrase from --passphrase-file, $SEALDROP_ADMIN_PASSPHRASE, or a prompt."""
    if passphrase_file is not None:
        try:
            text = passphrase_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(
                f"cannot read the passphrase file {passphrase_file}: {exc.strerror}. "
                "Check the path given to --passphrase-file."
            ) from exc
        # A file written by an editor ends with a newline that is not part of the passphrase.
        text = text.rstrip("\r\n")
    elif os.environ.get(PASSPHRASE_ENV):
        text = os.environ[PASSPHRASE_ENV]
    else:
        text = click.prompt(
            "Admin passphrase",
            hide_input=True,
            confirmation_prompt="Type the passphrase again" if confirm else False,
            err=True,
        )
    if not text:
        raise click.ClickException("the passphrase is empty. Type the vault passphrase.")
    if confirm and len(text) < MIN_PASSPHRASE_CHARS:
        raise click.ClickException(
            f"the passphrase is shorter than {MIN_PASSPHRASE_CHARS} characters. "
            "Choose a longer one (a few random words work well)."
        )
    return text.encode("utf-8")


def new_key_file_cost() -> Argon2Cost:
    """Cost for key files being created now.

    $SEALDROP_ADMIN_KDF=test selects libsodium's cheapest setting so the test suite stays
    fast. It is read only here, when key files are created: every key file records its
    own parameters, so unlocking always uses what the file says.
    """
    choice = os.environ.get(KDF_ENV, "")
    if choice == "":
        return KEY_FILE_COST
    if choice == "test":
        click.echo(
            f"WARNING: {KDF_ENV}=test: key files get the weak test-only Argon2id cost. "
            "Never use this for a real vault.",
            err=True,
        )
        return TEST_COST
    raise click.ClickException(f"{KDF_ENV} may only be 'test' (for the test suite) or unset.")
