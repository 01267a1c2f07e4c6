"""Schemathesis against the OpenAPI document: generated requests to every operation of
/api/openapi.json, as an admin, never get a 5xx (a bounded number of examples per operation,
on both databases)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from placehub.access import service
from placehub.config import Settings, load_settings
from placehub.db import Database
from placehub.web.app import create_app

EXAMPLES = 12
METHODS = {"get", "post", "put", "patch", "delete"}


# The document as /api/openapi.json serves it, built once: FastAPI builds it anew for every app
# (a third of a second), which each of the 188 tests would otherwise pay for.
OPENAPI = json.dumps(create_app(load_settings(environ={}, database_url="sqlite:///:memory:"))
                     .openapi())


def _operations() -> list[tuple[str, str]]:
    return [(method.upper(), path) for path, item in json.loads(OPENAPI)["paths"].items()
            for method in item if method in METHODS]


@pytest.fixture
def admin_app(settings: Settings, database: Database) -> Any:
    """The app with an admin of one council; its token is on ``app.state.admin_headers``."""
    with database.begin() as conn:
        org = service.create_organisation(conn, "rutland", "Rutland County Council")
        user = service.create_user(conn, "schema-admin")
        service.grant_role(conn, user, org, "admin")
        token = service.create_token(conn, user, "schemathesis")
    # A generated plan request may ask for the solver: at most a second of it here.
    app = create_app(settings.replace(rounds_max_runtime_seconds=1.0), database=database)
    app.state.admin_headers = {"Authorization": f"Bearer {token}"}
    return app


OPERATIONS = _operations()


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_operation_answers_5xx(admin_app: Any, method: str, path: str) -> None:
    """Every request generated from the operation's schema gets a 2xx or a 4xx."""
    schema = schemathesis.openapi.from_dict(json.loads(OPENAPI))
    schema.app, schema.location = admin_app, "/api/openapi.json"  # as from_asgi loads it
    operation = schema[path][method]
    headers = admin_app.state.admin_headers

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=[not_a_server_error])

    call()
