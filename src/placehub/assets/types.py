"""The kinds of council asset placehub knows: what each is called, what measures its level, and
which service round visits it.

A Thing is an asset of a type when its ``properties.asset_type`` names one; any other Thing is a
plain ``sensor``. The type strings are those the rounds forecaster uses (``litter_bin``,
``flowerbed``), so histories pass to it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from placehub.rounds.forecast import FLOWERBED, LITTER_BIN

AIR_QUALITY_STATION = "air_quality_station"
PARKING_BAY = "parking_bay"
DEPOT = "depot"
TIP = "tip"
SENSOR = "sensor"

__all__ = ["AIR_QUALITY_STATION", "ASSET_TYPES", "DEPOT", "FLOWERBED", "LITTER_BIN",
           "PARKING_BAY", "SENSOR", "SERVICED_TYPES", "TIP", "AssetType", "asset_type_label",
           "asset_type_of"]


@dataclass(frozen=True)
class AssetType:
    """One kind of asset.

    ``level`` is what its level is measured in: ``fill`` (a bin's fill, 0 empty to 1 at its full
    line), ``moisture`` (a bed's volumetric soil moisture, %), ``no2`` (µg/m³), ``occupancy``
    or None for assets without a level (depots, tips). ``service`` is the round that visits it
    (``waste``, ``watering``) or None.
    """

    name: str
    label: str
    level: str | None = None
    service: str | None = None


ASSET_TYPES: dict[str, AssetType] = {t.name: t for t in (
    AssetType(LITTER_BIN, "Litter bin", "fill", "waste"),
    AssetType(FLOWERBED, "Flowerbed", "moisture", "watering"),
    AssetType(AIR_QUALITY_STATION, "Air quality station", "no2"),
    AssetType(PARKING_BAY, "Parking bay", "occupancy"),
    AssetType(DEPOT, "Depot"),
    AssetType(TIP, "Tip (household waste site)"),
    AssetType(SENSOR, "Sensor"),
)}

# Types a service round visits, by service.
SERVICED_TYPES: dict[str, str] = {t.service: t.name for t in ASSET_TYPES.values() if t.service}


def asset_type_of(properties: object) -> str:
    """A Thing's asset type from its properties (``sensor`` when it names none)."""
    if isinstance(properties, dict) and properties.get("asset_type"):
        return str(properties["asset_type"])
    return SENSOR


def asset_type_label(asset_type: str) -> str:
    """The type's name as people read it ("Litter bin"); unknown types from their key."""
    known = ASSET_TYPES.get(asset_type)
    return known.label if known else asset_type.replace("_", " ").capitalize()
