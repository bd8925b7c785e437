"""The commands `serve`, `report` and `users`: the dashboard, the stakeholder report and sign-in."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the `cynosure` app."""
