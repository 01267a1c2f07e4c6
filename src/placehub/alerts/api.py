"""HTTP routes of placehub.alerts (filled in by its issue)."""

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""
