"""Data array extension (OGC 18-088 req/data-array/data-array): read and create in dataArray."""

from __future__ import annotations

from typing import Any

from placehub.access import service
from tests.sta.conftest import oven


def _datastream(sta: Any, name: str = "oven") -> int:
    thing = sta.create("Things", oven(name))
    streams = sta.get(f"Things({thing['@iot.id']})/Datastreams").json()["value"]
    return int(streams[0]["@iot.id"])


def test_create_observations_answers_one_url_or_error_per_row(sta) -> None:  # type: ignore[no-untyped-def]
    """201 with the created URLs in request order and "error" for a failed row."""
    first, second = _datastream(sta, "oven a"), _datastream(sta, "oven b")
    body = [
        {"Datastream": {"@iot.id": first}, "components": ["phenomenonTime", "result"],
         "dataArray@iot.count": 3,
         "dataArray": [["2024-05-01T10:20:00-07:00", 20], ["not a time", 25],
                       ["2024-05-01T10:21:00Z", 30]]},
        {"Datastream": {"@iot.id": second},
         "components": ["phenomenonTime", "result", "resultTime", "parameters"],
         "dataArray": [["2024-05-01T10:20:00Z", 65, "2024-05-01T10:20:05Z", {"rssi": -97}],
                       ["2024-05-01T10:21:00Z", 60, None, None, "one too many"]]},
    ]
    response = sta.post("CreateObservations", body)
    assert response.status_code == 201, response.text
    urls = response.json()
    assert len(urls) == 5
    assert urls[1] == "error" and urls[4] == "error"
    assert "row 1" in response.headers["x-placehub-row-errors"]
    created = [sta.get(url).json() for url in urls if url != "error"]
    assert [o["result"] for o in created] == [20, 30, 65]
    assert created[0]["phenomenonTime"] == "2024-05-01T17:20:00Z"
    assert created[2]["resultTime"] == "2024-05-01T10:20:05Z"
    assert created[2]["parameters"] == {"rssi": -97}
    count = sta.get(f"Datastreams({first})/Observations?$count=true").json()["@iot.count"]
    assert count == 2


def test_create_observations_with_feature_of_interest(sta) -> None:  # type: ignore[no-untyped-def]
    """The FeatureOfInterest/id component links an existing FeatureOfInterest."""
    stream = _datastream(sta)
    foi = sta.create("FeaturesOfInterest", {
        "name": "kitchen", "description": "the kitchen", "encodingType": "application/geo+json",
        "feature": {"type": "Point", "coordinates": [-114.06, 51.05]}})["@iot.id"]
    response = sta.post("CreateObservations", [{
        "Datastream": {"@iot.id": stream},
        "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
        "dataArray": [["2024-05-01T10:20:00Z", 1, foi], ["2024-05-01T10:21:00Z", 2, 999999]]}])
    assert response.status_code == 201, response.text
    ok, failed = response.json()
    assert failed == "error"
    assert sta.get(ok + "/FeatureOfInterest").json()["@iot.id"] == foi


def test_create_observations_refuses_bad_bodies_and_strangers(sta, database) -> None:  # type: ignore[no-untyped-def]
    """Malformed bodies are 400s; a Datastream of another organisation is a 403."""
    stream = _datastream(sta)
    assert sta.post("CreateObservations", {"not": "a list"}).status_code == 400
    unknown = sta.post("CreateObservations", [{"Datastream": {"@iot.id": stream},
                                               "components": ["result", "colour"],
                                               "dataArray": []}])
    assert unknown.status_code == 400 and "colour" in unknown.json()["error"]["message"]
    missing = sta.post("CreateObservations", [{"Datastream": {"@iot.id": 987654},
                                               "components": ["result"], "dataArray": [[1]]}])
    assert missing.status_code == 400
    with database.begin() as conn:
        other = service.create_organisation(conn, "elsewhere", "Elsewhere Council")
        user = service.create_user(conn, "stranger")
        service.grant_role(conn, user, other, "editor")
        token = service.create_token(conn, user, "tests")
    body = [{"Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
             "dataArray": [["2024-05-01T10:20:00Z", 1]]}]
    refused = sta.post("CreateObservations", body,
                       headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code in {400, 403}
    anonymous = sta.http.post(sta.url("CreateObservations"), json=body)
    assert anonymous.status_code == 401


def test_get_observations_as_data_array(sta) -> None:  # type: ignore[no-untyped-def]
    """$resultFormat=dataArray groups by Datastream with components, count and rows."""
    first, second = _datastream(sta, "oven a"), _datastream(sta, "oven b")
    sta.post("CreateObservations", [
        {"Datastream": {"@iot.id": first}, "components": ["phenomenonTime", "result"],
         "dataArray": [["2024-05-01T10:00:00Z", 1], ["2024-05-01T11:00:00Z", 2]]},
        {"Datastream": {"@iot.id": second}, "components": ["phenomenonTime", "result"],
         "dataArray": [["2024-05-01T10:30:00Z", "on"]]}])
    body = sta.get("Observations?$resultFormat=dataArray&$orderby=phenomenonTime").json()
    groups = {g["Datastream@iot.navigationLink"].rsplit("/", 1)[-1]: g for g in body["value"]}
    group = groups[f"Datastreams({first})"]
    assert group["components"] == ["id", "phenomenonTime", "resultTime", "result"]
    assert group["dataArray@iot.count"] == 2
    assert [row[1:] for row in group["dataArray"]] == [
        ["2024-05-01T10:00:00Z", None, 1], ["2024-05-01T11:00:00Z", None, 2]]
    assert groups[f"Datastreams({second})"]["dataArray"][0][3] == "on"
    selected = sta.get(f"Datastreams({first})/Observations?$resultFormat=dataArray"
                       "&$select=result,phenomenonTime&$orderby=phenomenonTime desc").json()
    assert selected["value"][0]["components"] == ["result", "phenomenonTime"]
    assert selected["value"][0]["dataArray"] == [[2, "2024-05-01T11:00:00Z"],
                                                 [1, "2024-05-01T10:00:00Z"]]


def test_result_format_errors(sta) -> None:  # type: ignore[no-untyped-def]
    """Unknown result formats, or dataArray on other entity sets, are 400s."""
    assert sta.get("Observations?$resultFormat=csv").status_code == 400
    assert sta.get("Things?$resultFormat=dataArray").status_code == 400


def test_unstorable_results_are_error_rows_in_request_order(sta) -> None:  # type: ignore[no-untyped-def]
    """A result too big for the column (or NUL text) is an "error" row; the rest are stored in
    request order across groups."""
    first, second = _datastream(sta, "oven a"), _datastream(sta, "oven b")
    too_big = 10**400
    first_rows = [[f"2024-05-01T10:{m:02d}:00Z", too_big if m == 7 else m] for m in range(60)]
    second_rows = [["2024-05-01T11:00:00Z", "lid\u0000open"], ["2024-05-01T11:01:00Z", -5],
                   ["2024-05-01T11:02:00Z", 2**62, 2**40]]
    response = sta.post("CreateObservations", [
        {"Datastream": {"@iot.id": first}, "components": ["phenomenonTime", "result"],
         "dataArray": first_rows},
        {"Datastream": {"@iot.id": second},
         "components": ["phenomenonTime", "result", "FeatureOfInterest/id"],
         "dataArray": [row if len(row) == 3 else [*row, None] for row in second_rows]},
    ])
    assert response.status_code == 201, response.text
    urls = response.json()
    failed = [i for i, url in enumerate(urls) if url == "error"]
    assert len(urls) == 63 and failed == [7, 60, 62]
    assert "too big" in response.headers["x-placehub-row-errors"]
    stored = [sta.get(url).json()["result"] for url in urls if url != "error"]
    assert stored == [m for m in range(60) if m != 7] + [-5]
    ids = [int(url.rsplit("(", 1)[1].rstrip(")")) for url in urls if url != "error"]
    assert ids == sorted(ids)


def test_create_observations_with_out_of_range_datastream_id_is_a_400(sta) -> None:  # type: ignore[no-untyped-def]
    """A Datastream id beyond any stored id is "does not exist", not a database error."""
    response = sta.post("CreateObservations", [{"Datastream": {"@iot.id": 2**63},
                                                "components": ["result"], "dataArray": [[1]]}])
    assert response.status_code == 400 and "do not exist" in response.json()["error"]["message"]
