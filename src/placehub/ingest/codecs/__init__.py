"""Vendor payload codecs: one module per protocol family."""
