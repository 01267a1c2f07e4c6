"""Commands of placehub.ingest (filled in by its issue)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
