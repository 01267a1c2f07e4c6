"""Index definitions a council uploads: stored as TOML beside the shipped ones and read by the
same visibility rule as every other row (``placehub.access.visibility``).

An uploaded definition may only read data files inside the data folder (relative paths that
stay inside it), is checked by computing it once before it is stored, and cannot take the name
of a shipped definition. Reading follows its visibility (public, partners, organisation,
restricted); only the owning organisation's editors and admins may replace or delete it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, delete, insert, select, update

from placehub.access.service import Principal
from placehub.access.visibility import can_read, visible_clause
from placehub.errors import BadRequest, Forbidden, NotFound, Unauthorized
from placehub.insight.definition import (
    DefinitionError,
    IndexDefinition,
    available_definitions,
    parse_definition_text,
)
from placehub.insight.index import IndexResult, result_with_population
from placehub.insight.tables import index_definitions

DEFINITION_ID = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
VISIBILITIES = ("public", "partners", "organisation", "restricted")
#: Largest definition accepted (TOML text); definitions are small, data stays in files.
MAX_DEFINITION_BYTES = 256 * 1024


@dataclass(frozen=True)
class StoredDefinition:
    """One uploaded definition as stored."""

    id: str
    organisation_id: int
    visibility: str
    name: str
    text: str
    updated_by: str
    updated_at: datetime


def parse_uploaded(text: str, data_dir: Path) -> IndexDefinition:
    """Validate an uploaded definition: strict keys, data files inside ``data_dir`` only."""
    return parse_definition_text(text, data_dir, data_dir_only=True)


@lru_cache(maxsize=8)
def computed(text: str, data_dir: Path) -> tuple[IndexResult, np.ndarray]:
    """An uploaded definition's index, cached per text (a replaced definition is new text)."""
    return result_with_population(parse_uploaded(text, data_dir))


def save(conn: Connection, principal: Principal, text: str, data_dir: Path, *,
         organisation_id: int, visibility: str = "organisation") -> IndexDefinition:
    """Check, compute once and store (or replace) an uploaded definition; return it parsed."""
    if principal.is_anonymous and not principal.write_anywhere:
        raise Unauthorized("sign in or send a bearer token to upload an index definition")
    if not principal.can_write(organisation_id):
        raise Forbidden("only the organisation's editors and admins may upload its indices")
    if visibility not in VISIBILITIES:
        raise BadRequest(f"visibility {visibility!r}: use {', '.join(VISIBILITIES)}")
    if len(text.encode("utf-8")) > MAX_DEFINITION_BYTES:
        raise BadRequest(f"definition larger than {MAX_DEFINITION_BYTES // 1024} KiB: keep data "
                         "in files under the data folder and only the method in the TOML")
    try:
        definition = parse_uploaded(text, data_dir)
        computed(text, data_dir.resolve())
    except DefinitionError as error:
        raise BadRequest(str(error)) from None
    if not DEFINITION_ID.match(definition.id):
        raise BadRequest(f"index id {definition.id!r}: use lower-case letters, digits and _, "
                         "starting with a letter")
    if definition.id in available_definitions():
        raise BadRequest(f"index id {definition.id!r} is a shipped definition: choose another id")
    existing = conn.execute(select(index_definitions.c.organisation_id).where(
        index_definitions.c.id == definition.id)).first()
    row = {"organisation_id": organisation_id, "visibility": visibility, "name": definition.name,
           "definition": text, "updated_by": principal.username or "",
           "updated_at": datetime.now(UTC)}
    if existing is None:
        conn.execute(insert(index_definitions).values(id=definition.id, **row))
    elif not principal.can_write(existing.organisation_id):
        raise Forbidden(f"index {definition.id!r} belongs to another organisation: choose "
                        "another id")
    else:
        conn.execute(update(index_definitions).where(
            index_definitions.c.id == definition.id).values(**row))
    return definition


def _stored(row: object) -> StoredDefinition:
    return StoredDefinition(row.id, row.organisation_id, row.visibility,  # type: ignore[attr-defined]
                            row.name, row.definition, row.updated_by,  # type: ignore[attr-defined]
                            row.updated_at)  # type: ignore[attr-defined]


def visible(conn: Connection, principal: Principal) -> list[StoredDefinition]:
    """Uploaded definitions ``principal`` may read, by id."""
    rows = conn.execute(select(index_definitions).where(visible_clause(
        principal, index_definitions.c.organisation_id, index_definitions.c.visibility))
        .order_by(index_definitions.c.id))
    return [_stored(row) for row in rows]


def find(conn: Connection, principal: Principal, definition_id: str) -> StoredDefinition | None:
    """The uploaded definition if it exists and ``principal`` may read it (else None: an
    invisible definition is answered as a missing one)."""
    row = conn.execute(select(index_definitions).where(
        index_definitions.c.id == definition_id)).first()
    if row is None or not can_read(principal, row.organisation_id, row.visibility):
        return None
    return _stored(row)


def remove(conn: Connection, principal: Principal, definition_id: str) -> None:
    """Delete an uploaded definition (the owning organisation's editors and admins)."""
    found = find(conn, principal, definition_id)
    if found is None:
        raise NotFound(f"no uploaded index {definition_id!r}: GET /api/indices lists them")
    if not principal.can_write(found.organisation_id):
        raise Forbidden("only the organisation's editors and admins may delete its indices")
    conn.execute(delete(index_definitions).where(index_definitions.c.id == definition_id))
