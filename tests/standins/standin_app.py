"""A tiny stand-in for the source and staff apps, for serve tests before the real apps land.

It installs the real host guard and writes uploads through the real EnvelopeStore, sealed
with the real Sealer, streaming from the socket like the intake does.
"""

from __future__ import annotations

from flask import Flask, request

from crypto.envelope import Sealer
from crypto.keys import AdminIdentity
from intake import hostguard
from intake.storage import EnvelopeStore


def create_app(config):  # type: ignore[no-untyped-def]
    """Flask app: GET / says hello, POST /upload seals the streamed body into storage."""
    app = Flask(__name__)
    hostguard.init_app(app)
    identity = AdminIdentity.from_text(config.admin_identity_path.read_text())
    store = EnvelopeStore(config.storage_dir)

    @app.get("/")
    def index() -> str:
        return "stand-in app\n"

    @app.post("/upload")
    def upload() -> str:
        pending = store.begin()
        try:
            with Sealer(list(identity.recipients)).writer(pending.file, {"kind": "file"}) as w:
                while chunk := request.stream.read(4096):
                    w.write(chunk)
            pending.commit()
        except BaseException:
            pending.discard()
            raise
        return pending.envelope_id + "\n"

    return app
