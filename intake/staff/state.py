"""What one staff app holds: built once in create_staff_app, kept in app.extensions."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, g
from nacl.signing import SigningKey, VerifyKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ..config import Config
from ..login_guard import DerivationGate
from ..staff_key import StaffKey
from ..storage import EnvelopeStore

EXTENSION = "sealdrop_staff"


@dataclass(frozen=True)
class StaffState:
    """The staff app's resources; `signer` is None when the admin identity is unusable."""

    config: Config
    engine: Engine
    sessions: sessionmaker[Session]
    store: EnvelopeStore
    signing_key: SigningKey  # the instance key: signs export manifests
    signer: VerifyKey | None  # the admin key: replies and acks must carry its signature
    gate: DerivationGate  # bounds concurrent Argon2id password checks (memory)
    staff_key: StaffKey  # opens TOTP secrets; from a file, never the database


def staff_state() -> StaffState:
    """The current app's StaffState."""
    value = current_app.extensions[EXTENSION]
    if not isinstance(value, StaffState):
        raise RuntimeError("not a Sealdrop staff app")
    return value


def db() -> Session:
    """The request's database session (closed at teardown)."""
    if "staff_db" not in g:
        g.staff_db = staff_state().sessions()
    session: Session = g.staff_db
    return session


def close_db(_exc: BaseException | None = None) -> None:
    """Teardown: return the connection."""
    session = g.pop("staff_db", None)
    if session is not None:
        session.close()
