"""Layer names: boundary layers are usually named in the plural ("wards", "lsoas"), index
definitions and indicator files often in the singular; both name the same layer."""

from __future__ import annotations


def layer_aliases(layer: str) -> list[str]:
    """A layer name and its singular/plural twin ("wards" and "ward")."""
    twin = layer[:-1] if layer.endswith("s") else layer + "s"
    return [layer, twin]


def same_layer(a: str, b: str) -> bool:
    """True when two layer names are the same layer, allowing singular and plural."""
    return b in layer_aliases(a)
