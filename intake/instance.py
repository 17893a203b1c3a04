"""Creating an instance directory, and reading its secrets back.

Layout (team contract): config.toml, admin-identity.pub, questionnaire.json, secrets/
(peppers, instance signing key, Flask secret, staff key), storage/ and storage/tmp/, sealdrop.db,
tor/. Files 0600, directories 0700.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import SigningKey

from crypto.encoding import b64decode, b64encode
from crypto.kdf import RECEIPT_COST, Argon2Cost
from crypto.keys import AdminIdentity, fingerprint_digits, signer_to_text
from crypto.receipts import PEPPER_BYTES, Peppers

from .config import Config, ConfigError, load_config, render_config
from .db import make_engine, upgrade_database
from .questionnaire import DEFAULT_PATH as DEFAULT_QUESTIONNAIRE
from .staff_key import create_staff_key


class InstanceExists(ConfigError):
    """`sealdrop init` was pointed at a directory that already holds something."""


@dataclass(frozen=True)
class CreatedInstance:
    """What `sealdrop init` reports to the operator."""

    config: Config
    admin_fingerprint: str
    instance_key_text: str


def _write_private(path: Path, text: str) -> None:
    """Create a 0600 file; refuses to replace anything."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def create_instance(
    directory: Path,
    admin_identity_text: str,
    receipt_cost: Argon2Cost = RECEIPT_COST,
    database_url: str | None = None,
) -> CreatedInstance:
    """Create a new instance; refuses a directory that is not empty."""
    identity = AdminIdentity.from_text(admin_identity_text)  # FormatError if malformed
    directory = Path(directory)
    if directory.is_symlink() or (directory.exists() and any(directory.iterdir())):
        raise InstanceExists(f"{directory} already exists and is not empty; nothing was changed")
    old_umask = os.umask(0o077)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        for sub in ("secrets", "storage", "storage/tmp", "tor"):
            (directory / sub).mkdir(mode=0o700)
        instance_id = secrets.token_hex(16)
        _write_private(
            directory / "config.toml", render_config(instance_id, receipt_cost, database_url)
        )
        _write_private(directory / "admin-identity.pub", identity.to_text())
        _write_private(
            directory / "questionnaire.json", DEFAULT_QUESTIONNAIRE.read_text(encoding="utf-8")
        )
        peppers = Peppers.generate()
        _write_private(
            directory / "secrets" / "peppers",
            f"salt: {b64encode(peppers.salt_pepper)}\nsplit: {b64encode(peppers.split_pepper)}\n",
        )
        signing_key = SigningKey.generate()
        _write_private(
            directory / "secrets" / "instance-signing-key", b64encode(bytes(signing_key)) + "\n"
        )
        _write_private(directory / "secrets" / "flask-secret-key", b64encode(os.urandom(32)) + "\n")
        config = load_config(directory)
        create_staff_key(config.staff_key_path)
        engine = make_engine(config.database_url)
        try:
            upgrade_database(engine)
        finally:
            engine.dispose()
        if config.database_path.exists():
            os.chmod(config.database_path, 0o600)
    except BaseException:
        # The directory was empty when we started: everything in it is ours to remove.
        shutil.rmtree(directory, ignore_errors=True)
        raise
    finally:
        os.umask(old_umask)
    return CreatedInstance(config, identity.fingerprint, signer_to_text(signing_key.verify_key))


def _read_secret_lines(path: Path) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in path.read_text(encoding="ascii").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            fields[key] = value.strip()
    return fields


def load_peppers(config: Config) -> Peppers:
    """The two receipt peppers; losing them makes every receipt useless."""
    fields = _read_secret_lines(config.peppers_path)
    return Peppers(
        b64decode(fields["salt"], PEPPER_BYTES), b64decode(fields["split"], PEPPER_BYTES)
    )


def load_instance_signing_key(config: Config) -> SigningKey:
    """The instance Ed25519 key that signs export bundle manifests."""
    return SigningKey(b64decode(config.instance_key_path.read_text(encoding="ascii").strip(), 32))


def load_flask_secret(config: Config) -> bytes:
    """The secret that signs CSRF tokens."""
    return b64decode(config.flask_secret_path.read_text(encoding="ascii").strip(), 32)


def load_admin_identity(config: Config) -> AdminIdentity:
    """The admin identity the instance seals to (FormatError/OSError if missing or malformed)."""
    return AdminIdentity.from_text(config.admin_identity_path.read_text(encoding="utf-8"))


def instance_key_fingerprint(key: SigningKey) -> str:
    """The digits the offline side shows at a first import (admin/importer.py), to compare."""
    return fingerprint_digits(key.verify_key.encode())
