"""Tables of placehub.insight (registered on the shared metadata; Alembic branch 'insight')."""
