"""Tables of placehub.alerts (registered on the shared metadata; Alembic branch 'alerts')."""
