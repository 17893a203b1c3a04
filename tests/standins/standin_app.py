"""A stand-in for the staff app until intake.create_staff_app lands (serve tests only).

It is assembled like a real factory would be: config in, the real host guard installed.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from intake import hostguard


def create_app(config: Any) -> Flask:
    """Flask app whose only page says what it is."""
    app = Flask(__name__)
    hostguard.init_app(app)

    @app.get("/")
    def index() -> str:
        return f"stand-in app for {config.instance_id}\n"

    return app
