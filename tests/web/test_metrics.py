"""/metrics: Prometheus text with requests by route template and status, and write counters."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from placehub import __version__
from placehub.access import service
from placehub.db import Database
from tests.sta.conftest import oven


def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}, parsed as Prometheus does."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def requests(samples: dict, route: str, status: str, method: str = "GET") -> float:  # type: ignore[type-arg]
    """The request counter for one method, route template and status (0 if never seen)."""
    labels = (("method", method), ("route", route), ("status", status))
    return samples.get(("placehub_http_requests_total", labels), 0.0)  # type: ignore[no-any-return]


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    """Requests to different ids count under one route template; unknown URLs under one label;
    latency histograms count the same requests."""
    for path in ("/sta/v1.1/Things", "/sta/v1.1/Things(1)", "/sta/v1.1/Things(2)", "/api/me",
                 "/no/such/page", "/another/missing/page"):
        client.get(path)
    samples = scrape(client)
    sta = "/sta/v1.1/{path:path}"
    assert requests(samples, sta, "200") == 1
    assert requests(samples, sta, "404") == 2
    assert requests(samples, "/api/me", "200") == 1
    assert requests(samples, "<unmatched>", "404") == 2
    assert not any("Things(1)" in str(key) or "missing" in str(key) for key in samples)
    count = samples[("placehub_http_request_duration_seconds_count",
                     (("method", "GET"), ("route", sta), ("status", "404")))]
    assert count == 2
    assert samples[("placehub_build_info", (("database", client.app.state.database.dialect),
                                            ("version", __version__)))] == 1


def test_error_statuses_are_labelled(client: TestClient) -> None:
    """A 401, a 405 and a 501 are each counted with their own status."""
    client.post("/sta/v1.1/Things", json=oven("Bin OAK-020"))
    client.post("/sta/v1.1", json={})
    client.get("/sta/v1.1/Things", params={"$search": "bin"})
    samples = scrape(client)
    assert requests(samples, "/sta/v1.1/{path:path}", "401", "POST") == 1
    assert requests(samples, "/sta/v1.1", "405", "POST") == 1
    assert requests(samples, "/sta/v1.1/{path:path}", "501") == 1


def test_observations_written_are_counted_from_events(
    client: TestClient, database: Database
) -> None:
    """Observations and Things written through any path are counted via the event bus."""
    with database.begin() as conn:
        org = service.create_organisation(conn, "rutland", "Rutland County Council")
        user = service.create_user(conn, "metrics-editor")
        service.grant_role(conn, user, org, "editor")
        token = service.create_token(conn, user)
    headers = {"Authorization": f"Bearer {token}"}
    before = scrape(client)
    assert before[("placehub_observations_written_total", ())] == 0
    response = client.post("/sta/v1.1/Things", json=oven("Bin OAK-021", observations=5),
                           headers=headers)
    assert response.status_code == 201, response.text
    after = scrape(client)
    assert after[("placehub_observations_written_total", ())] == 5
    assert after[("placehub_things_changed_total", ())] >= 1


def test_apps_sharing_a_database_do_not_double_count(client: TestClient,
                                                     database: Database) -> None:
    """The event subscriptions last as long as the app runs, so stopped apps stop counting."""
    from placehub.web.app import create_app

    other = create_app(client.app.state.settings, database=database)
    with TestClient(other):
        pass  # started and stopped: must have unsubscribed
    database.events.publish("observations.written", [object(), object()])
    assert scrape(client)[("placehub_observations_written_total", ())] == 2
    exposition = other.state.metrics.exposition().decode()
    assert "placehub_observations_written_total 0.0" in exposition
