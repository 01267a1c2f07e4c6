"""Postcode search over the loaded postcode lookup: a typed postcode (any case, with or without
its space) to its position and places, or a message saying it is unknown or terminated."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, select

from placehub.errors import BadRequest, NotFound
from placehub.places.tables import (
    place_layers,
    places,
    property_point_places,
    property_points,
    terminated_points,
)

# Outward code (area, district) and inward code (sector, unit), as Royal Mail forms them.
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class PostcodePlace:
    """A live postcode: its position and the place it falls in per layer (layer -> code, name)."""

    postcode: str
    lon: float
    lat: float
    places: dict[str, tuple[str, str]] = field(default_factory=dict)


def normalise_postcode(text: str) -> str:
    """``text`` as a postcode in its usual form (``"sm11aa"`` -> ``"SM1 1AA"``)."""
    compact = re.sub(r"\s+", "", text or "").upper()
    if not compact:
        raise BadRequest("Enter a postcode, like SM1 1AA")
    found = POSTCODE.match(compact)
    if found is None:
        raise BadRequest(f"{text.strip()[:20]!r} is not a postcode: enter a full postcode, "
                         "like SM1 1AA")
    return f"{found.group(1)} {found.group(2)}"


def _month(yyyymm: str) -> str:
    if len(yyyymm) == 6 and yyyymm.isdigit() and 1 <= int(yyyymm[4:]) <= 12:
        return f"{MONTHS[int(yyyymm[4:]) - 1]} {yyyymm[:4]}"
    return yyyymm


def find_postcode(conn: Connection, text: str) -> PostcodePlace:
    """The live postcode ``text`` names; NotFound says whether it was terminated or unknown."""
    postcode = normalise_postcode(text)
    row = conn.execute(select(property_points.c.id, property_points.c.lon, property_points.c.lat)
                       .where(property_points.c.ref == postcode)
                       .order_by(property_points.c.id).limit(1)).first()
    if row is None:
        ended = conn.execute(select(terminated_points.c.terminated)
                             .where(terminated_points.c.ref == postcode).limit(1)).scalar()
        if ended is not None:
            raise NotFound(f"{postcode} is no longer in use (terminated {_month(ended)}): "
                           "enter the postcode in use now")
        raise NotFound(f"{postcode} is not a postcode in this council's area: check it, or "
                       "enter a postcode in the area")
    found = {
        layer: (code, name) for layer, code, name in conn.execute(
            select(place_layers.c.name, places.c.code, places.c.name)
            .join(places, places.c.id == property_point_places.c.place_id)
            .join(place_layers, place_layers.c.id == property_point_places.c.layer_id)
            .where(property_point_places.c.point_id == row.id))
    }
    return PostcodePlace(postcode, float(row.lon), float(row.lat), found)

