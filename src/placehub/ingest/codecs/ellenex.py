"""Ellenex PLS2-L (level) and PTS2-L (pressure) transmitters: 8 bytes on fPort 15.

The reading is a signed 16-bit value at bytes 3-4, battery in 0.1 V at byte 7. The vendor
decoder reports the raw reading as metres (PLS2-L) or bar (PTS2-L); the factory calibration of
each probe scales it, so profiles may set a ``scale`` for the real range.
"""

from __future__ import annotations

from placehub.ingest.codecs.base import Bytes, Decoded, codec


def _decode(name: str, quantity: str, unit: str, source: str, payload: bytes) -> Decoded:
    data = Bytes(name, payload)
    data.exact(8)
    decoded = Decoded()
    decoded.add(quantity, unit, data.s16(3), source=source)
    decoded.add("battery_voltage", "V", round(data.u8(7) * 0.1, 1), source="batteryVoltage")
    return decoded


@codec("ellenex-pls2-l", "Ellenex PLS2-L submersible level transmitter", {15})
def decode_pls2(fport: int, payload: bytes) -> Decoded:
    return _decode("ellenex-pls2-l", "water_level", "m", "level", payload)


@codec("ellenex-pts2-l", "Ellenex PTS2-L pressure transmitter", {15})
def decode_pts2(fport: int, payload: bytes) -> Decoded:
    return _decode("ellenex-pts2-l", "gauge_pressure", "bar", "pressure", payload)
