"""Tables of placehub.ingest (registered on the shared metadata; Alembic branch 'ingest')."""
