"""Access model: organisations, users, tokens and the visibility rule."""

import pytest
from sqlalchemy import select

from placehub.access import service
from placehub.access.tables import api_tokens
from placehub.access.visibility import can_read
from placehub.db import Database
from placehub.errors import Conflict, Unauthorized


def test_token_is_stored_hashed_and_maps_to_roles(database: Database) -> None:
    """A created token is not stored in clear and resolves to the user's roles; revoked ones fail."""
    with database.begin() as conn:
        org = service.create_organisation(conn, "rutland", "Rutland County Council")
        user = service.create_user(conn, "ann", password="correct horse")
        service.grant_role(conn, user, org, "editor")
        token = service.create_token(conn, user, "laptop")
        stored = conn.execute(select(api_tokens.c.token_hash)).scalar_one()
        assert token not in stored and len(stored) == 64
        principal = service.principal_for_token(conn, token)
        assert principal.can_write(org) and not principal.can_admin(org)
        service.revoke_token(conn, token[:10])
        with pytest.raises(Unauthorized, match="revoked"):
            service.principal_for_token(conn, token)


def test_duplicates_are_conflicts(database: Database) -> None:
    """Creating an organisation or user twice is a 409-style conflict, not a crash."""
    with database.begin() as conn:
        service.create_organisation(conn, "sutton", "Sutton")
        with pytest.raises(Conflict):
            service.create_organisation(conn, "sutton", "Sutton again")


def test_password_login(database: Database) -> None:
    """The right password signs in; a wrong one says so."""
    with database.begin() as conn:
        service.create_user(conn, "bob", password="s3cret-pass")
        assert service.authenticate_password(conn, "bob", "s3cret-pass").username == "bob"
        with pytest.raises(Unauthorized):
            service.authenticate_password(conn, "bob", "wrong-pass")


@pytest.mark.parametrize(
    ("visibility", "anonymous", "member", "viewer_restricted", "partner"),
    [
        ("public", True, True, True, True),
        ("partners", False, True, True, True),
        ("organisation", False, True, True, False),
        ("restricted", False, True, False, False),
    ],
)
def test_visibility_rule(visibility, anonymous, member, viewer_restricted, partner) -> None:  # type: ignore[no-untyped-def]
    """Each visibility level admits exactly the readers the access model describes."""
    owner = 1
    assert can_read(service.ANONYMOUS, owner, visibility) is anonymous
    assert can_read(service.Principal(user_id=1, roles={owner: "editor"}), owner, visibility) is member
    viewer = service.Principal(user_id=2, roles={owner: "viewer"})
    assert can_read(viewer, owner, visibility) is viewer_restricted
    partner_user = service.Principal(user_id=3, roles={2: "admin"}, partner_of=frozenset({owner}))
    assert can_read(partner_user, owner, visibility) is partner
