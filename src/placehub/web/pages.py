"""The web UI's pages (filled in by the UI issue)."""

from fastapi import FastAPI


def register(app: FastAPI) -> None:
    """Add the page routes and static files to the app."""
