"""Shared fixtures of the responsible-use tests: a council with restricted and public data and
people in each role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from placehub.access import service
from placehub.db import Database
from placehub.sta.observations import NewObservation, write_observations
from tests.sta.factories import make_datastream

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def hub(client: TestClient, database: Database) -> dict[str, object]:
    """Rutland with a restricted bin and a public bin (a day of hourly readings each), its
    admin, editor and viewer, and Sutton's admin."""
    with database.begin() as conn:
        restricted = make_datastream(conn, name="Bin Q7 fill level", visibility="restricted")
        public = make_datastream(conn, name="Bin 12 fill level")
        rutland = restricted["organisation"]
        sutton = service.create_organisation(conn, "sutton", "London Borough of Sutton")
        tokens = {}
        for name, org, role in (("rutland-admin", rutland, "admin"),
                                ("rutland-editor", rutland, "editor"),
                                ("rutland-viewer", rutland, "viewer"),
                                ("sutton-admin", sutton, "admin")):
            user = service.create_user(conn, name)
            service.grant_role(conn, user, org, role)
            tokens[name] = service.create_token(conn, user)
        write_observations(conn, [NewObservation(stream, T0 + timedelta(hours=h), 0.3 + h / 50)
                                  for stream in (restricted["datastream"], public["datastream"])
                                  for h in range(24)])
    return {"restricted": restricted, "public": public, "tokens": tokens}
