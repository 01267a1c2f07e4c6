"""HTTP routes of placehub.rounds (filled in by its issue)."""

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""
