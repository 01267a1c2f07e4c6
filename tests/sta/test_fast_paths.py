"""Fast paths on materialised Datastream columns give the same answers as the general queries."""

from __future__ import annotations

from typing import Any

from tests.sta.conftest import oven

LATEST = "Observations($orderby=phenomenonTime desc;$top=1)"


def _stream_with(sta: Any, name: str, times_results: list[tuple[str, Any]]) -> int:
    thing = sta.create("Things", oven(name))
    stream = sta.get(f"Things({thing['@iot.id']})/Datastreams").json()["value"][0]["@iot.id"]
    response = sta.post("CreateObservations", [{
        "Datastream": {"@iot.id": stream}, "components": ["phenomenonTime", "result"],
        "dataArray": [list(pair) for pair in times_results]}])
    assert response.status_code == 201 and "error" not in response.json(), response.text
    return int(stream)


def test_latest_observation_expand_uses_the_newest_by_phenomenon_time(sta) -> None:  # type: ignore[no-untyped-def]
    """A late (older) Observation written last never becomes the expanded latest one."""
    busy = _stream_with(sta, "busy", [("2024-05-01T10:00:00Z", 1), ("2024-05-01T12:00:00Z", 3),
                                      ("2024-05-01T11:00:00Z", 2)])
    single = _stream_with(sta, "single", [("2024-05-02T09:00:00Z", 7)])
    body = sta.get(f"Things?$expand=Datastreams($expand={LATEST};$count=true)").json()
    latest = {}
    for thing in body["value"]:
        for stream in thing["Datastreams"]:
            latest[stream["@iot.id"]] = stream
    assert [o["result"] for o in latest[busy]["Observations"]] == [3]
    assert "Observations@iot.nextLink" in latest[busy]
    assert [o["result"] for o in latest[single]["Observations"]] == [7]
    assert "Observations@iot.nextLink" not in latest[single]
    general = sta.get(f"Datastreams({busy})/Observations?$orderby=phenomenonTime desc"
                      "&$top=1").json()["value"]
    assert latest[busy]["Observations"] == general


def test_counts_come_from_materialised_columns_and_match_real_counts(sta) -> None:  # type: ignore[no-untyped-def]
    """$count on a Datastream's Observations and on all Observations equals the rows stored,
    also after a delete."""
    first = _stream_with(sta, "a", [(f"2024-05-01T{h:02d}:00:00Z", h) for h in range(5)])
    second = _stream_with(sta, "b", [("2024-05-01T10:00:00Z", 1)])
    assert sta.get(f"Datastreams({first})/Observations?$count=true").json()["@iot.count"] == 5
    assert sta.get("Observations?$count=true&$top=0").json()["@iot.count"] == 6
    victim = sta.get(f"Datastreams({first})/Observations?$top=1").json()["value"][0]
    assert sta.delete(f"Observations({victim['@iot.id']})").status_code in {200, 204}
    assert sta.get(f"Datastreams({first})/Observations?$count=true").json()["@iot.count"] == 4
    assert sta.get("Observations?$count=true").json()["@iot.count"] == 5
    filtered = sta.get("Observations?$count=true&$filter=result ge 2").json()["@iot.count"]
    assert filtered == 3
    assert sta.get(f"Datastreams({second})/Observations?$count=true").json()["@iot.count"] == 1


def test_ordering_ties_are_stable_across_pages(sta) -> None:  # type: ignore[no-untyped-def]
    """Observations with the same phenomenonTime page without repeats or gaps in both orders."""
    stream = _stream_with(sta, "ties", [("2024-05-01T10:00:00Z", n) for n in range(6)])
    for direction in ("asc", "desc"):
        seen = []
        for skip in range(0, 6, 2):
            page = sta.get(f"Datastreams({stream})/Observations?$orderby=phenomenonTime "
                           f"{direction}&$top=2&$skip={skip}").json()["value"]
            seen.extend(o["@iot.id"] for o in page)
        assert len(set(seen)) == 6
