"""Opening an instance's database and storage for one command (CLI) outside the web apps."""

from __future__ import annotations

import contextlib
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nacl.signing import VerifyKey
from sqlalchemy.orm import Session

from crypto.errors import CryptoError

from ..config import Config, load_config
from ..db import make_engine, make_sessionmaker, upgrade_database
from ..instance import load_admin_identity
from ..storage import EnvelopeStore
from .errors import TransferError


@dataclass(frozen=True)
class InstanceAccess:
    """One instance's config, an open database session and its envelope store."""

    config: Config
    db: Session
    store: EnvelopeStore

    def admin_signer(self) -> VerifyKey:
        """The admin key every reply and ack must be signed with."""
        try:
            return load_admin_identity(self.config).signer
        except (OSError, UnicodeDecodeError, CryptoError) as exc:
            raise TransferError(
                f"{self.config.admin_identity_path} is missing or malformed: nothing can be "
                "verified. Copy admin-identity.pub from the offline laptop again."
            ) from exc


@contextlib.contextmanager
def open_instance(instance_dir: Path) -> Iterator[InstanceAccess]:
    """Load the config, bring the database schema up to date, open a session."""
    config = load_config(instance_dir)  # ConfigError if missing or malformed
    engine = make_engine(config.database_url)
    try:
        upgrade_database(engine)
        with make_sessionmaker(engine)() as db:
            yield InstanceAccess(
                config, db, EnvelopeStore(config.storage_dir, host=config.storage.host)
            )
    finally:
        engine.dispose()


def utc_today() -> datetime.date:
    """Days only, in UTC, like every date the intake stores."""
    return datetime.datetime.now(datetime.UTC).date()
