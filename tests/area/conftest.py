"""Fixtures for area tests (the stand-in official sources and the fetched areas are in the
root conftest, which the demo tests share)."""
