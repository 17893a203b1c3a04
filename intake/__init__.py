"""The online side: the source app, the staff app and the `sealdrop` command."""

from .app import create_app
from .staff import create_staff_app

__all__ = ["create_app", "create_staff_app"]
