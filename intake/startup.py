"""Once per start, before any worker serves: migrate, and clear what a crash left behind."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from .config import Config
from .db import make_engine, make_sessionmaker, upgrade_database
from .models import Envelope
from .storage import EnvelopeStore


def upgrade_database_if_reachable(engine: Engine) -> bool:
    """Migrate, or return False if the database cannot be reached right now.

    A gunicorn worker builds its app when it (re)starts; one replaced during a database
    outage must still boot (pages needing the database answer 503 until it is back), or
    gunicorn stops the whole service ("Worker failed to boot").
    """
    try:
        upgrade_database(engine)
    except OperationalError:
        return False
    return True


@dataclass(frozen=True)
class Prepared:
    """What start-up cleaned."""

    partial_uploads_removed: int
    orphan_envelopes_removed: int


def prepare_instance(config: Config) -> Prepared:
    """`alembic upgrade head`, then remove partial uploads and envelope files without a row.

    An envelope file without a row is a submission whose database commit never happened
    (a crash between the rename and the commit): the source was shown an error, not a
    receipt. Run this before this host's workers start. Other hosts sharing storage/ may
    be serving meanwhile: only this host's partial uploads are removed, and a file whose
    writer is still recording it is kept (EnvelopeStore.remove_unrecorded).
    """
    engine = make_engine(config.database_url)
    try:
        upgrade_database(engine)
        store = EnvelopeStore(config.storage_dir, host=config.storage.host)
        partial = store.cleanup_tmp()
        with make_sessionmaker(engine)() as session:
            known = set(session.scalars(select(Envelope.id)))

        def recorded(envelope_id: str) -> bool:
            # A fresh connection: a transaction begun earlier may not see a newer commit.
            with engine.connect() as connection:
                query = select(Envelope.id).where(Envelope.id == envelope_id)
                return connection.scalar(query) is not None

        orphans = [
            envelope_id
            for envelope_id in store.ids()
            if envelope_id not in known and store.remove_unrecorded(envelope_id, recorded)
        ]
    finally:
        engine.dispose()
    return Prepared(partial, len(orphans))
