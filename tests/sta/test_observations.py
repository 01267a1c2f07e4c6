"""The batched Observation write path: per-row outcomes, generated features, dedup, summaries."""

from datetime import timedelta

from sqlalchemy import func, select

from placehub.db import Database
from placehub.sta.observations import (
    NewObservation,
    refresh_datastream_summaries,
    stream_targets,
    write_observations,
)
from placehub.sta.tables import datastreams, features_of_interest, observations
from tests.sta.factories import at, make_datastream


def _summary(conn, stream_id):  # type: ignore[no-untyped-def]
    return conn.execute(select(datastreams).where(datastreams.c.id == stream_id)).one()


def test_rows_keep_request_order_and_bad_rows_do_not_block_good_ones(database: Database) -> None:
    """Each row gets its id or its error, in request order; valid rows are stored regardless."""
    with database.begin() as conn:
        ids = make_datastream(conn)
        rows = [
            NewObservation(ids["datastream"], at(1, 8), 41.5),
            NewObservation(999, at(1, 9), 12),
            NewObservation(ids["datastream"], at(1, 10), float("nan")),
            NewObservation(ids["datastream"], at(1, 11), "lid open"),
            NewObservation(ids["datastream"], at(1, 12), {"fill": 0.4}),
            NewObservation(ids["datastream"], at(1, 13).replace(tzinfo=None), 3),
        ]
        result = write_observations(conn, rows)
        stored = conn.execute(select(func.count()).select_from(observations)).scalar_one()
    outcome = result.outcomes
    assert [o.ok for o in outcome] == [True, False, False, True, True, False]
    assert "Datastream(999) does not exist" in (outcome[1].error or "")
    assert "finite" in (outcome[2].error or "")
    assert "timezone-aware" in (outcome[5].error or "")
    assert stored == 3 and outcome[0].id < outcome[3].id < outcome[4].id  # type: ignore[operator]
    assert [w.result for w in result.written] == [41.5, "lid open", {"fill": 0.4}]


def test_feature_of_interest_generated_from_location_and_reused(database: Database) -> None:
    """Without a FeatureOfInterest, one is made from the Thing's Location once and then reused."""
    with database.begin() as conn:
        ids = make_datastream(conn)
        write_observations(conn, [NewObservation(ids["datastream"], at(2, h), h) for h in range(3)])
        write_observations(conn, [NewObservation(ids["datastream"], at(3), 7)])
        features = conn.execute(select(features_of_interest)).all()
        linked = set(conn.execute(select(observations.c.feature_of_interest_id)).scalars())
    assert len(features) == 1 and linked == {features[0].id}
    assert features[0].feature == {"type": "Point", "coordinates": [-0.7276, 52.6703]}


def test_thing_without_location_needs_a_feature(database: Database) -> None:
    """A Thing with no Location cannot generate a FeatureOfInterest: the row says what to do."""
    with database.begin() as conn:
        ids = make_datastream(conn, lon_lat=None)
        result = write_observations(conn, [NewObservation(ids["datastream"], at(1), 1)])
    assert "add a Location" in (result.outcomes[0].error or "")


def test_dedup_key_stores_once(database: Database) -> None:
    """The same (Datastream, dedup key) written twice, in one batch or two, is stored once."""
    with database.begin() as conn:
        ids = make_datastream(conn)
        stream = ids["datastream"]
        first = write_observations(conn, [
            NewObservation(stream, at(1), 10, dedup_key="70B3D57ED0000001:s1:5:distance"),
            NewObservation(stream, at(1), 10, dedup_key="70B3D57ED0000001:s1:5:distance"),
        ])
        again = write_observations(conn, [
            NewObservation(stream, at(1), 10, dedup_key="70B3D57ED0000001:s1:5:distance"),
        ])
        count = conn.execute(select(func.count()).select_from(observations)).scalar_one()
        summary = _summary(conn, stream)
    assert count == 1 and summary.observation_count == 1
    assert first.outcomes[1].duplicate and first.outcomes[1].id == first.outcomes[0].id
    assert again.outcomes[0].duplicate and again.outcomes[0].id == first.outcomes[0].id
    assert len(first.written) == 1 and again.written == []


def test_late_observation_never_moves_latest_backwards(database: Database) -> None:
    """A late Observation widens the time range but the latest stays the newest by event time."""
    with database.begin() as conn:
        ids = make_datastream(conn)
        stream = ids["datastream"]
        newest = write_observations(conn, [
            NewObservation(stream, at(5, 12), 80, result_time=at(5, 12, 1)),
        ]).outcomes[0].id
        write_observations(conn, [
            NewObservation(stream, at(4, 9), 20, result_time=at(5, 13)),
            NewObservation(stream, at(3, 9), 10, phenomenon_time_end=at(3, 10)),
        ])
        summary = _summary(conn, stream)
    assert summary.latest_observation_id == newest
    assert summary.latest_phenomenon_time == at(5, 12)
    assert summary.phenomenon_time_start == at(3, 9) and summary.phenomenon_time_end == at(5, 12)
    assert summary.result_time_start == at(5, 12, 1) and summary.result_time_end == at(5, 13)
    assert summary.observation_count == 3
    assert summary.observed_area == {"type": "Point", "coordinates": [-0.7276, 52.6703]}


def test_refresh_agrees_with_incremental_summary(database: Database) -> None:
    """Recomputing a summary from the table gives what the incremental updates kept."""
    with database.begin() as conn:
        ids = make_datastream(conn)
        stream = ids["datastream"]
        start = at(1)
        write_observations(conn, [
            NewObservation(stream, start + timedelta(hours=(h * 7) % 24), h) for h in range(24)
        ])
        before = _summary(conn, stream)
        refresh_datastream_summaries(conn, [stream])
        after = _summary(conn, stream)
    for column in ("observation_count", "latest_observation_id", "latest_phenomenon_time",
                   "phenomenon_time_start", "phenomenon_time_end", "observed_area"):
        assert getattr(before, column) == getattr(after, column), column


def test_stream_targets_give_owner_and_generated_feature(database: Database) -> None:
    """Each Datastream maps to its Thing's organisation, visibility and generated feature."""
    with database.begin() as conn:
        ids = make_datastream(conn, visibility="restricted")
        before = stream_targets(conn, [ids["datastream"], 404, 2**40])
        write_observations(conn, [NewObservation(ids["datastream"], at(1), 1)])
        after = stream_targets(conn, [ids["datastream"]])[ids["datastream"]]
        feature = conn.execute(select(features_of_interest.c.id)).scalar_one()
    target = before[ids["datastream"]]
    assert list(before) == [ids["datastream"]]
    assert (target.thing_id, target.organisation_id, target.visibility) == (
        ids["thing"], ids["organisation"], "restricted")
    assert target.location_id == ids["location"] and target.feature_id is None
    assert after.feature_id == feature
    assert after.feature_box == (-0.7276, 52.6703, -0.7276, 52.6703)


def test_large_batch_round_trips_every_result_type(database: Database) -> None:
    """A 300-row batch (COPY on PostgreSQL) stores every result type and every time exactly."""
    from placehub.sta.observations import joined_result

    values = [1.25, 7, True, "blocked", {"pm10": 21.5, "flags": [1, 2]}, None]
    with database.begin() as conn:
        ids = make_datastream(conn)
        rows = [
            NewObservation(ids["datastream"], at(1) + timedelta(minutes=i), values[i % 6],
                           result_time=at(2) + timedelta(seconds=i),
                           parameters={"f_cnt": i} if i % 2 else None,
                           dedup_key=f"k{i}")
            for i in range(300)
        ]
        result = write_observations(conn, rows)
        stored = conn.execute(select(observations).order_by(observations.c.id)).all()
    assert [o.id for o in result.outcomes] == [row.id for row in stored]
    assert [joined_result(row) for row in stored] == [values[i % 6] for i in range(300)]
    assert stored[7].phenomenon_time_start == at(1) + timedelta(minutes=7)
    assert stored[7].parameters == {"f_cnt": 7} and stored[8].parameters is None


def test_unstorable_values_are_row_errors(database: Database) -> None:
    """Values neither database can store fail their own row, never the batch."""
    with database.begin() as conn:
        stream = make_datastream(conn)["datastream"]
        rows = [
            NewObservation(stream, at(1, 1), 10**400),
            NewObservation(stream, at(1, 2), "nul\x00byte"),
            NewObservation(stream, at(1, 3), {"text": "nul\x00byte"}),
            NewObservation(stream, at(1, 4), 1, parameters={"rssi": float("nan")}),
            NewObservation(stream, at(1, 5), 2, dedup_key="k" * 201),
            NewObservation(stream, at(1, 6), 3, feature_of_interest_id=2**40),
            NewObservation(stream, at(1, 7), 2**62),
        ]
        result = write_observations(conn, rows)
        stored = conn.execute(select(observations.c.result_number)).scalars().all()
    errors = [o.error or "" for o in result.outcomes]
    assert "too big" in errors[0] and "NUL" in errors[1] and "NUL" in errors[2]
    assert "parameters" in errors[3] and "dedup key" in errors[4]
    assert "FeatureOfInterest(1099511627776) does not exist" in errors[5]
    assert result.outcomes[6].ok and stored == [float(2**62)]


def test_dedup_keys_of_several_datastreams_in_one_batch(database: Database) -> None:
    """The same key under two Datastreams is two Observations; a repeat of either is a duplicate."""
    with database.begin() as conn:
        first = make_datastream(conn)["datastream"]
        second = make_datastream(conn, name="Bin 18 fill level")["datastream"]
        stored = write_observations(conn, [NewObservation(first, at(1), 1, dedup_key="a"),
                                           NewObservation(second, at(1), 2, dedup_key="a")])
        again = write_observations(conn, [NewObservation(second, at(1), 2, dedup_key="a"),
                                          NewObservation(first, at(2), 3, dedup_key="b"),
                                          NewObservation(first, at(1), 1, dedup_key="a")])
    first_id, second_id = (o.id for o in stored.outcomes)
    assert first_id != second_id
    assert [(o.id, o.duplicate) for o in again.outcomes] == [
        (second_id, True), (again.outcomes[1].id, False), (first_id, True)]
    assert again.outcomes[1].id not in {first_id, second_id}


def test_concurrent_writers_generate_one_feature(database: Database) -> None:
    """Twelve writers posting the first Observations of one Location at once (each in its own
    transaction, held open a moment) end up with one generated FeatureOfInterest, used by all."""
    import threading
    import time

    with database.begin() as conn:
        ids = make_datastream(conn)
    start = threading.Barrier(12)
    errors: list[BaseException] = []

    def post(number: int) -> None:
        try:
            start.wait()
            with database.begin() as conn:
                result = write_observations(conn, [NewObservation(ids["datastream"],
                                                                  at(4, 0, number), number)])
                assert result.outcomes[0].ok, result.outcomes[0].error
                time.sleep(0.05)  # keep the transactions overlapping
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=post, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with database.connect() as conn:
        features = conn.execute(select(features_of_interest.c.id)).scalars().all()
        linked = set(conn.execute(select(observations.c.feature_of_interest_id)).scalars())
        stored = conn.execute(select(func.count()).select_from(observations)).scalar_one()
    assert len(features) == 1 and linked == set(features) and stored == 12
