"""The instance configuration: a frozen, typed dataclass read from DIR/config.toml."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crypto.kdf import RECEIPT_COST, Argon2Cost

from .storage import StorageError, host_folder

MiB = 1024 * 1024
GiB = 1024 * MiB
DATABASE_URL_ENV = "SEALDROP_DATABASE_URL"
INSTANCE_ENV = "SEALDROP_INSTANCE"


class ConfigError(ValueError):
    """The instance directory or its config.toml is missing or malformed."""


@dataclass(frozen=True)
class Limits:
    """What one submission may carry. Defaults fit video sent over Tor."""

    max_file_bytes: int = 2 * GiB
    max_submission_bytes: int = 2 * GiB
    max_files: int = 50
    max_narrative_chars: int = 100_000
    max_answer_chars: int = 2_000
    max_filename_chars: int = 255


@dataclass(frozen=True)
class LoginPolicy:
    """Login abuse without IP addresses (docs/login-abuse.md)."""

    max_concurrent_derivations: int = 4
    derivation_wait_seconds: float = 10.0
    failures_per_window: int = 30
    window_seconds: int = 60
    max_backoff_seconds: int = 900
    session_minutes: int = 120


@dataclass(frozen=True)
class Retention:
    """Retention periods in days (applied by `sealdrop purge`; 0 = keep until acked/deleted)."""

    reply_days: int = 90
    session_days: int = 1
    exported_unacked_days: int = 0


@dataclass(frozen=True)
class StorageSettings:
    """The disk that holds envelopes ([storage] in config.toml)."""

    # New tips are refused (a page saying so, nothing kept) rather than let uploads fill the
    # disk: a full disk would also stop the database, logs and tor. Checked before a
    # submission is accepted (against its Content-Length) and while it streams.
    reserve_free_bytes: int = 512 * MiB
    # This host's folder under storage/tmp for partial uploads ("" = the machine's host
    # name). Hosts sharing storage/ (docs/scale-out.md) need distinct ones.
    host: str = ""


@dataclass(frozen=True)
class Site:
    """Who runs this instance, shown on the landing page."""

    name: str = "Sealdrop"
    organisation: str = ""


@dataclass(frozen=True)
class Config:
    """Everything the intake needs to know about one instance."""

    instance_dir: Path
    instance_id: str
    database_url: str
    receipt_cost: Argon2Cost = RECEIPT_COST
    limits: Limits = field(default_factory=Limits)
    login: LoginPolicy = field(default_factory=LoginPolicy)
    retention: Retention = field(default_factory=Retention)
    storage: StorageSettings = field(default_factory=StorageSettings)
    site: Site = field(default_factory=Site)
    # Long enough for an hour-long upload over a slow bridge.
    csrf_time_limit_seconds: int = 4 * 3600

    @property
    def config_path(self) -> Path:
        """DIR/config.toml."""
        return self.instance_dir / "config.toml"

    @property
    def admin_identity_path(self) -> Path:
        """DIR/admin-identity.pub."""
        return self.instance_dir / "admin-identity.pub"

    @property
    def questionnaire_path(self) -> Path:
        """DIR/questionnaire.json."""
        return self.instance_dir / "questionnaire.json"

    @property
    def secrets_dir(self) -> Path:
        """DIR/secrets (0700)."""
        return self.instance_dir / "secrets"

    @property
    def peppers_path(self) -> Path:
        """The two receipt peppers."""
        return self.secrets_dir / "peppers"

    @property
    def instance_key_path(self) -> Path:
        """The instance Ed25519 signing key (bundle manifests)."""
        return self.secrets_dir / "instance-signing-key"

    @property
    def flask_secret_path(self) -> Path:
        """The Flask secret key (signs CSRF tokens)."""
        return self.secrets_dir / "flask-secret-key"

    @property
    def staff_key_path(self) -> Path:
        """The staff key: encrypts TOTP secrets, keys the login throttle (kept out of the db)."""
        return self.secrets_dir / "staff-key"

    @property
    def storage_dir(self) -> Path:
        """DIR/storage: sealed envelopes."""
        return self.instance_dir / "storage"

    @property
    def storage_tmp_dir(self) -> Path:
        """DIR/storage/tmp/HOST: this host's envelopes being written."""
        return self.storage_dir / "tmp" / host_folder(self.storage.host)

    @property
    def database_path(self) -> Path:
        """The default SQLite file."""
        return self.instance_dir / "sealdrop.db"

    @property
    def tor_dir(self) -> Path:
        """DIR/tor: onion service keys."""
        return self.instance_dir / "tor"


def default_database_url(instance_dir: Path) -> str:
    """SQLite inside the instance directory."""
    return f"sqlite:///{instance_dir / 'sealdrop.db'}"


def _section(data: dict[str, Any], name: str, cls: type[Any]) -> Any:
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise ConfigError(f"[{name}] must be a table")
    allowed = set(cls.__dataclass_fields__)
    unknown = set(raw) - allowed
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{name}]: {', '.join(sorted(unknown))}")
    defaults = cls()
    for key, value in raw.items():
        expected = type(getattr(defaults, key))
        if expected is float and isinstance(value, int):
            continue
        if expected is str and isinstance(value, str) and len(value) <= 500:
            continue
        if not isinstance(value, expected) or isinstance(value, (bool, str)) or value < 0:
            raise ConfigError(f"[{name}] {key} must be a non-negative {expected.__name__}")
    return cls(**raw)


def _storage_section(data: dict[str, Any]) -> StorageSettings:
    settings: StorageSettings = _section(data, "storage", StorageSettings)
    try:
        host_folder(settings.host)
    except StorageError as exc:
        raise ConfigError(str(exc)) from exc
    return settings


def load_config(instance_dir: str | os.PathLike[str]) -> Config:
    """Read DIR/config.toml; SEALDROP_DATABASE_URL overrides the database URL."""
    directory = Path(instance_dir).resolve()
    path = directory / "config.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path} not found: run `sealdrop init` first") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    instance = data.get("instance", {})
    instance_id = instance.get("id") if isinstance(instance, dict) else None
    if not isinstance(instance_id, str) or len(instance_id) != 32:
        raise ConfigError(f"{path}: [instance] id must be 32 hex digits")
    try:
        bytes.fromhex(instance_id)
    except ValueError as exc:
        raise ConfigError(f"{path}: [instance] id must be 32 hex digits") from exc
    database = data.get("database", {})
    url = os.environ.get(DATABASE_URL_ENV) or (
        database.get("url") if isinstance(database, dict) else None
    )
    if url is not None and not isinstance(url, str):
        raise ConfigError(f"{path}: [database] url must be a string")
    receipts = data.get("receipts", {})
    try:
        cost = (
            Argon2Cost(int(receipts["opslimit"]), int(receipts["memlimit"]))
            if receipts
            else RECEIPT_COST
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{path}: [receipts] needs integer opslimit and memlimit") from exc
    return Config(
        instance_dir=directory,
        instance_id=instance_id,
        database_url=url or default_database_url(directory),
        receipt_cost=cost,
        limits=_section(data, "limits", Limits),
        login=_section(data, "login", LoginPolicy),
        retention=_section(data, "retention", Retention),
        storage=_storage_section(data),
        site=_section(data, "site", Site),
    )


def render_config(
    instance_id: str,
    receipt_cost: Argon2Cost = RECEIPT_COST,
    database_url: str | None = None,
) -> str:
    """The config.toml that `sealdrop init` writes, with every default spelled out."""
    limits, login, retention, storage = Limits(), LoginPolicy(), Retention(), StorageSettings()
    db_line = (
        f'url = "{database_url}"'
        if database_url
        else ('# url = "postgresql+psycopg://sealdrop@127.0.0.1/sealdrop" (or env)')
    )

    def table(obj: Any) -> str:
        return "\n".join(f"{k} = {getattr(obj, k)!r}" for k in obj.__dataclass_fields__)

    return f"""# Sealdrop instance settings. See docs/intake.md.
[instance]
id = "{instance_id}"

[database]
# Default: SQLite in this directory.
{db_line}

[receipts]
# Argon2id cost of one receipt derivation (about 0.15 s at the default).
opslimit = {receipt_cost.opslimit}
memlimit = {receipt_cost.memlimit}

[limits]
{table(limits)}

[login]
{table(login)}

[retention]
{table(retention)}

[storage]
# reserve_free_bytes: new tips are refused with a clear page when the envelope disk would
# have less free space than this (bytes), so a flood of uploads cannot fill the disk.
# host: this host's folder for partial uploads under storage/tmp ("" = the machine's host
# name); hosts that share storage/ need distinct ones (docs/scale-out.md).
{table(storage)}

[site]
# Shown on the landing page: the service's name and who runs it.
name = "Sealdrop"
organisation = ""
"""
