"""The demo's own officer: an administrator of the demo council, so a new demo can be signed in
to at once. Its password is generated for each demo database and kept there (it is a demo-only
account), so every ``placehub demo`` run can print the same login.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select

from placehub.access import first_run, service
from placehub.access.tables import organisations, users

DEMO_OFFICER = "demo-officer"
_PASSWORD_SECRET = "demo_officer_password"


@dataclass(frozen=True)
class DemoLogin:
    """How to sign in to the demo; ``password`` is None once someone changed it."""

    username: str
    password: str | None
    organisation: str

    def lines(self, base_url: str) -> list[str]:
        """What the demo prints: where to sign in, as whom, with which password."""
        found = [f"Sign in at {base_url}/login", f"  username: {self.username}"]
        if self.password is None:
            found.append("  password: changed since the demo was built (set a new one with "
                         f"'placehub users password {self.username}')")
        else:
            found.append(f"  password: {self.password}")
        found.append(f"  (a demo-only administrator of {self.organisation}; it can see and "
                     "change everything in the demo)")
        return found


def ensure_demo_officer(conn: Connection, organisation_slug: str) -> DemoLogin:
    """The demo officer of ``organisation_slug``, created with a new password the first time.

    Later runs return the kept password while it still signs in.
    """
    organisation = service.organisation_id(conn, organisation_slug)
    name = conn.execute(select(organisations.c.name)
                        .where(organisations.c.id == organisation)).scalar_one()
    password = first_run.kept_secret(conn, _PASSWORD_SECRET, lambda: secrets.token_urlsafe(12))
    row = conn.execute(select(users.c.id, users.c.password_hash)
                       .where(users.c.username == DEMO_OFFICER)).first()
    if row is None:
        user = service.create_user(conn, DEMO_OFFICER, password=password,
                                   display_name="Demo officer")
        service.grant_role(conn, user, organisation, "admin")
        return DemoLogin(DEMO_OFFICER, password, str(name))
    still = service.verify_password(password, row.password_hash)
    return DemoLogin(DEMO_OFFICER, password if still else None, str(name))
