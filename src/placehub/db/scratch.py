"""Throwaway PostgreSQL databases for the test suite and the benchmarks (created, then dropped)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from sqlalchemy import create_engine, text

from placehub.db.engine import normalise_url


def scratch_postgres(server_url: str, prefix: str, template: str | None = None
                     ) -> tuple[str, Callable[[], None]]:
    """Create an empty database on the server of ``server_url``; its URL and its dropper.

    ``server_url`` names any database the user may connect to; the new one is called
    ``prefix`` plus a random suffix, so parallel runs never meet. With ``template`` (the URL
    of a database nobody is connected to) it starts as a copy of that one.
    """
    server = normalise_url(server_url)
    name = f"{prefix}_{secrets.token_hex(3)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            copied = (f' TEMPLATE "{template.split("?")[0].rsplit("/", 1)[1]}"'
                      if template else "")
            conn.execute(text(f'CREATE DATABASE "{name}"{copied}'))
    except Exception:
        admin.dispose()
        raise

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return f"{server.rsplit('/', 1)[0]}/{name}", drop
