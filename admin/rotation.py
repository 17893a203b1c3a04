"""Adding an X-Wing (hybrid post-quantum) recipient to an existing vault.

The new private key goes to keys/recipient-N.key beside the old ones, which stay: they
still open every envelope sealed before the server has the new identity. The new
admin-identity.pub lists the new key (and a new backup key, if asked) first; the old
recipients are kept in it only on request, because every envelope sealed to a classical
X25519 recipient can be opened by whoever later breaks X25519.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from crypto.errors import FormatError
from crypto.kdf import Argon2Cost
from crypto.keys import MAX_RECIPIENTS, AdminIdentity, Recipient, lock_private_key
from crypto.xwing import XWingPrivateKey

from . import custody
from .errors import AdminError
from .vault import Vault, fsync_dir, write_private

_NUMBERED = re.compile(r"recipient-([1-9][0-9]*)\.key")


@dataclass(frozen=True)
class Rotation:
    """What add_hybrid_recipient did."""

    identity: AdminIdentity
    previous_fingerprint: str
    key_file: Path
    backup_file: Path | None


def current_identity(vault: Vault) -> AdminIdentity:
    """The vault's admin-identity.pub, checked against the vault's own signing key."""
    path = vault.root / "admin-identity.pub"
    try:
        identity = AdminIdentity.from_text(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, FormatError) as exc:
        raise AdminError(
            f"cannot read {path} ({exc}). Restore it from your backup of the vault."
        ) from exc
    if bytes(identity.signer) != bytes(vault.signing_key().verify_key):
        raise AdminError(
            f"{path} names another signing key than this vault's: it belongs to another "
            "vault. Restore this vault's own admin-identity.pub from your backup."
        )
    return identity


def _next_key_path(vault: Vault) -> Path:
    numbers = [
        int(m[1]) for p in (vault.root / "keys").iterdir() if (m := _NUMBERED.fullmatch(p.name))
    ]
    return vault.root / "keys" / f"recipient-{max(numbers, default=1) + 1}.key"


def add_hybrid_recipient(
    vault: Vault,
    passphrase: bytes,
    cost: Argon2Cost,
    backup_path: Path | None,
    keep_old: bool,
) -> Rotation:
    """Make an X-Wing recipient (and backup) key and write the new admin-identity.pub."""
    old = current_identity(vault)
    if backup_path is not None and (backup_path.exists() or not backup_path.parent.is_dir()):
        raise AdminError(
            f"{backup_path} already exists or its folder is missing. Choose a new file in an "
            "existing folder for the backup key."
        )
    office = XWingPrivateKey.generate()
    backup = XWingPrivateKey.generate() if backup_path is not None else None
    recipients: list[Recipient] = [office.public_key]
    if backup is not None:
        recipients.append(backup.public_key)
    if keep_old:
        recipients += [r for r in old.recipients if r not in recipients]
    if len(recipients) > MAX_RECIPIENTS:
        raise AdminError(
            f"the identity would list {len(recipients)} recipients; at most {MAX_RECIPIENTS} "
            "are allowed. Run it again without --keep-old."
        )
    identity = AdminIdentity(tuple(recipients), old.signer)
    key_path = _next_key_path(vault)
    try:
        # The key file first: if anything below fails, an unused key is all that is left.
        write_private(key_path, lock_private_key(office, passphrase, cost).encode("ascii"))
        fsync_dir(key_path.parent)
        if backup is not None and backup_path is not None:
            fd = os.open(backup_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(lock_private_key(backup, passphrase, cost))
                out.flush()
                os.fsync(out.fileno())
        pub = vault.root / "admin-identity.pub"
        write_private(pub, identity.to_text().encode("ascii"))
        pub.chmod(0o644)
        fsync_dir(vault.root)
    except OSError as exc:
        raise AdminError(
            f"cannot write the new key ({exc.strerror}); admin-identity.pub is unchanged "
            "unless this message names it. Free some space and run the command again."
        ) from exc
    custody.append(
        vault.db,
        vault.actor,
        "add-recipient",
        "identity",
        previous=old.fingerprint,
        fingerprint=identity.fingerprint,
        key_file=key_path.name,
        backup=backup_path is not None,
        kept_old=keep_old,
    )
    vault.save()
    return Rotation(identity, old.fingerprint, key_path, backup_path)
