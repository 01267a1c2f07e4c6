"""What every codec shares: canonical measurements, the decode error, the protocol, the registry.

Built-in codecs register through ``register_codec`` exactly as a third-party package would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from placehub.ingest.vocabulary import QUANTITIES


class DecodeError(ValueError):
    """The bytes cannot be decoded: says which codec, which fPort and what was wrong."""


@dataclass(frozen=True)
class Measurement:
    """One canonical typed value: a quantity from the vocabulary in its UCUM unit.

    ``channel`` tells apart several values of one quantity on one device (``"head"``,
    ``"ch1"``, ``"north"``); ``depth_m`` is the depth below ground for profile probes.
    ``source`` is the vendor's own field name, kept for provenance and comparisons.
    """

    quantity: str
    unit: str
    value: float | int | bool
    channel: str | None = None
    depth_m: float | None = None
    source: str | None = None

    def __post_init__(self) -> None:
        spec = QUANTITIES.get(self.quantity)
        if spec is None:
            raise ValueError(f"quantity {self.quantity!r} is not in the vocabulary")
        if spec.unit != self.unit:
            raise ValueError(f"{self.quantity} must be in {spec.unit}, not {self.unit}")

    @property
    def key(self) -> str:
        """Where this value goes in a profile: quantity, plus channel and depth when set."""
        key = self.quantity
        if self.channel:
            key += f":{self.channel}"
        if self.depth_m is not None:
            key += f"@{self.depth_m:g}m"
        return key

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quantity": self.quantity, "unit": self.unit, "value": self.value}
        if self.channel:
            out["channel"] = self.channel
        if self.depth_m is not None:
            out["depth_m"] = self.depth_m
        if self.source:
            out["source"] = self.source
        return out


@dataclass
class Decoded:
    """The result of decoding one uplink: measurements plus non-measurement facts.

    ``attributes`` holds device facts that are not observations (message type, firmware
    version, reset cause, status codes).
    """

    measurements: list[Measurement] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)

    def add(self, quantity: str, unit: str, value: float | int | bool, **kw: Any) -> None:
        self.measurements.append(Measurement(quantity, unit, value, **kw))


@runtime_checkable
class Codec(Protocol):
    """Turns the bytes of one device family's uplink into canonical measurements."""

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def fports(self) -> frozenset[int] | None:  # None: any fPort
        ...

    def decode(self, fport: int, payload: bytes) -> Decoded: ...


class CodecRegistry:
    """Codecs by name; the built-ins and third-party codecs register the same way."""

    def __init__(self) -> None:
        self._codecs: dict[str, Codec] = {}

    def register(self, codec: Codec) -> Codec:
        if not isinstance(codec, Codec):
            raise TypeError(f"{codec!r} does not implement the Codec protocol")
        if codec.name in self._codecs and self._codecs[codec.name] is not codec:
            raise ValueError(f"a codec named {codec.name!r} is already registered")
        self._codecs[codec.name] = codec
        return codec

    def get(self, name: str) -> Codec:
        try:
            return self._codecs[name]
        except KeyError:
            known = ", ".join(sorted(self._codecs))
            raise KeyError(f"unknown codec {name!r}; known codecs: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._codecs

    def __iter__(self) -> Iterator[Codec]:
        return iter(sorted(self._codecs.values(), key=lambda c: c.name))


REGISTRY = CodecRegistry()


def register_codec(codec: Codec) -> Codec:
    """Add ``codec`` to the registry used by device profiles."""
    return REGISTRY.register(codec)


def decode(codec_name: str, fport: int, payload: bytes) -> Decoded:
    """Decode ``payload`` with the named codec; every failure becomes a DecodeError."""
    codec = REGISTRY.get(codec_name)
    if codec.fports is not None and fport not in codec.fports:
        ports = ", ".join(str(p) for p in sorted(codec.fports))
        raise DecodeError(
            f"{codec.name}: fPort {fport} is not used by this device (expected {ports})"
        )
    try:
        return codec.decode(fport, payload)
    except DecodeError:
        raise
    except (IndexError, ValueError, KeyError, ZeroDivisionError, OverflowError) as error:
        # A codec bug or a payload shape it did not foresee: never let it crash ingest.
        raise DecodeError(
            f"{codec.name}: cannot decode {payload.hex()} on fPort {fport} ({error})"
        ) from error


class Bytes:
    """Bounds-checked big/little-endian reads that raise DecodeError on short payloads."""

    def __init__(self, codec: str, payload: bytes) -> None:
        self.codec = codec
        self.data = payload

    def need(self, length: int, what: str = "payload") -> None:
        if len(self.data) < length:
            raise DecodeError(
                f"{self.codec}: {what} needs {length} bytes, "
                f"got {len(self.data)} ({self.data.hex()})"
            )

    def exact(self, *lengths: int) -> None:
        if len(self.data) not in lengths:
            expected = " or ".join(str(n) for n in lengths)
            raise DecodeError(
                f"{self.codec}: payload must be {expected} bytes, "
                f"got {len(self.data)} ({self.data.hex()})"
            )

    def u8(self, at: int) -> int:
        self.need(at + 1)
        return self.data[at]

    def s8(self, at: int) -> int:
        value = self.u8(at)
        return value - 0x100 if value & 0x80 else value

    def u16(self, at: int, little: bool = False) -> int:
        self.need(at + 2)
        return int.from_bytes(self.data[at : at + 2], "little" if little else "big")

    def s16(self, at: int, little: bool = False) -> int:
        self.need(at + 2)
        return int.from_bytes(self.data[at : at + 2], "little" if little else "big", signed=True)

    def u32(self, at: int, little: bool = False) -> int:
        self.need(at + 4)
        return int.from_bytes(self.data[at : at + 4], "little" if little else "big")

    def s32(self, at: int, little: bool = False) -> int:
        self.need(at + 4)
        return int.from_bytes(self.data[at : at + 4], "little" if little else "big", signed=True)


@dataclass(frozen=True)
class FunctionCodec:
    """A codec made from a plain function; the simple way to write one."""

    name: str
    description: str
    function: Callable[[int, bytes], Decoded]
    fports: frozenset[int] | None = None

    def decode(self, fport: int, payload: bytes) -> Decoded:
        return self.function(fport, payload)


def codec(
    name: str, description: str, fports: set[int] | None = None
) -> Callable[[Callable[[int, bytes], Decoded]], Callable[[int, bytes], Decoded]]:
    """Decorator registering a decode function as a codec."""

    def wrap(function: Callable[[int, bytes], Decoded]) -> Callable[[int, bytes], Decoded]:
        register_codec(
            FunctionCodec(name, description, function, frozenset(fports) if fports else None)
        )
        return function

    return wrap
