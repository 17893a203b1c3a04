"""What one source app holds: built once in create_app, kept in app.extensions."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from flask import current_app, g
from nacl.signing import VerifyKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crypto.envelope import Sealer
from crypto.keys import AdminIdentity
from crypto.receipts import Peppers, SourceKeys, derive_source_keys

from .config import Config
from .login_guard import DerivationGate, FailedLoginLimiter
from .questionnaire import Questionnaire
from .storage import EnvelopeStore

EXTENSION = "sealdrop"


@dataclass(frozen=True)
class IntakeState:
    """The app's resources; `identity` is None when the instance is offline (fail closed)."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    store: EnvelopeStore
    peppers: Peppers
    gate: DerivationGate
    limiter: FailedLoginLimiter
    identity: AdminIdentity | None
    questionnaire: Questionnaire | None

    @property
    def online(self) -> bool:
        """Whether tips can be accepted and protected."""
        return self.identity is not None and self.questionnaire is not None

    @property
    def sealer(self) -> Sealer:
        """Seals to every admin recipient key."""
        if self.identity is None:
            raise RuntimeError("instance is offline")
        return Sealer(self.identity.recipients)

    @property
    def signer(self) -> VerifyKey:
        """The admin key replies must be signed with."""
        if self.identity is None:
            raise RuntimeError("instance is offline")
        return self.identity.signer

    def derive(self, receipt: str) -> SourceKeys:
        """One receipt derivation, inside the concurrency bound (may raise Busy)."""
        with self.gate.slot():
            return derive_source_keys(receipt, self.peppers, self.config.receipt_cost)


def state() -> IntakeState:
    """The current app's IntakeState."""
    value = current_app.extensions[EXTENSION]
    if not isinstance(value, IntakeState):
        raise RuntimeError("not a Sealdrop intake app")
    return value


def db() -> Session:
    """The request's database session (closed at teardown)."""
    if "db" not in g:
        g.db = state().sessions()
    session: Session = g.db
    return session


def close_db(_exc: BaseException | None = None) -> None:
    """Teardown: return the connection."""
    session = g.pop("db", None)
    if session is not None:
        session.close()


def today() -> datetime.date:
    """Dates are stored as days (UTC)."""
    return datetime.datetime.now(datetime.UTC).date()
