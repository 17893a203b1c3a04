"""WSGI entry point for gunicorn: `gunicorn intake.wsgi:app` with SEALDROP_INSTANCE set."""

from __future__ import annotations

import os

from .app import create_app
from .config import INSTANCE_ENV, load_config

app = create_app(load_config(os.environ[INSTANCE_ENV]))
