"""The read audit: reads of data that is not public are recorded once per request and
Datastream; public and anonymous reads are not; admins see their organisations' reads."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.db import Database
from placehub.governance.tables import read_audit
from tests.governance.conftest import bearer


def _rows(database: Database) -> list[dict[str, object]]:
    with database.connect() as conn:
        return [dict(r) for r in conn.execute(select(read_audit).order_by(read_audit.c.id))
                .mappings()]


def test_an_editor_reading_a_restricted_datastream_is_recorded_once_per_request(
        client: TestClient, database: Database, hub: dict) -> None:
    """Reading 24 Observations of a restricted Datastream adds one audit row saying who, which
    Datastream, its class and the request; reading the public one adds none."""
    editor = bearer(hub["tokens"]["rutland-editor"])
    stream = hub["restricted"]["datastream"]
    response = client.get(f"/sta/v1.1/Datastreams({stream})/Observations?$top=100",
                          headers=editor)
    assert response.status_code == 200 and len(response.json()["value"]) == 24
    rows = _rows(database)
    assert len(rows) == 1
    row = rows[0]
    assert row["actor"] == "rutland-editor" and row["channel"] == "sta"
    assert row["datastream_id"] == stream and row["thing_id"] == hub["restricted"]["thing"]
    assert row["data_class"] == "restricted"
    assert str(row["context"]).startswith(f"GET /sta/v1.1/Datastreams({stream})/Observations")

    public = hub["public"]["datastream"]
    assert client.get(f"/sta/v1.1/Datastreams({public})/Observations",
                      headers=editor).status_code == 200
    assert client.get(f"/sta/v1.1/Datastreams({public})/Observations").status_code == 200
    assert len(_rows(database)) == 1


def test_things_expanded_with_datastreams_record_each_restricted_stream(
        client: TestClient, database: Database, hub: dict) -> None:
    """A Things listing with $expand records the restricted Datastream read, not the public
    one, and an anonymous listing (public data only) records nothing."""
    assert client.get("/sta/v1.1/Things?$expand=Datastreams/Observations").status_code == 200
    assert _rows(database) == []
    response = client.get("/sta/v1.1/Things?$expand=Datastreams",
                          headers=bearer(hub["tokens"]["rutland-editor"]))
    names = {t["name"] for t in response.json()["value"]}
    assert "Bin Q7" in names
    rows = _rows(database)
    assert [(r["thing_id"], r["datastream_id"]) for r in rows] == [
        (hub["restricted"]["thing"], hub["restricted"]["datastream"])]
    classes = {d["@placehub.dataClass"] for t in response.json()["value"]
               for d in t["Datastreams"]}
    assert classes == {"restricted", "public"}


def test_the_asset_api_and_export_record_their_channel(
        client: TestClient, database: Database, hub: dict) -> None:
    """The asset API and the CSV export of a restricted bin are recorded as 'api' and
    'export'; the CSV carries the data class."""
    editor = bearer(hub["tokens"]["rutland-editor"])
    thing, stream = hub["restricted"]["thing"], hub["restricted"]["datastream"]
    detail = client.get(f"/api/assets/{thing}", headers=editor)
    assert detail.status_code == 200
    assert detail.json()["data_classes"] == {str(stream): "restricted"}
    export = client.get(f"/assets/{thing}/history/{stream}.csv?days=30", headers=editor)
    assert export.status_code == 200, export.text
    assert export.text.splitlines()[0].endswith(",data_class")
    assert export.headers["x-data-class"] == "restricted"
    assert [r["channel"] for r in _rows(database)] == ["api", "export"]


def test_the_map_table_export_carries_data_classes_and_records_what_is_not_public(
        client: TestClient, database: Database, hub: dict) -> None:
    """An editor's /map.csv has a data_class column and adds one 'export' row for the
    restricted bin (not the public one); the anonymous /public/map.csv adds none."""
    import csv
    import io

    response = client.get("/map.csv", headers=bearer(hub["tokens"]["rutland-editor"]))
    assert response.status_code == 200, response.text
    classes = {int(r["id"]): r["data_class"]
               for r in csv.DictReader(io.StringIO(response.text))}
    assert classes == {hub["restricted"]["thing"]: "restricted",
                       hub["public"]["thing"]: "public"}
    rows = _rows(database)
    assert [(r["channel"], r["thing_id"], r["datastream_id"], r["data_class"], r["actor"])
            for r in rows] == [("export", hub["restricted"]["thing"], None, "restricted",
                                "rutland-editor")]
    public = client.get("/public/map.csv")
    assert public.status_code == 200
    assert [r["data_class"] for r in csv.DictReader(io.StringIO(public.text))] == ["public"]
    assert len(_rows(database)) == 1


def test_the_map_page_and_its_layer_record_what_is_not_public(
        client: TestClient, database: Database, hub: dict) -> None:
    """An editor's map page (its table rows) and the map's asset layer each add a row for the
    restricted bin and none for the public one; the layer sent again as 304, the public
    layer and the anonymous public map add none."""
    editor = bearer(hub["tokens"]["rutland-editor"])
    restricted = hub["restricted"]["thing"]
    page = client.get("/map", headers=editor)
    assert page.status_code == 200 and "Bin Q7" in page.text
    layer = client.get("/geo/assets.geojson", headers=editor)
    assert layer.status_code == 200
    assert restricted in {f["id"] for f in layer.json()["features"]}
    assert [(r["channel"], r["thing_id"], r["data_class"], str(r["context"]))
            for r in _rows(database)] == [
        ("page", restricted, "restricted", "GET /map"),
        ("api", restricted, "restricted", "GET /geo/assets.geojson")]
    again = client.get("/geo/assets.geojson",
                       headers={**editor, "If-None-Match": layer.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/geo/assets.geojson?public=true", headers=editor).status_code == 200
    assert client.get("/public/map").status_code == 200
    assert len(_rows(database)) == 2


def test_admins_see_their_organisations_reads_and_the_who_looked_report(
        client: TestClient, database: Database, hub: dict) -> None:
    """Rutland's admin lists the reads and the per-Datastream report; Sutton's admin sees none
    of them; a viewer is refused and an anonymous caller must sign in."""
    editor = bearer(hub["tokens"]["rutland-editor"])
    stream = hub["restricted"]["datastream"]
    for _ in range(3):
        client.get(f"/sta/v1.1/Datastreams({stream})", headers=editor)
    admin = bearer(hub["tokens"]["rutland-admin"])
    listed = client.get(f"/api/read-audit?datastream_id={stream}", headers=admin).json()
    assert len(listed["value"]) == 3
    report = client.get(f"/api/read-audit/who-looked?datastream_id={stream}",
                        headers=admin).json()["value"]
    assert [(r["actor"], r["channel"], r["reads"]) for r in report] == [
        ("rutland-editor", "sta", 3)]
    assert client.get("/api/read-audit", headers=bearer(
        hub["tokens"]["sutton-admin"])).json()["value"] == []
    assert client.get("/api/read-audit", headers=bearer(
        hub["tokens"]["rutland-viewer"])).status_code == 403
    assert client.get("/api/read-audit").status_code == 401
    assert client.get("/api/read-audit/who-looked", headers=admin).status_code == 400
    assert client.get("/api/read-audit?since=yesterday", headers=admin).status_code == 400
    with database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(read_audit)).scalar() == 3
