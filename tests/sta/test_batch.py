"""Batch requests (OGC 18-088 req/batch-request) in the OData 4.01 JSON format."""

from __future__ import annotations

from tests.sta.conftest import oven


def test_batch_runs_requests_in_order_with_references(sta) -> None:  # type: ignore[no-untyped-def]
    """Reads and writes answer in order; $1 addresses what request 1 created."""
    response = sta.post("$batch", {"requests": [
        {"id": "1", "method": "post", "url": "Things", "body": oven("batch oven")},
        {"id": "2", "method": "get", "url": "$1/Datastreams", "dependsOn": ["1"]},
        {"id": "3", "method": "patch", "url": "$1", "body": {"name": "renamed"},
         "dependsOn": ["1"]},
        {"id": "4", "method": "get", "url": "Things(999999)"},
        {"id": "5", "method": "get", "url": "$4/Datastreams", "dependsOn": ["4"]},
    ]})
    assert response.status_code == 200, response.text
    answers = response.json()["responses"]
    assert [a["id"] for a in answers] == ["1", "2", "3", "4", "5"]
    assert [a["status"] for a in answers] == [201, 200, 200, 404, 424]
    assert answers[0]["headers"]["location"].endswith(f"Things({answers[0]['body']['@iot.id']})")
    assert answers[1]["body"]["value"][0]["name"] == "batch oven temperature"
    assert answers[2]["body"]["name"] == "renamed"


def test_atomicity_group_is_all_or_nothing(sta) -> None:  # type: ignore[no-untyped-def]
    """A failing change rolls back the whole atomicity group; a good group is kept."""
    before = sta.get("Things?$count=true").json()["@iot.count"]
    failing = sta.post("$batch", {"requests": [
        {"id": "a", "method": "post", "url": "Things", "atomicityGroup": "g",
         "body": {"name": "kept?", "description": "no"}},
        {"id": "b", "method": "post", "url": "Things", "atomicityGroup": "g",
         "body": {"description": "no name"}},
    ]}).json()["responses"]
    assert [r["status"] for r in failing] == [400, 400]
    assert sta.get("Things?$count=true").json()["@iot.count"] == before
    good = sta.post("$batch", {"requests": [
        {"id": "a", "method": "post", "url": "Things", "atomicityGroup": "g",
         "body": {"name": "one", "description": "d"}},
        {"id": "b", "method": "post", "url": "$a/Datastreams", "atomicityGroup": "g",
         "dependsOn": ["a"], "body": oven()["Datastreams"][0]},
        {"id": "c", "method": "get", "url": "$a/Datastreams", "dependsOn": ["b"]},
    ]}).json()["responses"]
    assert [r["status"] for r in good] == [201, 201, 200]
    assert good[2]["body"]["value"][0]["name"] == "oven temperature"


def test_malformed_batches_are_400(sta) -> None:  # type: ignore[no-untyped-def]
    """Bodies that are not JSON batches, or reference unknown requests, are 400s."""
    assert sta.post("$batch", [1, 2]).status_code == 400
    assert sta.post("$batch", {"requests": [{"id": "1", "method": "fly", "url": "x"}]}
                    ).status_code == 400
    assert sta.post("$batch", {"requests": [{"id": "1", "method": "get", "url": "Things",
                                             "dependsOn": ["0"]}]}).status_code == 400
