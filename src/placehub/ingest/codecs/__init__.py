"""Vendor payload codecs: one module per protocol family, all registered in one registry.

Vendor JavaScript codecs from the device repository run in a sandbox (:class:`JavaScriptCodec`).

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
from placehub.ingest.codecs.javascript import JavaScriptCodec

__all__ = [
    "REGISTRY",
    "Codec",
    "CodecRegistry",
    "DecodeError",
    "Decoded",
    "FunctionCodec",
    "JavaScriptCodec",
    "Measurement",
    "decode",
    "register_codec",
]
