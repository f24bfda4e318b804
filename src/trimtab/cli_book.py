"""Book commands: ``drift``, ``propose-book`` and ``demo-book``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the book commands to ``app``."""
