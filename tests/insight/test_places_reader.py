"""The readers of the places concern's tables (layers, places, Thing assignments) on both
databases, written through tables declared here with the shape of src/placehub/places/tables.py,
so a renamed column fails here as well as in the places tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from shapely.geometry import shape
from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    inspect,
)

from placehub.access import service
from placehub.db import Database
from placehub.db.metadata import JSONType, UTCDateTime
from placehub.insight.derive import PlacesAssignment
from placehub.insight.profiles import PlacesTables
from placehub.sta.tables import things

scratch = MetaData()
things.to_metadata(scratch)
layers_table = Table(
    "place_layers", scratch,
    Column("id", Integer, primary_key=True), Column("name", String(100), nullable=False),
    Column("title", String(300), nullable=False), Column("source", Text, nullable=False),
    Column("code_property", String(100), nullable=False),
    Column("name_property", String(100), nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False))
places_table = Table(
    "places", scratch,
    Column("id", Integer, primary_key=True),
    Column("layer_id", ForeignKey("place_layers.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(100), nullable=False), Column("name", String(300), nullable=False),
    Column("geometry", JSONType, nullable=False), Column("properties", JSONType),
    *(Column(n, Float, nullable=False) for n in ("min_x", "min_y", "max_x", "max_y")))
thing_places_table = Table(
    "thing_places", scratch,
    Column("thing_id", ForeignKey("things.id", ondelete="CASCADE"), primary_key=True),
    Column("layer_id", ForeignKey("place_layers.id", ondelete="CASCADE"), primary_key=True),
    Column("place_id", ForeignKey("places.id", ondelete="CASCADE"), nullable=False))
OWN = [layers_table, places_table, thing_places_table]


@pytest.fixture
def places_schema(database: Database) -> Iterator[Database]:
    """The places tables (migrated; any that are missing are created and dropped again)."""
    created = [t for t in OWN if not inspect(database.engine).has_table(t.name)]
    scratch.create_all(database.engine, tables=created)
    yield database
    with database.begin() as conn:
        for table in reversed(OWN):
            conn.execute(table.delete())
    scratch.drop_all(database.engine, tables=list(reversed(created)))


def test_readers_find_places_things_and_contained_lsoas(places_schema: Database,
                                                        data_dir: Path) -> None:
    """Uppingham ward: its name and boundary, its Thing, and the three LSOAs inside it."""
    database = places_schema
    with database.begin() as conn:
        org = service.ensure_organisation(conn, "rutland", "Rutland County Council")
        thing = conn.execute(insert(things).values(
            name="Bin", organisation_id=org, visibility="public",
            properties={"asset_type": "litter_bin"})).inserted_primary_key[0]
        for layer_id, (layer, file, code_key, name_key) in enumerate(
                [("wards", "wards.geojson", "WD13CD", "WD13NM"),
                 ("lsoas", "lsoas.geojson", "LSOA11CD", "LSOA11NM")], start=1):
            conn.execute(insert(layers_table).values(
                id=layer_id, name=layer, title=layer, source="ONS", code_property=code_key,
                name_property=name_key, loaded_at=datetime.now(UTC)))
            for feature in json.loads((data_dir / "rutland" / file).read_text())["features"]:
                bounds = shape(feature["geometry"]).bounds
                place = conn.execute(insert(places_table).values(
                    layer_id=layer_id, code=feature["properties"][code_key],
                    name=feature["properties"][name_key], geometry=feature["geometry"],
                    min_x=bounds[0], min_y=bounds[1], max_x=bounds[2], max_y=bounds[3],
                )).inserted_primary_key[0]
                if feature["properties"][code_key] == "E05001820":
                    conn.execute(insert(thing_places_table).values(
                        thing_id=thing, layer_id=layer_id, place_id=place))
    with database.connect() as conn:
        directory = PlacesTables()
        uppingham = directory.place(conn, "wards", "E05001820")
        assert uppingham is not None and uppingham.name == "Uppingham"
        assert uppingham.geometry is not None and uppingham.geometry["type"] in {
            "Polygon", "MultiPolygon"}
        assert len(directory.codes(conn, "lsoas")) == 23
        assert directory.things_in(conn, "wards", "E05001820") == [thing]
        assert directory.contained(conn, "lsoas", "wards", "E05001820") == [
            "E01013806", "E01013807", "E01013808"]
        # "ward" finds the layer named "wards".
        assert PlacesAssignment().place_codes(conn, "ward") == {thing: "E05001820"}
