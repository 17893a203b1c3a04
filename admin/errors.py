"""The one error type admin commands raise for things a person can fix."""

from __future__ import annotations

import click


class AdminError(click.ClickException):
    """Shown as `Error: ...` with exit code 1; the message says what to do."""
