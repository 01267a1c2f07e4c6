"""Text columns refuse what one database would store and the other refuse, on both alike."""

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import StatementError

from placehub.access import service
from placehub.access.tables import api_tokens, organisations
from placehub.db import Database
from placehub.db.metadata import StoredText
from placehub.errors import BadRequest


def test_every_text_column_is_checked() -> None:
    """Every String and Text column of the metadata has the checking type."""
    from placehub.db.schema import metadata

    unchecked = [f"{table.name}.{column.name}" for table in metadata.tables.values()
                 for column in table.columns
                 if type(column.type).__name__ in {"String", "Text"}]
    assert unchecked == []
    assert isinstance(api_tokens.c.name.type, StoredText) and api_tokens.c.name.type.length == 200


@pytest.mark.parametrize(("name", "message"), [
    ("x" * 201, "name is 201 characters long: use at most 200"),
    ("a\x00b", "NUL character"),
    ("a\ud800b", "lone UTF-16 surrogate"),
])
def test_unstorable_names_are_refused(database: Database, name: str, message: str) -> None:
    """A too-long, NUL or surrogate token name is a BadRequest on SQLite and PostgreSQL."""
    with database.begin() as conn:
        user = service.create_user(conn, "ann")
        with pytest.raises(StatementError) as refused:
            service.create_token(conn, user, name)
    assert isinstance(refused.value.orig, BadRequest)
    assert message in refused.value.orig.message


def test_lookups_with_unstorable_text_are_refused_too(database: Database) -> None:
    """Comparing a column with a NUL value is refused before PostgreSQL sees it."""
    with database.connect() as conn, pytest.raises(StatementError, match="NUL"):
        conn.execute(select(organisations).where(organisations.c.slug == "a\x00"))


def test_valid_text_is_stored_unchanged(database: Database) -> None:
    """Names at the limit, with accents and emoji, are stored as given."""
    name = "\u00e9" * 190 + "\U0001f5d1" * 10
    with database.begin() as conn:
        conn.execute(insert(organisations).values(slug="r", name=name,
                                                  created_at=service.now()))
        assert conn.execute(select(organisations.c.name)).scalar_one() == name
