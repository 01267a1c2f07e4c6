"""Organisations, users, API tokens, roles, visibility of data and the audit trail."""
