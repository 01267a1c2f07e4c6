"""Tables of placehub.rounds (registered on the shared metadata; Alembic branch 'rounds')."""
