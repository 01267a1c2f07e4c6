"""Vendor payload codecs: one module per protocol family, all registered in one registry.

Third-party codecs implement :class:`Codec` and call :func:`register_codec`, exactly as the
built-in modules imported below do.
"""

from placehub.ingest.codecs import (  # noqa: F401 - importing registers the built-in codecs
    decentlab,
    dragino,
    ellenex,
    elsys,
    milesight,
    netvox,
    parking,
)
from placehub.ingest.codecs.base import (
    REGISTRY,
    Codec,
    CodecRegistry,
    Decoded,
    DecodeError,
    FunctionCodec,
    Measurement,
    decode,
    register_codec,
)

__all__ = [
    "REGISTRY",
    "Codec",
    "CodecRegistry",
    "DecodeError",
    "Decoded",
    "FunctionCodec",
    "Measurement",
    "decode",
    "register_codec",
]
