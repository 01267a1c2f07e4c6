"""Tables of placehub.places (registered on the shared metadata; Alembic branch 'places')."""
