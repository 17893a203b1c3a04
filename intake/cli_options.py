"""Options every `sealdrop` command shares, defined once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def instance_option(
    must_exist: bool = True, help: str = "Instance directory (default: $SEALDROP_INSTANCE)."
) -> Callable[[F], F]:
    """`--instance DIR`, defaulting to $SEALDROP_INSTANCE."""
    return click.option(
        "--instance",
        "instance",
        envvar="SEALDROP_INSTANCE",
        required=True,
        type=click.Path(file_okay=False, exists=must_exist, path_type=Path),
        help=help,
    )
