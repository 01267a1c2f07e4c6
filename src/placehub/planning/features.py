"""Point features for planning read from an OSM extract or a council's GeoJSON layer:
vulnerable sites (care homes, schools, hospitals, GP surgeries), facilities (schools, libraries,
recycling and leisure centres) and car parks.

Mapped areas (a school's grounds, a car park's outline) are represented by a point inside them;
the outline is kept for car parks, whose capacity may have to be estimated from their size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import osmium
from shapely import Geometry, wkb
from shapely.errors import ShapelyError
from shapely.geometry import shape

from placehub.errors import BadRequest, NotFound
from placehub.places.layers import read_geojson_file


@dataclass(frozen=True)
class Feature:
    """A named point of some kind (``school``, ``care_home`` ...), from OSM or a council layer."""

    ref: str            # "osm:w123", "osm:n45" or "layer:<id>"
    kind: str
    name: str
    lon: float
    lat: float
    tags: dict[str, str] = field(default_factory=dict, compare=False)
    outline: Geometry | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"ref": self.ref, "kind": self.kind, "name": self.name,
                "lon": round(self.lon, 6), "lat": round(self.lat, 6)}


# Vulnerable sites for emergency planning, as OSM tags them.
VULNERABLE_KINDS = ("care_home", "school", "nursery", "hospital", "gp_surgery", "clinic")
# Facilities a catchment can be built for.
FACILITY_KINDS = ("school", "library", "recycling_centre", "leisure_centre", "gp_surgery",
                  "community_centre", "hospital")


def kind_of(tags: dict[str, str]) -> str | None:
    """The planning kind of an OSM object from its tags, or None."""
    amenity = tags.get("amenity", "")
    social = tags.get("social_facility", "")
    if amenity == "nursing_home" or (amenity == "social_facility" and (
            social in {"nursing_home", "assisted_living", "group_home"}
            or social.startswith(("nursing_home", "assisted_living", "group_home")))):
        return "care_home"
    if amenity in {"school", "hospital", "clinic", "library", "community_centre"}:
        return amenity
    if amenity in {"kindergarten", "childcare"}:
        return "nursery"
    if amenity == "doctors" or tags.get("healthcare") == "doctor":
        return "gp_surgery"
    if amenity == "recycling" and tags.get("recycling_type") == "centre":
        return "recycling_centre"
    if tags.get("leisure") in {"sports_centre", "fitness_centre"} and tags.get("name"):
        return "leisure_centre"
    if amenity == "parking":
        return "car_park"
    return None


def _feature(ref: str, tags: dict[str, str], geometry: Geometry | None, lon: float, lat: float
             ) -> Feature | None:
    kind = kind_of(tags)
    if kind is None:
        return None
    name = tags.get("name") or kind.replace("_", " ").capitalize()
    return Feature(ref, kind, name, lon, lat, tags, geometry)


def read_osm_features(pbf_path: str | Path) -> list[Feature]:
    """Every planning feature of an OSM extract (nodes, and areas by a point inside them)."""
    path = Path(pbf_path)
    if not path.exists():
        raise NotFound(f"no OSM extract at {path}")
    return list(_read_osm_features(str(path.resolve()), path.stat().st_mtime_ns))


@lru_cache(maxsize=4)
def _read_osm_features(path: str, _version: int) -> tuple[Feature, ...]:
    factory = osmium.geom.WKBFactory()
    found: list[Feature] = []
    keys = osmium.filter.KeyFilter("amenity", "healthcare", "leisure", "social_facility")
    processor = osmium.FileProcessor(path).with_areas(keys).with_filter(keys)
    for entity in processor:
        tags = {tag.k: tag.v for tag in entity.tags}
        if kind_of(tags) is None:
            continue
        if isinstance(entity, osmium.osm.Node):
            made = _feature(f"osm:n{entity.id}", tags, None, entity.location.lon,
                            entity.location.lat)
        elif isinstance(entity, osmium.osm.Area):
            try:
                outline = wkb.loads(factory.create_multipolygon(entity), hex=True)
            except RuntimeError:
                continue  # broken rings: skip the feature, not the extract
            inside = outline.representative_point()
            prefix = "w" if entity.from_way() else "r"
            made = _feature(f"osm:{prefix}{entity.orig_id()}", tags, outline, inside.x, inside.y)
        else:
            continue
        if made is not None:
            found.append(made)
    return tuple(found)


def read_feature_layer(path: str | Path, default_kind: str = "site") -> list[Feature]:
    """A council's own layer: a GeoJSON FeatureCollection of points (or areas) with ``name`` and
    optionally ``kind`` properties."""
    return read_feature_layer_data(read_geojson_file(path), default_kind, str(path))


def read_feature_layer_data(data: Any, default_kind: str = "site", what: str = "the layer"
                            ) -> list[Feature]:
    """A council layer already parsed from GeoJSON (see ``read_feature_layer``)."""
    path = what
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BadRequest(f"{path} is not a GeoJSON FeatureCollection")
    found = []
    features = data.get("features")
    if not isinstance(features, list):
        raise BadRequest(f"{path}: 'features' must be a list of GeoJSON Features")
    for number, item in enumerate(features, start=1):
        if not isinstance(item, dict):
            raise BadRequest(f"{path}: feature {number} is not a GeoJSON Feature object")
        given = item.get("properties")
        props: dict[str, Any] = given if isinstance(given, dict) else {}
        try:
            geometry = shape(item["geometry"])
            point = geometry if geometry.geom_type == "Point" else (
                geometry.representative_point())
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ShapelyError):
            raise BadRequest(f"{path}: feature {number} has no readable geometry") from None
        if point.is_empty or not (-180 <= point.x <= 180 and -90 <= point.y <= 90):
            raise BadRequest(f"{path}: feature {number} is not in lon/lat (WGS84)")
        found.append(Feature(
            f"layer:{props.get('id', number)}", str(props.get("kind") or default_kind),
            str(props.get("name") or f"Site {number}"), point.x, point.y,
            {k: str(v) for k, v in props.items()}, None if geometry.geom_type == "Point"
            else geometry))
    return found


def of_kinds(features: list[Feature], kinds: tuple[str, ...] | list[str]) -> list[Feature]:
    """The features of the given kinds."""
    wanted = set(kinds)
    return [f for f in features if f.kind in wanted]
