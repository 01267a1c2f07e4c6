"""The entity model: relations in SQL and the visibility rule through the owning Thing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from placehub.access import service
from placehub.db import Database
from placehub.sta import tables as t
from placehub.sta.model import (
    ENTITIES,
    ENTITIES_BY_SET,
    visibility_clause,
    visible_with_source,
)


def _seed(conn) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """One organisation with a public and a restricted Thing, each with a full chain."""
    org = service.create_organisation(conn, "rutland", "Rutland")
    sensor = conn.execute(insert(t.sensors).values(
        name="s", description="", encoding_type="text/plain", metadata="m",
        organisation_id=org)).inserted_primary_key[0]
    prop = conn.execute(insert(t.observed_properties).values(
        name="p", definition="d", description="", organisation_id=org)).inserted_primary_key[0]
    now = datetime(2024, 1, 1, tzinfo=UTC)
    for n, visibility in enumerate(("public", "restricted")):
        thing = conn.execute(insert(t.things).values(
            id=n + 1, name=f"thing {visibility}", description="", organisation_id=org,
            visibility=visibility)).inserted_primary_key[0]
        loc = conn.execute(insert(t.locations).values(
            id=n + 1, name="l", description="", encoding_type="application/geo+json",
            location={"type": "Point", "coordinates": [0, 0]}, organisation_id=org,
        )).inserted_primary_key[0]
        conn.execute(insert(t.thing_locations).values(thing_id=thing, location_id=loc))
        ds = conn.execute(insert(t.datastreams).values(
            id=n + 1, name="d", description="", observation_type="x",
            unit_of_measurement={}, thing_id=thing, sensor_id=sensor,
            observed_property_id=prop)).inserted_primary_key[0]
        foi = conn.execute(insert(t.features_of_interest).values(
            id=n + 1, name="f", description="", encoding_type="application/geo+json",
            feature={"type": "Point", "coordinates": [0, 0]}, organisation_id=org,
        )).inserted_primary_key[0]
        conn.execute(insert(t.observations).values(
            id=n + 1, datastream_id=ds, feature_of_interest_id=foi, phenomenon_time_start=now,
            result_type=t.RESULT_NUMBER, result_number=1.0))
    return org, sensor


def test_anonymous_reads_only_what_hangs_off_public_things(database: Database) -> None:
    """Anonymous readers see the public Thing's chain only; an editor sees both chains."""
    with database.begin() as conn:
        org, _ = _seed(conn)
        editor = service.Principal(user_id=1, roles={org: "editor"})
        for entity in ENTITIES:
            def ids(principal, entity=entity):  # type: ignore[no-untyped-def]
                alias = entity.table.alias("x")
                return sorted(conn.execute(select(alias.c.id).where(
                    visibility_clause(entity, alias, principal))).scalars())

            if entity.set_name in {"Sensors", "ObservedProperties"}:
                assert ids(service.ANONYMOUS) == [1]
            elif entity.set_name != "HistoricalLocations":
                assert ids(service.ANONYMOUS) == [1], entity.name
                assert ids(editor) == [1, 2], entity.name


def test_navigation_related_to_finds_the_parent_ids(database: Database) -> None:
    """Every navigation relates targets to their source ids, through FKs and link tables."""
    with database.begin() as conn:
        _seed(conn)
        for entity in ENTITIES_BY_SET.values():
            for navigation in entity.navigations.values():
                target = navigation.target_entity.table.alias("target")
                from_clause, parent = navigation.related_to(target)
                pairs = conn.execute(select(parent, target.c.id).select_from(from_clause)).all()
                source = entity.table.alias("source")
                joined = conn.execute(
                    select(source.c.id, target.c.id).select_from(
                        source.join(target, navigation.join_condition(source, target)))
                ).all()
                assert sorted(pairs) == sorted(joined), (entity.name, navigation.name)


def test_visible_with_source_holds(database: Database) -> None:
    """Along every navigation marked visible-with-source, each target related to a readable
    source is readable too (so $expand may skip the second check)."""
    with database.begin() as conn:
        _seed(conn)
        for principal in (service.ANONYMOUS, service.Principal(user_id=9, roles={1: "viewer"})):
            for entity in ENTITIES:
                for navigation in entity.navigations.values():
                    if not visible_with_source(navigation):
                        continue
                    source = entity.table.alias("source")
                    target = navigation.target_entity.table.alias("target")
                    pairs = select(target.c.id).select_from(
                        source.join(target, navigation.join_condition(source, target))
                    ).where(visibility_clause(entity, source, principal))
                    readable = select(target.c.id).where(
                        visibility_clause(navigation.target_entity, target, principal))
                    assert set(conn.execute(pairs).scalars()) <= set(
                        conn.execute(readable).scalars()), (entity.name, navigation.name)
