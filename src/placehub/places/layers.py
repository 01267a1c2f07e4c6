"""Loading place layers and property points: GeoJSON boundaries, postcode/UPRN CSVs, OSM buildings.

Every loader upserts (boundaries by layer + code, points by source + ref), so running it again
updates in place and never duplicates. After a load the affected assignments are recomputed.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shapely import make_valid
from shapely.geometry import mapping, shape
from sqlalchemy import Connection, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from placehub.errors import BadRequest, NotFound
from placehub.places.assign import assign_points, assign_things
from placehub.places.osm import read_areas
from placehub.places.tables import place_layers, places, property_points, terminated_points

# Called with (done, total) as work advances; the CLI turns it into a progress bar.
ProgressCallback = Callable[[int, int], None]
BATCH = 1000


def _no_progress(_done: int, _total: int) -> None:
    pass


@dataclass(frozen=True)
class LoadReport:
    """What a load did: rows inserted or updated, rows removed, rows skipped and why."""

    loaded: int
    removed: int = 0
    skipped: int = 0
    notes: tuple[str, ...] = ()


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
           ) -> None:
    """Insert rows, updating the other columns where the ``keys`` already exist (both databases)."""
    if not rows:
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = dialect_insert(table)
    update = {name: statement.excluded[name] for name in rows[0] if name not in keys}
    conn.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=update), rows)


def _chunks(rows: Sequence[dict[str, Any]], size: int = BATCH
            ) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


# -- boundary layers --------------------------------------------------------------------------


def guess_property(properties: Iterable[str], suffix: str) -> str | None:
    """The ONS-style property ending in ``suffix`` (``CD`` for codes, ``NM`` for names)."""
    # WD13NMW (the Welsh name) does not end in NM, so it is never picked over WD13NM.
    return next((p for p in properties if p.upper().endswith(suffix)), None)


def read_geojson_file(path: str | Path) -> Any:
    """A GeoJSON file's JSON, with a clear error when it is missing or not JSON."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotFound(f"no GeoJSON file at {path}") from None
    except json.JSONDecodeError as error:
        raise BadRequest(f"{path} is not valid JSON ({error.msg} at line {error.lineno})") from None


def read_geojson(path: str | Path) -> list[dict[str, Any]]:
    """The features of a GeoJSON FeatureCollection file, with a clear error when it is not one."""
    data = read_geojson_file(path)
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise BadRequest(f"{path} is not a GeoJSON FeatureCollection")
    return list(data.get("features") or [])


def load_boundaries(
    conn: Connection,
    path: str | Path,
    layer: str,
    *,
    code_property: str | None = None,
    name_property: str | None = None,
    title: str | None = None,
    progress: ProgressCallback = _no_progress,
) -> LoadReport:
    """Load a GeoJSON boundary file as the place layer ``layer`` (replacing its earlier load).

    ``code_property``/``name_property`` say which feature properties hold each place's code and
    name; by default the ONS convention is guessed (``WD13CD``/``WD13NM``, ``LSOA11CD``/...).
    Places of the layer missing from the file are removed.
    """
    if not layer or not layer.replace("-", "").replace("_", "").isalnum():
        raise BadRequest(f"layer name {layer!r}: use letters, digits, - or _ (e.g. wards)")
    features = read_geojson(path)
    if not features:
        raise BadRequest(f"{path} has no features")
    available = list((features[0].get("properties") or {}).keys())
    code_property = code_property or guess_property(available, "CD")
    name_property = name_property or guess_property(available, "NM") or code_property
    for chosen, what in ((code_property, "code"), (name_property, "name")):
        if not chosen or chosen not in available:
            raise BadRequest(
                f"{path}: choose the {what} property with --{what}-property; the features have "
                f"{', '.join(available) or 'no properties'}")
    assert code_property and name_property
    now = datetime.now(UTC)
    upsert(conn, place_layers, [{
        "name": layer, "title": title or layer.replace("_", " ").replace("-", " ").capitalize(),
        "source": str(Path(path).name), "code_property": code_property,
        "name_property": name_property, "loaded_at": now,
    }], ["name"])
    layer_id = conn.execute(
        select(place_layers.c.id).where(place_layers.c.name == layer)).scalar_one()
    rows: list[dict[str, Any]] = []
    skipped = 0
    notes: list[str] = []
    for number, feature in enumerate(features, start=1):
        props = feature.get("properties") or {}
        code = props.get(code_property)
        try:
            geometry = shape(feature.get("geometry"))
        except (AttributeError, KeyError, TypeError, ValueError):
            geometry = None
        if not code or geometry is None or geometry.is_empty:
            skipped += 1
            notes.append(f"feature {number}: no {code_property} or no geometry, skipped")
            continue
        if not geometry.is_valid:
            geometry = make_valid(geometry)
        minx, miny, maxx, maxy = geometry.bounds
        rows.append({
            "layer_id": layer_id, "code": str(code), "name": str(props.get(name_property) or code),
            "geometry": mapping(geometry), "properties": props,
            "min_x": minx, "min_y": miny, "max_x": maxx, "max_y": maxy,
        })
    done = 0
    for chunk in _chunks(rows, 200):
        upsert(conn, places, chunk, ["layer_id", "code"])
        done += len(chunk)
        progress(done, len(rows))
    removed = conn.execute(delete(places).where(
        places.c.layer_id == layer_id, places.c.code.not_in([r["code"] for r in rows]))).rowcount
    assigned_points = assign_points(conn, layer_ids=[layer_id])
    assigned_things = assign_things(conn, layer_ids=[layer_id])
    notes.append(f"assigned {assigned_points} property points and {assigned_things} things")
    return LoadReport(len(rows), removed or 0, skipped, tuple(notes))


# -- property points --------------------------------------------------------------------------

# NSPL and ONSPD mark postcodes without a grid reference with this latitude.
NO_LOCATION_LATITUDE = 99.999999


@dataclass(frozen=True)
class PointColumns:
    """Which CSV columns hold a point's reference and position (lon/lat or BNG metres)."""

    ref: str
    lon: str | None = None
    lat: str | None = None
    easting: str | None = None
    northing: str | None = None
    # A column whose non-empty value means the row is no longer live (NSPL doterm).
    terminated: str | None = None


def guess_point_columns(header: Sequence[str]) -> PointColumns:
    """Recognise a postcode lookup (pcds, lat, long, doterm) or a UPRN file by its header."""
    lower = {name.lower(): name for name in header}

    def pick(*names: str) -> str | None:
        return next((lower[n] for n in names if n in lower), None)

    ref = pick("pcds", "postcode", "uprn", "id", "ref")
    lon = pick("long", "lon", "longitude", "lng")
    lat = pick("lat", "latitude")
    easting = pick("x_coordinate", "easting", "oseast1m", "eastings")
    northing = pick("y_coordinate", "northing", "osnrth1m", "northings")
    terminated = pick("doterm")
    if ref is None:
        raise BadRequest(
            f"cannot tell which column identifies each point among {', '.join(header)}: "
            "give --ref-column")
    if lon and lat:
        return PointColumns(ref, lon=lon, lat=lat, terminated=terminated)
    if easting and northing:
        return PointColumns(ref, easting=easting, northing=northing, terminated=terminated)
    raise BadRequest(
        f"no position columns among {', '.join(header)}: give --lon-column/--lat-column or "
        "--easting-column/--northing-column")


def read_points_csv(path: str | Path, columns: PointColumns | None = None
                    ) -> tuple[list[dict[str, Any]], int, PointColumns]:
    """Rows of (ref, lon, lat, properties) from a CSV; terminated or unplaced rows are skipped."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"no CSV file at {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        columns = columns or guess_point_columns(header)
        for name in (columns.ref, columns.lon, columns.lat, columns.easting, columns.northing):
            if name and name not in header:
                raise BadRequest(f"{path}: no column {name!r} (columns: {', '.join(header)})")
        raw = list(reader)
    points: list[dict[str, Any]] = []
    skipped = 0
    eastings: list[float] = []
    northings: list[float] = []
    for row in raw:
        if columns.terminated and row.get(columns.terminated, "").strip():
            skipped += 1
            continue
        try:
            if columns.lon and columns.lat:
                lon, lat = float(row[columns.lon]), float(row[columns.lat])
                if lat == NO_LOCATION_LATITUDE or not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError
            else:
                assert columns.easting and columns.northing
                eastings.append(float(row[columns.easting]))
                northings.append(float(row[columns.northing]))
                lon = lat = 0.0
        except (TypeError, ValueError):
            skipped += 1
            continue
        ref = (row.get(columns.ref) or "").strip()
        if not ref:
            skipped += 1
            continue
        used = {columns.ref, columns.lon, columns.lat, columns.easting, columns.northing}
        properties = {k: v for k, v in row.items() if k not in used and v not in ("", None)}
        points.append({"ref": ref, "lon": lon, "lat": lat, "properties": properties})
    if columns.easting:
        from pyproj import Transformer

        # British National Grid (EPSG:27700) to WGS84 lon/lat.
        transformer = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
        lons, lats = transformer.transform(eastings, northings)
        for point, lon, lat in zip(points, lons, lats, strict=True):
            point["lon"], point["lat"] = float(lon), float(lat)
    return points, skipped, columns


def store_points(conn: Connection, source: str, points: Sequence[dict[str, Any]],
                 progress: ProgressCallback = _no_progress) -> int:
    """Upsert property points of ``source`` (by ref)."""
    if not source:
        raise BadRequest("give the points a source name, e.g. --source sutton-postcodes")
    rows = [{"source": source, **point} for point in points]
    done = 0
    for chunk in _chunks(rows):
        upsert(conn, property_points, chunk, ["source", "ref"])
        done += len(chunk)
        progress(done, len(rows))
    return len(rows)


def store_terminated(conn: Connection, source: str, path: str | Path, ref_column: str,
                     terminated_column: str) -> int:
    """Keep the references of the CSV's terminated rows (left out of the points), so a postcode
    search can say a postcode was terminated rather than unknown."""
    with Path(path).open(newline="", encoding="utf-8-sig") as handle:
        rows = [{"source": source, "ref": (row.get(ref_column) or "").strip(),
                 "terminated": (row.get(terminated_column) or "").strip()[:20]}
                for row in csv.DictReader(handle)
                if (row.get(terminated_column) or "").strip()]
    rows = [row for row in rows if row["ref"]]
    for chunk in _chunks(rows):
        upsert(conn, terminated_points, chunk, ["source", "ref"])
    return len(rows)


def load_points_csv(
    conn: Connection, path: str | Path, source: str, columns: PointColumns | None = None,
    progress: ProgressCallback = _no_progress,
) -> LoadReport:
    """Load property points from a postcode lookup or UPRN CSV."""
    points, skipped, used = read_points_csv(path, columns)
    loaded = store_points(conn, source, points, progress)
    if used.terminated:
        store_terminated(conn, source, path, used.ref, used.terminated)
    assign_points(conn, sources=[source])
    note = f"terminated or unplaced rows skipped: {skipped}" if skipped else ""
    position = f"{used.lon}/{used.lat}" if used.lon else f"{used.easting}/{used.northing} (BNG)"
    return LoadReport(loaded, skipped=skipped,
                      notes=tuple(n for n in (f"ref {used.ref}, position {position}", note) if n))


def building_points(pbf_path: str | Path) -> list[dict[str, Any]]:
    """A point inside each OSM building (its centroid, or a point on it when that falls outside)."""
    points = []
    for area in read_areas(pbf_path, "building"):
        centroid = area.geometry.centroid
        point = centroid if area.geometry.contains(centroid) else (
            area.geometry.representative_point())
        properties = {"building": area.tags.get("building", "yes")}
        for key in ("name", "addr:street", "addr:housenumber", "addr:postcode"):
            if key in area.tags:
                properties[key] = area.tags[key]
        points.append({"ref": area.osm_id, "lon": point.x, "lat": point.y,
                       "properties": properties})
    return points


def load_buildings(conn: Connection, pbf_path: str | Path, source: str = "osm-buildings",
                   progress: ProgressCallback = _no_progress) -> LoadReport:
    """Load OSM buildings as property points (one per building)."""
    if not Path(pbf_path).exists():
        raise NotFound(f"no OSM extract at {pbf_path}")
    points = building_points(pbf_path)
    loaded = store_points(conn, source, points, progress)
    assign_points(conn, sources=[source])
    return LoadReport(loaded)


def layer_id_of(conn: Connection, layer: str) -> int:
    """The id of a place layer, or a NotFound naming the layers there are."""
    found = conn.execute(select(place_layers.c.id).where(place_layers.c.name == layer)).scalar()
    if found is None:
        names = conn.execute(select(place_layers.c.name).order_by(place_layers.c.name)).scalars()
        raise NotFound(f"no place layer {layer!r}; layers: {', '.join(names) or 'none loaded'} "
                       "(load one with 'placehub load boundaries')")
    return int(found)
