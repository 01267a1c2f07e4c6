"""The audit trail: one entry per SensorThings write or access change, in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from placehub.access import audit, service
from placehub.access.tables import audit_log
from placehub.db import Database
from placehub.errors import BadRequest, Forbidden, Unauthorized
from placehub.sta import writes
from tests.access.conftest import Council, bearer
from tests.sta.conftest import oven

STA = "/sta/v1.1"


def entries(database: Database, **filters: Any) -> list[dict[str, Any]]:
    """Every audit entry (oldest first), optionally only those with the given column values."""
    with database.connect() as conn:
        rows = audit.list_entries(conn, audit.AuditQuery(limit=audit.MAX_LIMIT))
    return [r for r in reversed(rows) if all(r[k] == v for k, v in filters.items())]


def sta_entries(database: Database) -> list[dict[str, Any]]:
    """Audit entries of SensorThings entities (not of users, tokens, organisations)."""
    return [e for e in entries(database)
            if e["entity"] not in {"Organisation", "User", "ApiToken"}]


def test_each_sta_write_is_one_entry_with_actor_and_owner(
    client: TestClient, database: Database, rutland: Council
) -> None:
    """A deep insert, a PATCH, a JSON Patch and a DELETE each add one entry naming the editor,
    the action, the entity and the owning organisation."""
    headers = bearer(rutland.editor)
    created = client.post(f"{STA}/Things", json=oven("Bin OAK-001"), headers=headers)
    assert created.status_code == 201, created.text
    thing = created.json()["@iot.id"]
    [create] = sta_entries(database)
    assert (create["actor"], create["action"], create["entity"], create["entity_id"]) == (
        "rutland-editor", "create", "Thing", str(thing))
    assert create["organisation_id"] == rutland.id
    assert create["detail"] == {"path": "Things"}

    assert client.patch(f"{STA}/Things({thing})", json={"name": "Bin OAK-002"},
                        headers=headers).status_code == 200
    assert client.patch(
        f"{STA}/Things({thing})", content=b'[{"op": "replace", "path": "/description", '
        b'"value": "Litter bin, Market Place"}]',
        headers={**headers, "Content-Type": "application/json-patch+json"},
    ).status_code == 200
    datastream = client.get(f"{STA}/Things({thing})/Datastreams", headers=headers).json()["value"][0]["@iot.id"]
    assert client.delete(f"{STA}/Datastreams({datastream})", headers=headers).status_code == 200

    rows = sta_entries(database)
    assert [(r["action"], r["entity"], r["entity_id"]) for r in rows] == [
        ("create", "Thing", str(thing)),
        ("update", "Thing", str(thing)),
        ("update", "Thing", str(thing)),
        ("delete", "Datastream", str(datastream)),
    ]
    assert rows[1]["detail"]["members"] == ["name"]
    assert rows[2]["detail"]["members"] == ["/description"]
    assert {r["organisation_id"] for r in rows} == {rutland.id}


def test_ref_links_are_recorded_on_the_parent(
    client: TestClient, database: Database, rutland: Council
) -> None:
    """Adding, replacing and removing $ref links record link, relink and unlink on the parent."""
    headers = bearer(rutland.editor)
    thing = client.post(f"{STA}/Things", json=oven("Bin OAK-003"), headers=headers).json()
    location = client.post(f"{STA}/Locations", headers=headers, json={
        "name": "Catmose Street", "description": "Outside the council offices",
        "encodingType": "application/geo+json",
        "location": {"type": "Point", "coordinates": [-0.7236, 52.6697]},
    }).json()["@iot.id"]
    sensor = client.post(f"{STA}/Sensors", headers=headers, json={
        "name": "Dragino LDDS75", "description": "Ultrasonic distance",
        "encodingType": "application/pdf", "metadata": "https://www.dragino.com/",
    }).json()["@iot.id"]
    thing_id = thing["@iot.id"]
    datastream = client.get(f"{STA}/Things({thing_id})/Datastreams", headers=headers).json()["value"][0]["@iot.id"]

    assert client.post(f"{STA}/Things({thing_id})/Locations/$ref", json={"@iot.id": location},
                       headers=headers).status_code == 204
    assert client.put(f"{STA}/Datastreams({datastream})/Sensor/$ref", json={"@iot.id": sensor},
                      headers=headers).status_code == 200
    assert client.delete(f"{STA}/Things({thing_id})/Locations({location})/$ref",
                         headers=headers).status_code == 200

    links = [e for e in sta_entries(database) if e["action"] in {"link", "relink", "unlink"}]
    assert [(e["action"], e["entity"], e["entity_id"], e["detail"]["link"]) for e in links] == [
        ("link", "Thing", str(thing_id), {"navigation": "Locations", "id": location}),
        ("relink", "Datastream", str(datastream), {"navigation": "Sensor", "id": sensor}),
        ("unlink", "Thing", str(thing_id), {"navigation": "Locations", "id": location}),
    ]
    assert {e["organisation_id"] for e in links} == {rutland.id}


def test_refused_write_leaves_no_entry(
    client: TestClient, database: Database, rutland: Council, sutton: Council
) -> None:
    """A write refused with 403 is rolled back together with its audit entry."""
    thing = client.post(f"{STA}/Things", json=oven("Bin OAK-004"),
                        headers=bearer(rutland.editor)).json()["@iot.id"]
    before = len(sta_entries(database))
    response = client.delete(f"{STA}/Things({thing})", headers=bearer(sutton.editor))
    assert response.status_code in {403, 404}
    response = client.patch(f"{STA}/Things({thing})", json={"name": "x"},
                            headers=bearer(rutland.viewer))
    assert response.status_code == 403
    assert len(sta_entries(database)) == before


def test_new_observations_are_not_recorded_but_corrections_are(
    client: TestClient, database: Database, rutland: Council
) -> None:
    """Creating Observations (one POST or inside a deep insert) adds no entry; changing or
    deleting one does."""
    headers = bearer(rutland.editor)
    thing = client.post(f"{STA}/Things", json=oven("Bin OAK-005", observations=3),
                        headers=headers).json()["@iot.id"]
    datastream = client.get(f"{STA}/Things({thing})/Datastreams", headers=headers).json()["value"][0]["@iot.id"]
    observation = client.post(f"{STA}/Datastreams({datastream})/Observations", headers=headers,
                              json={"phenomenonTime": "2024-05-02T08:00:00Z", "result": 41})
    assert observation.status_code == 201
    assert [e["entity"] for e in sta_entries(database)] == ["Thing"]

    observation_id = observation.json()["@iot.id"]
    assert client.patch(f"{STA}/Observations({observation_id})", json={"result": 14},
                        headers=headers).status_code == 200
    assert client.delete(f"{STA}/Observations({observation_id})",
                         headers=headers).status_code == 200
    corrections = [e for e in sta_entries(database) if e["entity"] == "Observation"]
    assert [(e["action"], e["entity_id"]) for e in corrections] == [
        ("update", str(observation_id)), ("delete", str(observation_id))]
    assert {e["organisation_id"] for e in corrections} == {rutland.id}


def test_programmatic_writes_are_recorded(database: Database, rutland: Council) -> None:
    """create_entity / update_entity / delete_entity (device registration, the demo) record
    entries in the caller's transaction."""
    with database.begin() as conn:
        principal = service.principal_for_token(conn, rutland.editor)
        sensor = writes.create_entity(conn, principal, "Sensors", {
            "name": "Milesight EM310-UDL", "description": "Ultrasonic distance sensor",
            "encodingType": "application/pdf", "metadata": "https://www.milesight.com/"})
        writes.update_entity(conn, principal, "Sensors", sensor, {"name": "EM310-UDL v2"})
        writes.delete_entity(conn, principal, "Sensors", sensor)
    rows = sta_entries(database)
    assert [(r["action"], r["entity"], r["entity_id"]) for r in rows] == [
        ("create", "Sensor", str(sensor)), ("update", "Sensor", str(sensor)),
        ("delete", "Sensor", str(sensor))]


def test_access_changes_are_recorded(database: Database) -> None:
    """Organisations, users, roles, partners and tokens changes are recorded with their actor,
    organisation and the account they concern."""
    with database.begin() as conn:
        rutland = service.create_organisation(conn, "rutland", "Rutland County Council",
                                              actor="cli:ops")
        leics = service.create_organisation(conn, "leicestershire", "Leicestershire CC")
        ann = service.create_user(conn, "ann", password="correct horse", actor="cli:ops")
        service.grant_role(conn, ann, rutland, "editor", actor="cli:ops")
        service.grant_role(conn, ann, rutland, "admin", actor="cli:ops")
        service.add_partner(conn, rutland, leics, actor="cli:ops")
        token = service.create_token(conn, ann, "laptop", actor="ann")
        assert service.revoke_token(conn, token[:10], actor="ann") == 1
        assert service.revoke_token(conn, token[:10], actor="ann") == 0  # nothing left to revoke
    rows = entries(database, actor="cli:ops") + entries(database, actor="ann")
    assert [(r["action"], r["entity"], r["entity_id"]) for r in rows] == [
        ("create", "Organisation", "rutland"),
        ("create", "User", "ann"),
        ("grant_role", "User", str(ann)),
        ("grant_role", "User", str(ann)),
        ("add_partner", "Organisation", str(rutland)),
        ("create", "ApiToken", token[:10]),
        ("revoke", "ApiToken", token[:10]),
    ]
    assert rows[3]["detail"] == {"role": "admin", "previous": "editor"}
    assert rows[1]["detail"] == {"password": True}  # that there is one, never the password
    assert all(token not in str(r["detail"]) for r in rows)
    assert [r["subject_user_id"] for r in rows[1:4]] == [ann, ann, ann]
    assert rows[2]["organisation_id"] == rutland and rows[4]["organisation_id"] == rutland
    assert entries(database, actor="system")[0]["entity_id"] == "leicestershire"


def test_admins_read_their_organisations_entries_only(
    database: Database, rutland: Council, sutton: Council
) -> None:
    """An admin reads entries of its organisation and about its members' accounts, not another
    council's; editors, viewers and anonymous readers are refused."""
    with database.connect() as conn:
        admin = service.principal_for_token(conn, rutland.admin)
        editor = service.principal_for_token(conn, rutland.editor)
        readable = audit.list_entries(conn, audit.AuditQuery(limit=1000), admin)
    assert readable
    assert all(e["organisation_id"] == rutland.id
               or e["subject_user_id"] in set(rutland.user_ids.values()) for e in readable)
    assert not any(str(e["entity_id"]).startswith("sutton") for e in readable)
    assert {e["entity_id"] for e in readable if e["entity"] == "User"
            and e["action"] == "create"} == {"rutland-admin", "rutland-editor", "rutland-viewer"}
    audit.require_audit_reader(admin)
    with pytest.raises(Forbidden):
        audit.require_audit_reader(editor)
    with pytest.raises(Unauthorized):
        audit.require_audit_reader(service.ANONYMOUS)


def test_query_filters_and_validation(database: Database, rutland: Council) -> None:
    """Filters by entity, actor and time combine; a bad limit or a naive time is a 400."""
    with database.begin() as conn:
        audit.record(conn, "cli:ops", "import", "Boundary", "E05000001", {"rows": 9},
                     "wards 2013", organisation_id=rutland.id)
    with database.connect() as conn:
        found = audit.list_entries(conn, audit.AuditQuery(entity="Boundary", actor="cli:ops"))
        assert [(e["entity_id"], e["note"], e["detail"]) for e in found] == [
            ("E05000001", "wards 2013", {"rows": 9})]
        later = datetime.now(UTC) + timedelta(minutes=1)
        assert audit.list_entries(conn, audit.AuditQuery(since=later)) == []
        assert audit.list_entries(conn, audit.AuditQuery(until=later, entity="Boundary"))
        total = conn.execute(select(func.count()).select_from(audit_log)).scalar_one()
        page = audit.list_entries(conn, audit.AuditQuery(limit=2))
        rest = audit.list_entries(conn, audit.AuditQuery(before_id=page[-1]["id"], limit=1000))
        assert len(page) + len(rest) == total
        assert [e["id"] for e in page + rest] == sorted((e["id"] for e in page + rest),
                                                        reverse=True)
    with pytest.raises(BadRequest, match="limit"):
        audit.AuditQuery(limit=0)
    with pytest.raises(BadRequest, match="timezone"):
        audit.AuditQuery(since=datetime(2026, 1, 1))
