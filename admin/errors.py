"""The one error type admin commands raise for things a person can fix."""

from __future__ import annotations

import click

from .inert import terminal


class AdminError(click.ClickException):
    """Shown as `Error: ...` with exit code 1; the message says what to do."""

    def format_message(self) -> str:
        """The message as inert text: it may quote a file name or a field from a tip."""
        return terminal(self.message)
