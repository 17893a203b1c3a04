"""Transfer steps shared by the CLI and the workspace: the instance check before an
import, and the signed ack of what the vault now holds."""

from __future__ import annotations

import os
from pathlib import Path

from crypto.bundle import Manifest
from crypto.keys import signer_to_text
from crypto.replies import make_ack

from . import custody
from .errors import AdminError
from .importer import instance_fingerprint
from .vault import Vault


def instance_standing(vault: Vault, manifest: Manifest) -> str:
    """'known', 'first' (the vault knows no instance yet) or 'other' (a different one)."""
    key_text = signer_to_text(manifest.instance_key)
    rows = vault.db.execute("SELECT instance_id, instance_key FROM instances").fetchall()
    if not rows:
        return "first"
    for row in rows:
        if row["instance_id"] == manifest.instance_id and row["instance_key"] == key_text:
            return "known"
    return "other"


def bundle_fingerprint(manifest: Manifest) -> str:
    """The instance's key fingerprint in groups of four digits, as the server prints it."""
    return instance_fingerprint(manifest.instance_key)


def check_ack_target(ack_out: Path) -> None:
    """Refuse an ack file that exists or whose folder does not."""
    if ack_out.exists() or ack_out.is_symlink():
        raise AdminError(f"{ack_out} already exists: it is never overwritten. Choose a new file.")
    if not ack_out.absolute().parent.is_dir():
        raise AdminError(f"the folder for {ack_out} does not exist. Choose an existing folder.")


def _write_new(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise AdminError(
            f"the import is saved, but the ack could not be written to {path} "
            f"({exc.strerror}). Run the same import again with another ack file: it imports "
            "nothing twice and writes the ack."
        ) from exc


def write_ack(vault: Vault, instance_id: str, envelopes: list[str], path: Path) -> None:
    """Sign an ack for `envelopes`, write it to the new file `path`, log it (unsaved)."""
    data = make_ack(vault.signing_key(), instance_id, envelopes, custody.today())
    _write_new(path, data)
    custody.append(
        vault.db,
        vault.actor,
        "ack",
        f"instance:{instance_id}",
        file=path.name,
        envelopes=envelopes,
    )
