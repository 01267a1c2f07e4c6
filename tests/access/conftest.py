"""Two councils with an admin, an editor and a viewer each, and their API tokens."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from placehub.access import service
from placehub.db import Database


@dataclass
class Council:
    """One organisation and the tokens of its admin, editor and viewer."""

    id: int
    slug: str
    admin: str
    editor: str
    viewer: str
    user_ids: dict[str, int]  # role -> user id


def make_council(database: Database, slug: str, name: str) -> Council:
    """An organisation with three users (admin, editor, viewer), each holding a token."""
    with database.begin() as conn:
        org = service.create_organisation(conn, slug, name)
        tokens: dict[str, str] = {}
        ids: dict[str, int] = {}
        for role in ("admin", "editor", "viewer"):
            user = service.create_user(conn, f"{slug}-{role}", display_name=f"{name} {role}")
            service.grant_role(conn, user, org, role)
            tokens[role] = service.create_token(conn, user, "tests")
            ids[role] = user
    return Council(org, slug, tokens["admin"], tokens["editor"], tokens["viewer"], ids)


@pytest.fixture
def rutland(database: Database) -> Council:
    """Rutland County Council with its admin, editor and viewer."""
    return make_council(database, "rutland", "Rutland County Council")


@pytest.fixture
def sutton(database: Database) -> Council:
    """The London Borough of Sutton with its admin, editor and viewer."""
    return make_council(database, "sutton", "London Borough of Sutton")


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"Authorization": f"Bearer {token}"}
