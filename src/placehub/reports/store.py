"""Service requests: made from a report (attached to the nearest asset of the service's type,
with an alert opened on it), read in public and officer views, closed by an officer, by the
alert's resolution or by a done stop on a round, and stripped of personal data after the
retention period.

Status changes reach the reporter through ``service_request_notices`` (``notices``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from placehub.access.service import Principal
from placehub.access.tables import organisations
from placehub.access.visibility import visible_clause
from placehub.alerts import lifecycle
from placehub.alerts import store as alert_store
from placehub.alerts.rules import Rule
from placehub.alerts.tables import alert_rules, alerts
from placehub.errors import BadRequest, Forbidden, NotFound
from placehub.places.assign import representative_lonlat
from placehub.places.distance import metres_between
from placehub.reports.photos import CleanPhoto
from placehub.reports.services import BY_CODE, SERVICES, ServiceType, check_attributes, service_type
from placehub.reports.tables import service_request_notices, service_requests
from placehub.sta.tables import locations, thing_locations, things

# The alert rule reports open their alerts under (one per asset type, made on first use).
REPORT_RULE_KEY = "resident_report"
DESCRIPTION_MAX = 2000
# More links than this in a description is what spam looks like; a resident needs none.
MAX_LINKS = 2
LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# What GET requests returns without dates (the GeoReport v2 default).
DEFAULT_SPAN = timedelta(days=90)
DEFAULT_LIMIT = 1000


@dataclass(frozen=True)
class ReportRules:
    """How reports become requests (from the reports_* settings)."""

    attach_distance_m: float = 50.0
    mandatory_stops: bool = True
    organisation: str = ""

    @classmethod
    def from_settings(cls, settings: Any) -> ReportRules:
        return cls(float(settings.reports_attach_distance_m),
                   bool(settings.reports_mandatory_stops), str(settings.reports_organisation))


@dataclass
class NewReport:
    """A report as a resident or a posting system sent it."""

    service_code: str
    lon: float
    lat: float
    description: str = ""
    client: str = "web form"
    address_string: str | None = None
    postcode: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    photo: CleanPhoto | None = None
    media_url: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NearestAsset:
    thing_id: int
    name: str
    organisation_id: int
    visibility: str
    distance_m: float


def clean_text(text: str | None, name: str, limit: int) -> str:
    """Plain text as stored: control characters dropped, at most ``limit`` characters, and no
    more than ``MAX_LINKS`` links."""
    kept = "".join(ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " "
                   for ch in (text or "")).replace("\t", " ").strip()
    if len(kept) > limit:
        raise BadRequest(f"{name} is {len(kept)} characters long: use at most {limit}")
    if len(LINK.findall(kept)) > MAX_LINKS:
        raise BadRequest(f"{name} has more than {MAX_LINKS} web links: describe the problem "
                         "in words instead")
    return kept


def check_email(email: str | None) -> str | None:
    """A plausible e-mail address (or None when none was given)."""
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > 320 or not EMAIL.match(email):
        raise BadRequest(f"{email[:60]!r} is not an e-mail address: enter one like "
                         "name@example.com, or leave it out")
    return email


def check_position(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180
            and -90 <= lat <= 90):
        raise BadRequest(f"lat={lat} long={lon} is not a position: give WGS84 degrees, "
                         "latitude -90 to 90 and longitude -180 to 180")


def nearest_asset(conn: Connection, asset_type: str, lon: float, lat: float,
                  within_m: float) -> NearestAsset | None:
    """The asset of ``asset_type`` nearest (lon, lat), if one is within ``within_m`` metres."""
    dlat = within_m / 111_320.0
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    rows = conn.execute(
        select(things.c.id, things.c.name, things.c.organisation_id, things.c.visibility,
               locations.c.location)
        .join(thing_locations, thing_locations.c.thing_id == things.c.id)
        .join(locations, locations.c.id == thing_locations.c.location_id)
        .where(locations.c.min_x <= lon + dlon, locations.c.max_x >= lon - dlon,
               locations.c.min_y <= lat + dlat, locations.c.max_y >= lat - dlat,
               things.c.properties["asset_type"].as_string() == asset_type))
    best: NearestAsset | None = None
    for row in rows:
        position = representative_lonlat(row.location)
        if position is None:
            continue
        metres = metres_between((lon, lat), position)
        if metres <= within_m and (best is None or metres < best.distance_m):
            best = NearestAsset(int(row.id), row.name, int(row.organisation_id), row.visibility,
                                metres)
    return best


def answering_organisation(conn: Connection, slug: str) -> int | None:
    """The organisation that answers reports without an asset (the setting, else the first)."""
    query = select(organisations.c.id).order_by(organisations.c.id).limit(1)
    if slug:
        found = conn.execute(select(organisations.c.id).where(
            organisations.c.slug == slug)).scalar()
        if found is None:
            raise BadRequest(f"reports_organisation {slug!r} is not an organisation: set it to "
                             "one of 'placehub orgs list'")
        return int(found)
    first = conn.execute(query).scalar()
    return None if first is None else int(first)


def create_request(conn: Connection, report: NewReport, rules: ReportRules, now: datetime
                   ) -> int:
    """Store a report as an open service request; attach it and open its asset's alert."""
    service = service_type(report.service_code)
    check_position(report.lon, report.lat)
    attributes = check_attributes(service, report.attributes)
    description = clean_text(report.description, "description", DESCRIPTION_MAX)
    email = check_email(report.email)
    asset = (nearest_asset(conn, service.asset_type, report.lon, report.lat,
                           rules.attach_distance_m) if service.asset_type else None)
    organisation = (asset.organisation_id if asset else
                    answering_organisation(conn, rules.organisation))
    photo = report.photo
    request_id = int(conn.execute(insert(service_requests).values(
        service_code=service.code, status="open", description=description,
        lon=report.lon, lat=report.lat,
        address_string=clean_text(report.address_string, "address_string", 300) or None,
        postcode=report.postcode, attributes=attributes or None,
        thing_id=asset.thing_id if asset else None,
        distance_m=round(asset.distance_m, 1) if asset else None,
        mandatory_stop=bool(asset and service.fixed_by_round and rules.mandatory_stops),
        organisation_id=organisation, client=report.client[:200],
        media_url=(report.media_url or "").strip()[:1000] or None, email=email,
        first_name=clean_text(report.first_name, "first_name", 100) or None,
        last_name=clean_text(report.last_name, "last_name", 100) or None,
        phone=clean_text(report.phone, "phone", 50) or None,
        photo=photo.data if photo else None, photo_type=photo.media_type if photo else None,
        requested_at=now, updated_at=now,
    )).inserted_primary_key[0])  # type: ignore[index]
    if asset is not None:
        alert_id = _open_alert(conn, service, asset, request_id, description, now)
        conn.execute(update(service_requests).where(service_requests.c.id == request_id)
                     .values(alert_id=alert_id))
    return request_id


def report_rule(conn: Connection, asset_type: str, now: datetime) -> Rule:
    """The rule reports on assets of ``asset_type`` open their alerts under (made once)."""
    found = conn.execute(select(alert_rules.c.id).where(
        alert_rules.c.key == REPORT_RULE_KEY, alert_rules.c.asset_type == asset_type,
        alert_rules.c.thing_id.is_(None))).scalar()
    if found is None:
        found = alert_store.create_rule(
            conn, now, key=REPORT_RULE_KEY, name="Reported by a resident",
            kind="resident_report", params={}, asset_type=asset_type, severity="warning",
            auto_resolve=False)
    return alert_store.get_rule(conn, int(found))


def _subject(service_code: str, thing_id: int) -> str:
    return f"report:{service_code}:{thing_id}"


def _open_alert(conn: Connection, service: ServiceType, asset: NearestAsset, request_id: int,
                description: str, now: datetime) -> int:
    """Open the asset's alert for this kind of report, or add the report to the open one."""
    assert service.asset_type is not None
    rule = report_rule(conn, service.asset_type, now)
    subject = _subject(service.code, asset.thing_id)
    summary = f"report {request_id}" + (f": {description[:200]}" if description else "")
    opened = lifecycle.open_alerts(conn, [lifecycle.NewAlert(
        rule, subject, asset.thing_id, None, f"{service.name} reported by a resident",
        f"Reported {asset.distance_m:.0f} m from {asset.name}; {summary}", None, now,
        {"service_request_ids": [request_id], "service_code": service.code})], now)
    if opened:
        return opened[(rule.id, subject)]
    existing = conn.execute(select(alerts.c.id).where(
        alerts.c.rule_id == rule.id, alerts.c.subject == subject,
        lifecycle.UNRESOLVED)).scalar()
    assert existing is not None
    lifecycle.record(conn, int(existing), "reported_again", now, "residents", summary)
    return int(existing)


# --- closing -----------------------------------------------------------------------------------

def _close(conn: Connection, rows: list[Any], now: datetime, by: str, notes: str) -> list[int]:
    """Close open requests and queue a notice to each reporter who left an e-mail address."""
    rows = [row for row in rows if row.status == "open"]
    if not rows:
        return []
    ids = [int(row.id) for row in rows]
    conn.execute(update(service_requests).where(service_requests.c.id.in_(ids)).values(
        status="closed", status_notes=notes, closed_at=now, closed_by=by, updated_at=now))
    notices = [{
        "request_id": row.id, "target": row.email, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "created_at": now,
        "payload": {"event": "service_request.closed", "service_request_id": str(row.id),
                    "service_name": BY_CODE[row.service_code].name if row.service_code in
                    BY_CODE else row.service_code, "status": "closed",
                    "status_notes": notes, "updated_datetime": now.isoformat()},
    } for row in rows if row.email]
    if notices:
        conn.execute(insert(service_request_notices), notices)
    return ids


def close_request(conn: Connection, principal: Principal, request_id: int, now: datetime,
                  notes: str) -> None:
    """An officer closes a request with a note for the reporter; its alert is resolved too,
    which closes the other reports of the same problem on that asset."""
    row = request_row(conn, request_id)
    if row.organisation_id is None or not principal.can_write(row.organisation_id):
        raise Forbidden("closing a report needs an editor or admin of the council that "
                        "answers it")
    if row.status == "closed":
        raise BadRequest(f"report {request_id} is closed already")
    notes = clean_text(notes, "the note", 1000)
    if not notes:
        raise BadRequest("say what was done: the note is sent to the reporter")
    _close(conn, [row], now, principal.username, notes)
    if row.alert_id is not None:
        status = conn.execute(select(alerts.c.status).where(alerts.c.id == row.alert_id)
                              ).scalar()
        if status is not None and status != "resolved":
            lifecycle.resolve(conn, principal, int(row.alert_id), now,
                              f"report {request_id} closed: {notes}")


def on_alert_changes(conn: Connection, events: dict[str, list[int]], now: datetime) -> None:
    """Lifecycle listener: a resolved alert closes the open requests attached to it."""
    resolved = events.get("resolved") or []
    if not resolved:
        return
    rows = conn.execute(select(service_requests).where(
        service_requests.c.alert_id.in_(resolved), service_requests.c.status == "open")).all()
    if not rows:
        return
    how = {r.id: (r.resolved_by, r.resolution, r.resolve_note) for r in conn.execute(
        select(alerts.c.id, alerts.c.resolved_by, alerts.c.resolution, alerts.c.resolve_note)
        .where(alerts.c.id.in_({row.alert_id for row in rows})))}
    for row in rows:
        by, resolution, note = how.get(row.alert_id, ("council", None, None))
        day = now.date().isoformat()
        text = (f"Dealt with by the council on {day}: {note}" if resolution == "auto" and note
                else f"Dealt with by the council on {day}.")
        _close(conn, [row], now, by or "council", text)


def install() -> None:
    """Close requests when their alert is resolved (idempotent)."""
    if on_alert_changes not in lifecycle.LISTENERS:
        lifecycle.LISTENERS.append(on_alert_changes)


def asset_serviced(conn: Connection, thing_id: int, at: datetime, by: str) -> int:
    """A round visited the asset (a done stop): resolve the alerts of reports a visit puts
    right, which closes those reports. Returns how many alerts were resolved."""
    subjects = [_subject(s.code, thing_id) for s in SERVICES if s.fixed_by_round]
    open_ids = conn.execute(select(alerts.c.id).where(
        alerts.c.thing_id == thing_id, alerts.c.rule_key == REPORT_RULE_KEY,
        alerts.c.subject.in_(subjects), lifecycle.UNRESOLVED)).scalars().all()
    for alert_id in open_ids:
        lifecycle.resolve(conn, None, int(alert_id), at, f"visited on the round by {by}",
                          automatic=True)
    return len(open_ids)


def requested_stops(conn: Connection, organisation_id: int | None, asset_type: str
                    ) -> dict[int, str]:
    """Assets of ``asset_type`` with an open report asking for a visit: asset -> why."""
    codes = [s.code for s in SERVICES if s.fixed_by_round and s.asset_type == asset_type]
    query = (select(service_requests.c.id, service_requests.c.thing_id,
                    service_requests.c.service_code, service_requests.c.requested_at)
             .where(service_requests.c.status == "open",
                    service_requests.c.mandatory_stop.is_(True),
                    service_requests.c.thing_id.is_not(None),
                    service_requests.c.service_code.in_(codes))
             .order_by(service_requests.c.requested_at))
    if organisation_id is not None:
        query = query.where(service_requests.c.organisation_id == organisation_id)
    found: dict[int, str] = {}
    for row in conn.execute(query):
        found.setdefault(int(row.thing_id), (
            f"reported by a resident ({BY_CODE[row.service_code].name.lower()}, report "
            f"{row.id}, {row.requested_at.date().isoformat()})"))
    return found


# --- reading -----------------------------------------------------------------------------------

def request_row(conn: Connection, request_id: int) -> Any:
    row = conn.execute(select(service_requests).where(service_requests.c.id == request_id)
                       ).first()
    if row is None:
        raise NotFound(f"no report {request_id}: check the reference number")
    return row


def _agency_names(conn: Connection, rows: list[Any]) -> dict[int, str]:
    wanted = sorted({row.organisation_id for row in rows if row.organisation_id is not None})
    if not wanted:
        return {}
    return {int(i): n for i, n in conn.execute(
        select(organisations.c.id, organisations.c.name).where(organisations.c.id.in_(wanted)))}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def public_request(row: Any, agency: str | None) -> dict[str, Any]:
    """A request as anyone may read it (GeoReport v2 fields): no personal data, no photo."""
    service = BY_CODE.get(row.service_code)
    return {
        "service_request_id": str(row.id), "status": row.status,
        "status_notes": row.status_notes, "service_name": service.name if service else None,
        "service_code": row.service_code, "description": row.description or None,
        "agency_responsible": agency, "service_notice": None,
        "requested_datetime": _iso(row.requested_at), "updated_datetime": _iso(row.updated_at),
        "expected_datetime": None, "address": row.address_string, "address_id": None,
        "zipcode": row.postcode, "lat": row.lat, "long": row.lon, "media_url": None,
    }


def find_requests(conn: Connection, now: datetime, *, ids: list[int] | None = None,
                  service_codes: list[str] | None = None, start: datetime | None = None,
                  end: datetime | None = None, status: list[str] | None = None,
                  limit: int = DEFAULT_LIMIT, organisation_ids: set[int] | None = None
                  ) -> list[Any]:
    """Requests, newest first. Without ids or dates: the last 90 days (the spec's default)."""
    query = select(service_requests)
    if ids is not None:
        query = query.where(service_requests.c.id.in_(ids or [-1]))
    else:
        if start is None and end is None:
            start = now - DEFAULT_SPAN
        if start is not None:
            query = query.where(service_requests.c.requested_at >= start)
        if end is not None:
            query = query.where(service_requests.c.requested_at <= end)
    if service_codes:
        query = query.where(service_requests.c.service_code.in_(service_codes))
    if status:
        wrong = [s for s in status if s not in ("open", "closed")]
        if wrong:
            raise BadRequest(f"status {','.join(wrong)!r}: use open, closed or both")
        query = query.where(service_requests.c.status.in_(status))
    if organisation_ids is not None:
        query = query.where(service_requests.c.organisation_id.in_(sorted(organisation_ids)))
    return list(conn.execute(query.order_by(service_requests.c.requested_at.desc(),
                                            service_requests.c.id.desc()).limit(limit)))


def public_requests(conn: Connection, rows: list[Any]) -> list[dict[str, Any]]:
    names = _agency_names(conn, rows)
    return [public_request(row, names.get(row.organisation_id)) for row in rows]


def sees_personal_data(principal: Principal, row: Any) -> bool:
    """Whether ``principal`` may read the reporter's details: editors and admins of the
    council that answers the report."""
    return row.organisation_id is not None and principal.can_write(row.organisation_id)


def readable_asset_names(conn: Connection, principal: Principal, thing_ids: list[int | None]
                         ) -> dict[int, str]:
    """Names of the attached assets ``principal`` may read (a report on a restricted bin does
    not name it to those who may not see the bin)."""
    wanted = sorted({int(i) for i in thing_ids if i is not None})
    if not wanted:
        return {}
    return {int(i): str(n) for i, n in conn.execute(select(things.c.id, things.c.name).where(
        things.c.id.in_(wanted),
        visible_clause(principal, things.c.organisation_id, things.c.visibility)))}


def officer_request(conn: Connection, principal: Principal, request_id: int) -> dict[str, Any]:
    """A request with what officers need: the asset, the alert and (for those who may) the
    reporter's details and whether there is a photo."""
    row = request_row(conn, request_id)
    if row.organisation_id is None or row.organisation_id not in principal.member_of \
            and not principal.write_anywhere:
        raise NotFound(f"no report {request_id} for your council")
    result = public_request(row, _agency_names(conn, [row]).get(row.organisation_id))
    names = readable_asset_names(conn, principal, [row.thing_id])
    asset = ({"id": row.thing_id, "name": names[row.thing_id], "distance_m": row.distance_m}
             if row.thing_id in names else None)
    result.update(id=row.id, asset=asset, alert_id=row.alert_id,
                  mandatory_stop=row.mandatory_stop, client=row.client,
                  attributes=row.attributes or {}, closed_by=row.closed_by,
                  media_url=row.media_url, organisation_id=row.organisation_id,
                  personal_data_erased=row.personal_data_erased_at is not None)
    if sees_personal_data(principal, row):
        result["reporter"] = {"email": row.email, "first_name": row.first_name,
                              "last_name": row.last_name, "phone": row.phone}
        result["has_photo"] = row.photo is not None
    return result


def officer_requests(conn: Connection, principal: Principal, now: datetime,
                     status: list[str] | None = None, start: datetime | None = None,
                     end: datetime | None = None, limit: int = DEFAULT_LIMIT
                     ) -> list[dict[str, Any]]:
    """The requests of the principal's councils received from ``start`` (a year ago unless
    given) to before ``end``, newest first (no personal data: that is on each one)."""
    organisation_ids = None if principal.write_anywhere else set(principal.member_of)
    rows = find_requests(conn, now, status=status, organisation_ids=organisation_ids,
                         start=start or now - timedelta(days=365),
                         end=None if end is None else end - timedelta(microseconds=1),
                         limit=limit)
    names = _agency_names(conn, rows)
    asset_names = readable_asset_names(conn, principal, [r.thing_id for r in rows])
    return [{**public_request(row, names.get(row.organisation_id)), "id": row.id,
             "asset": asset_names.get(row.thing_id), "mandatory_stop": row.mandatory_stop}
            for row in rows]


def photo_of(conn: Connection, principal: Principal, request_id: int) -> tuple[bytes, str]:
    """A report's photo, for those who may read the reporter's details."""
    row = request_row(conn, request_id)
    if not sees_personal_data(principal, row):
        raise NotFound(f"no photo for report {request_id}")
    if row.photo is None:
        raise NotFound(f"report {request_id} has no photo"
                       + (" (erased after the retention period)"
                          if row.personal_data_erased_at else ""))
    return bytes(row.photo), str(row.photo_type or "application/octet-stream")


# --- retention ---------------------------------------------------------------------------------

def erase_personal_data(conn: Connection, now: datetime, retention_days: int) -> int:
    """Erase the reporter's details and photo of requests closed more than
    ``retention_days`` ago (the request stays); returns how many were erased."""
    if retention_days < 0:
        raise BadRequest("reports_retention_days must be 0 or more")
    cutoff = now - timedelta(days=retention_days)
    due = [int(i) for i in conn.execute(select(service_requests.c.id).where(
        service_requests.c.status == "closed", service_requests.c.closed_at <= cutoff,
        service_requests.c.personal_data_erased_at.is_(None))).scalars()]
    if not due:
        return 0
    for start in range(0, len(due), 500):
        chunk = due[start:start + 500]
        conn.execute(update(service_requests).where(service_requests.c.id.in_(chunk)).values(
            email=None, first_name=None, last_name=None, phone=None, photo=None,
            photo_type=None, personal_data_erased_at=now))
        # Notices hold the address too.
        conn.execute(delete(service_request_notices).where(
            service_request_notices.c.request_id.in_(chunk)))
    return len(due)
