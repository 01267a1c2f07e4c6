"""placehub: the open connected-places hub for UK councils."""

__version__ = "0.1.0"
