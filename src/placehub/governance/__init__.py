"""Responsible use: run records of algorithms, the read audit, data classes, retention and the
DPIA outline."""
