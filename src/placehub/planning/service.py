"""Planning jobs as the API, CLI and pages run them: read the inputs (database, OSM extract,
road network), compute, apply the access rules, and record the run.

Access: property-level lists are for council officers; everyone else gets counts of homes with
disclosure control (placehub.insight.disclosure). Sites from OpenStreetMap are public; assets
are those the reader may see.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import mapping
from sqlalchemy import Connection, select

from placehub import csv_cells
from placehub.access.service import Principal
from placehub.alerts.lifecycle import NewAlert, get_alert, open_alerts, resolve
from placehub.alerts.rules import Rule
from placehub.alerts.store import create_rule, get_rule
from placehub.alerts.tables import alert_rules, alerts
from placehub.area import area_files
from placehub.config import Settings
from placehub.db import Database
from placehub.errors import BadRequest
from placehub.governance.runs import record_run
from placehub.insight.disclosure import SUPPRESSED_MARK, disclose_count, disclosure_note
from placehub.places.distance import LonLat
from placehub.places.osm import read_places
from placehub.places.roads import RoadNetwork, distance_source, file_fingerprint
from placehub.planning import catchments, hazards, parking, tariffs
from placehub.planning.features import (
    FACILITY_KINDS,
    VULNERABLE_KINDS,
    Feature,
    of_kinds,
    read_feature_layer,
    read_feature_layer_data,
    read_osm_features,
)
from placehub.planning.runs import digest, kept_record, network_input, run_record
from placehub.planning.store import load_assets, load_bays, load_properties, may_list_properties
from placehub.sta.tables import things


def keep_run(database: Database, result: dict[str, Any], principal: Principal,
             seconds: float) -> dict[str, Any]:
    """Keep the job's run record in the hub (as round plans keep theirs), in a short
    transaction of its own after the job; the result's ``run`` gets the record's id."""
    with database.begin() as conn:
        result["run"]["id"] = record_run(conn, kept_record(result, principal, seconds))
    return result


def road_network(settings: Settings) -> RoadNetwork | None:
    """The cached road network (``placehub load roads``), or None when it is not loaded."""
    source = distance_source(Path(settings.road_network_file))
    return source if isinstance(source, RoadNetwork) else None


def require_road_network(settings: Settings) -> RoadNetwork:
    """The road network, or a message saying how to load it."""
    network = road_network(settings)
    if network is None:
        raise BadRequest("no road network loaded: run 'placehub load roads <extract.osm.pbf>'")
    return network


def osm_extract(settings: Settings) -> Path:
    """The area's OpenStreetMap extract."""
    return area_files(settings).roads


def osm_features(settings: Settings, layer: str | Path | None = None) -> list[Feature]:
    """Features of the area's OSM extract, plus a council layer when one is given."""
    extract = osm_extract(settings)
    found = read_osm_features(extract) if extract.exists() else []
    if layer:
        found += read_feature_layer(layer)
    return found


def parse_lonlat(text: str | None) -> LonLat | None:
    """"lon,lat" as numbers, or a message saying what to give."""
    if text is None or not str(text).strip():
        return None
    try:
        lon, lat = (float(part) for part in str(text).split(","))
    except ValueError:
        raise BadRequest(f"{text!r}: give longitude,latitude, e.g. -0.7247,52.6697") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequest(f"{text!r} is not a longitude,latitude pair")
    return (lon, lat)


# The Thing property naming the area a river or flood sensor watches: a GeoJSON Feature (or
# geometry) whose ``name`` property names the area.
HAZARD_AREA_PROPERTY = "hazard_area"


def area_from_alert(conn: Connection, principal: Principal, alert_id: int) -> hazards.HazardArea:
    """The area a sensor alert opens: the ``hazard_area`` of the alert's sensor Thing, named
    after it and the alert."""
    alert = get_alert(conn, principal, alert_id)
    properties = conn.execute(select(things.c.properties).where(
        things.c.id == alert["thing_id"])).scalar()
    watched = properties.get(HAZARD_AREA_PROPERTY) if isinstance(properties, dict) else None
    if not watched:
        raise BadRequest(f"alert {alert_id} is on a sensor with no hazard area: give the sensor "
                         f"a '{HAZARD_AREA_PROPERTY}' property (a GeoJSON Feature with a name)")
    area = hazards.read_area(watched, source="alert")
    return hazards.HazardArea(f"{area.name} (alert {alert_id}: {alert['title']})",
                              area.geometry, "alert", area.code or f"alert:{alert_id}")


def _count(value: int, exact: bool) -> int | str:
    if exact:
        return value
    disclosed = disclose_count(value)
    return SUPPRESSED_MARK if disclosed is None else disclosed


def hazard_job(conn: Connection, settings: Settings, principal: Principal,
               area: hazards.HazardArea, rest_centre: LonLat | None = None,
               site_layer: str | Path | None = None) -> dict[str, Any]:
    """Assess a hazard area for ``principal``: exact figures and lists for officers, disclosed
    counts for everyone else."""
    properties = load_properties(conn)
    sites = of_kinds(osm_features(settings, site_layer), [*VULNERABLE_KINDS, "site"])
    assets = load_assets(conn, principal)
    network = road_network(settings)
    if rest_centre is not None and network is None:
        raise BadRequest("routes to a rest centre need the road network: run "
                         "'placehub load roads <extract.osm.pbf>'")
    report = hazards.assess(area, properties, sites, assets, network, rest_centre)
    figures = hazards.summary(report, properties)
    officer = may_list_properties(principal)
    figures["properties"] = _count(figures["properties"], officer)
    figures["properties_by_source"] = {
        k: _count(v, officer) for k, v in figures["properties_by_source"].items()}
    if figures["routes"] is not None:
        for key in ("cut", "longer"):
            figures["routes"][key] = _count(figures["routes"][key], officer)
    extract = osm_extract(settings)
    result: dict[str, Any] = {
        **figures,
        "exact": officer,
        "disclosure": None if officer else disclosure_note(),
        "geometry": mapping(area.geometry),
        "sites": [s.as_dict() for s in report.sites_inside],
        "asset_list": [{"id": a.id, "name": a.name, "asset_type": a.asset_type,
                        "lon": a.lon, "lat": a.lat} for a in report.assets_inside],
        "closed_way_ids": [int(w) for w in report.closed_way_ids],
        "property_list": hazards.property_rows(report, properties) if officer else None,
        "run": run_record("hazard", {
            "area": {"name": area.name, "source": area.source, "code": area.code,
                     "digest": digest(mapping(area.geometry))},
            "rest_centre": list(rest_centre) if rest_centre else None,
            "property_points": len(properties), "sites": len(sites), "assets": len(assets),
            "osm_extract": {"path": str(extract), "fingerprint": file_fingerprint(extract)}
            if extract.exists() else None,
            "site_layer": str(site_layer) if site_layer else None,
            "road_network": network_input(network),
        }),
    }
    return result


HAZARD_CSV_COLUMNS = ("id", "ref", "source", "ward", "status", "lon", "lat", "minutes_before",
                      "minutes_after")


def hazard_csv(result: dict[str, Any]) -> str:
    """The CSV for a resilience forum: homes one per row for officers, else the counts."""
    out = io.StringIO()
    if result.get("property_list") is not None:
        writer = csv_cells.DictWriter(out, HAZARD_CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(result["property_list"])
        return out.getvalue()
    writer_ = csv_cells.writer(out)
    writer_.writerow(["measure", "value"])
    writer_.writerow(["homes inside", result["properties"]])
    for kind, count in result["vulnerable_sites"].items():
        writer_.writerow([f"vulnerable sites: {kind}", count])
    for kind, count in result["assets"].items():
        writer_.writerow([f"assets: {kind}", count])
    writer_.writerow(["roads closed (km)", result["roads_closed"]["km"]])
    if result["routes"]:
        writer_.writerow(["homes whose route is cut", result["routes"]["cut"]])
        writer_.writerow(["homes whose route is longer", result["routes"]["longer"]])
    if result.get("disclosure"):
        writer_.writerow(["note", result["disclosure"]])
    return out.getvalue()


def hazard_geojson(result: dict[str, Any]) -> dict[str, Any]:
    """The area, the sites and assets inside, and (for officers) the homes, as GeoJSON."""
    area_props = {k: result[k] for k in ("area", "properties", "vulnerable_sites", "assets",
                                         "roads_closed", "routes", "disclosure")}
    features: list[dict[str, Any]] = [
        {"type": "Feature", "geometry": result["geometry"],
         "properties": {"layer": "area", **area_props}}]
    for site in result["sites"]:
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
                         "properties": {"layer": "vulnerable site", **site}})
    for asset in result["asset_list"]:
        features.append({"type": "Feature", "geometry": {
            "type": "Point", "coordinates": [asset["lon"], asset["lat"]]},
            "properties": {"layer": "asset", **asset}})
    for row in result.get("property_list") or []:
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                         "properties": {"layer": "property", **row}})
    return {"type": "FeatureCollection", "features": features, "run": result["run"]}


# -- catchments ---------------------------------------------------------------------------------


def facilities_of(settings: Settings, kind: str, layer: dict[str, Any] | str | Path | None = None
                  ) -> list[Feature]:
    """Facilities of ``kind`` from the OSM extract, or all the features of a council layer
    (a GeoJSON file path or a parsed FeatureCollection)."""
    if layer is not None:
        if isinstance(layer, dict):
            return read_feature_layer_data(layer, kind)
        return read_feature_layer(layer, kind)
    if kind not in FACILITY_KINDS:
        raise BadRequest(f"facility kind {kind!r}: use one of {', '.join(FACILITY_KINDS)}, or "
                         "load a layer of your own")
    found = of_kinds(osm_features(settings), [kind])
    if not found:
        raise BadRequest(f"no {kind.replace('_', ' ')} in the OpenStreetMap extract: load a "
                         "layer of them")
    return found


def new_facility(entry: dict[str, Any], number: int, kind: str) -> Feature:
    """A facility to open from {"name", "lon", "lat"}."""
    try:
        lon, lat = float(entry["lon"]), float(entry["lat"])
    except (KeyError, TypeError, ValueError):
        raise BadRequest(f"new facility {number}: give name, lon and lat") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise BadRequest(f"new facility {number}: lon/lat out of range")
    return Feature(f"new:{number}", kind, str(entry.get("name") or f"New {kind} {number}"),
                   lon, lat)


def catchment_job(conn: Connection, settings: Settings, principal: Principal, kind: str,
                  method: str = "road", close: list[str] | None = None,
                  open_: list[dict[str, Any]] | None = None,
                  layer: dict[str, Any] | str | Path | None = None) -> dict[str, Any]:
    """Catchments of the facilities of ``kind``, and the change if some close or open."""
    if method not in {"road", "straight"}:
        raise BadRequest(f"method={method!r}: use road or straight")
    homes = load_properties(conn)
    facilities = facilities_of(settings, kind, layer)
    network = require_road_network(settings) if method == "road" else None
    opened = [new_facility(entry, n, kind) for n, entry in enumerate(open_ or [], start=1)]
    officer = may_list_properties(principal)
    try:
        if close or opened:
            change = catchments.what_if(homes, facilities, network, close or [], opened, method)
            built = change["after"]
        else:
            change = None
            built = catchments.build(homes, facilities, network, method)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    rows = catchments.table(built, homes)
    for row in rows:
        row["homes"] = _count(row["homes"], officer)
        row["people_estimate"] = _count(row["people_estimate"], officer)
        row["bands"] = {k: _count(v, officer) for k, v in row["bands"].items()}
    result: dict[str, Any] = {
        "kind": kind, "method": method, "facilities": rows,
        "bands": {k: _count(v, officer) for k, v in catchments.bands_total(built).items()},
        "people_per_home": catchments.PEOPLE_PER_HOME,
        "exact": officer, "disclosure": None if officer else disclosure_note(),
        "change": None, "homes": None,
    }
    if change is not None:
        result["change"] = {
            "closed": close or [], "opened": [f.as_dict() for f in opened],
            "homes_moved": _count(len(change["moved"]), officer),
            "flows": [{**f, "homes": _count(f["homes"], officer)} for f in change["flows"]],
            "wards": [{**w, "homes_moved": _count(w["homes_moved"], officer)}
                      for w in change["wards"]],
        }
    if officer:
        refs = [f.ref for f in built.facilities]
        result["homes"] = [
            {"id": int(homes.ids[i]), "ref": homes.refs[i], "ward": homes.wards[i],
             "lon": round(float(homes.lon[i]), 6), "lat": round(float(homes.lat[i]), 6),
             "facility": refs[j] if j >= 0 else "",
             "minutes": round(float(built.minutes[i]), 1) if j >= 0 else None}
            for i, j in enumerate(built.facility)]
    result["run"] = run_record("catchments", {
        "kind": kind, "method": method, "close": close or [],
        "open": [f.as_dict() for f in opened], "facilities": len(facilities),
        "facilities_digest": digest([f.as_dict() for f in facilities]),
        "property_points": len(homes), "road_network": network_input(network),
        "layer": "given" if layer is not None else "osm",
    })
    return result


CATCHMENT_CSV_COLUMNS = ("ref", "kind", "name", "lon", "lat", "homes", "people_estimate",
                         "median_minutes", "max_minutes")


def catchment_csv(result: dict[str, Any]) -> str:
    """Per facility: homes, people, minutes (disclosed counts for the public)."""
    out = io.StringIO()
    writer = csv_cells.DictWriter(out, CATCHMENT_CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(result["facilities"])
    return out.getvalue()


def catchment_geojson(result: dict[str, Any]) -> dict[str, Any]:
    """Facilities as points with their figures, and homes with their facility for officers."""
    features: list[dict[str, Any]] = []
    for row in result["facilities"]:
        features.append({"type": "Feature", "geometry": {
            "type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": {"layer": "facility", **row}})
    for home in result.get("homes") or []:
        features.append({"type": "Feature", "geometry": {
            "type": "Point", "coordinates": [home["lon"], home["lat"]]},
            "properties": {"layer": "home", **home}})
    return {"type": "FeatureCollection", "features": features, "run": result["run"]}


# -- parking ------------------------------------------------------------------------------------


def towns(settings: Settings) -> list[tuple[str, float, float]]:
    """Towns and villages of the area's extract (the zones car parks serve)."""
    extract = osm_extract(settings)
    if not extract.exists():
        return []
    return [(p.name, p.lonlat[0], p.lonlat[1]) for p in read_places(extract)]


def parking_job(conn: Connection, settings: Settings, principal: Principal, now: datetime,
                days: int = 7, model: parking.TariffModel | None = None,
                price: float = 1.20, zone_prices: dict[str, float] | None = None,
                board: Sequence[tariffs.TariffBand] = ()) -> dict[str, Any]:
    """Occupancy of each monitored car park now and over the last ``days``, by zone, weekday
    and hour, with the tariff suggested per zone and hour. The current prices are the council's
    tariff ``board`` where it has rows for a zone, else ``zone_prices``, else ``price``."""
    if not 1 <= days <= 366:
        raise BadRequest("days must be between 1 and 366")
    if not math.isfinite(price) or price < 0:
        raise BadRequest("price must be a number of pounds, 0 or more")
    for zone, value in (zone_prices or {}).items():
        if not math.isfinite(value) or value < 0:
            raise BadRequest(f"price of {zone}: give a number of pounds, 0 or more")
    model = model or parking.TariffModel()
    features = of_kinds(osm_features(settings), ["car_park"])
    zones = towns(settings)
    parks = parking.car_parks(features, zones)
    by_ref = {p.ref: p for p in parks}
    park_features = [f for f in features if f.ref in by_ref]
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    bays = load_bays(conn, principal, start, now)
    located = np.array([(b["lon"], b["lat"]) for b in bays]).reshape(-1, 2)
    matched = parking.match_bays(park_features, located)
    histories = []
    for bay, index in zip(bays, matched, strict=True):
        ref = bay["car_park"] if bay["car_park"] in by_ref else (
            park_features[index].ref if index >= 0 else None)
        if ref is None:
            zone = parking.car_parks([Feature("street", "car_park", "On-street bays",
                                              bay["lon"], bay["lat"])], zones)[0].zone
            ref = f"street:{zone}"
            by_ref.setdefault(ref, parking.CarPark(ref, f"On-street bays, {zone}", zone,
                                                   bay["lon"], bay["lat"], None, "unknown"))
        histories.append(parking.BayHistory(bay["id"], ref, np.array(bay["times"], dtype=float),
                                            np.array(bay["states"], dtype=bool)))
    hours = max(1, int((now - start).total_seconds() // 3600))
    occupancy = parking.hourly_occupancy(histories, start, hours)
    now_counts = parking.current(histories, now)
    rows = []
    for ref in sorted(occupancy.bays, key=lambda r: (by_ref[r].zone, by_ref[r].name)):
        park = by_ref[ref]
        occupied, monitored = now_counts.get(ref, (0, 0))
        rate = occupied / monitored if monitored else None
        observed = occupancy.observed[ref].sum()
        free = None
        if rate is not None:
            # Sensors may cover a sample of the spaces: scale their rate to the capacity.
            sampled = park.capacity is not None and park.capacity >= monitored
            free = round(park.capacity * (1 - rate)) if sampled and park.capacity else (
                monitored - occupied)
        rows.append({**park.as_dict(), "bays": occupancy.bays[ref],
                     # Alerts about the car park hang off one of its sensors' Things.
                     "first_bay_id": min(h.bay for h in histories if h.car_park == ref),
                     "occupied_now": occupied,
                     "reporting_now": monitored,
                     "occupancy_now": round(rate, 3) if rate is not None else None,
                     "free_now": free,
                     "status": "no data" if rate is None else "full" if rate >= parking.FULL_AT
                     else "busy" if rate >= model.target_occupancy else "spaces",
                     "mean_occupancy": round(float(occupancy.occupied[ref].sum() / observed), 3)
                     if observed else None})
    timezone = settings.rounds_timezone
    zone_rows = []
    for zone in sorted({by_ref[r].zone for r in occupancy.bays}):
        refs = [r for r in occupancy.bays if by_ref[r].zone == zone]
        profile = parking.weekly_profile(occupancy, refs, timezone)
        zone_price = (zone_prices or {}).get(zone, price)
        prices = tariffs.zone_prices(board, zone)
        zone_rows.append({"zone": zone, "car_parks": refs,
                          "price": zone_price if prices is None else None,
                          "tariff": "single price" if prices is None else "tariff board",
                          "hours": parking.tariff_table(
                              profile, prices or {(-1, -1): zone_price}, model)})
    return {
        "at": now.isoformat(), "days": days, "timezone": timezone, "car_parks": rows,
        "zones": zone_rows, "unmonitored_car_parks": len(parks) - len(
            [r for r in occupancy.bays if not r.startswith("street:")]),
        "model": {"target_occupancy": model.target_occupancy, "elasticity": model.elasticity,
                  "dead_band": model.dead_band, "max_step": model.max_step,
                  "source": model.source},
        "run": run_record("parking", {
            "since": start.isoformat(), "until": now.isoformat(), "bays": len(bays),
            "car_parks": len(parks), "price": price, "zone_prices": zone_prices or {},
            "tariff_board": tariffs.as_rows(board),
            "model": {"target_occupancy": model.target_occupancy,
                      "elasticity": model.elasticity},
            "osm_extract": str(osm_extract(settings)),
        }, at=now),
    }


FULL_RULE_KEY = "car-park-full"


def _full_rule(conn: Connection, now: datetime) -> Rule:
    """The rule car park "full" alerts are opened under (made on first use)."""
    found = conn.execute(select(alert_rules.c.id).where(alert_rules.c.key == FULL_RULE_KEY)
                         ).scalar()
    if found is None:
        # Car parks are not Things, so the rules engine never evaluates this rule itself;
        # the parking check opens and resolves its alerts.
        found = create_rule(conn, now, key=FULL_RULE_KEY, name="Car park full",
                            kind="threshold", asset_type="car_park", quantity="occupancy",
                            params={"op": "above", "value": parking.FULL_AT})
    return get_rule(conn, int(found))


def update_full_alerts(conn: Connection, result: dict[str, Any], now: datetime,
                       principal: Principal | None = None) -> dict[str, list[str]]:
    """Open a "full" alert for each car park at or above 95% now, resolve those below; with a
    ``principal``, only car parks whose sensors it may change (its own organisation's)."""
    rule = _full_rule(conn, now)
    rows = result["car_parks"]
    if principal is not None:
        owners = dict(conn.execute(select(things.c.id, things.c.organisation_id).where(
            things.c.id.in_([r["first_bay_id"] for r in rows]))).all())
        rows = [r for r in rows if principal.can_write(int(owners[r["first_bay_id"]]))]
    bay_of = {row["ref"]: row for row in rows}
    new = []
    for ref, row in bay_of.items():
        if row["status"] == "full" and row.get("first_bay_id") is not None:
            new.append(NewAlert(rule, f"car-park:{ref}"[:50], int(row["first_bay_id"]), None,
                                f"{row['name']} is full",
                                f"{row['name']} ({row['zone']}): {row['occupied_now']} of "
                                f"{row['reporting_now']} monitored bays occupied",
                                row["occupancy_now"], now, {"car_park": ref}))
    opened = open_alerts(conn, new, now)
    resolved = []
    for alert in conn.execute(select(alerts.c.id, alerts.c.subject).where(
            alerts.c.rule_id == rule.id, alerts.c.status != "resolved")):
        ref = str(alert.subject).removeprefix("car-park:")
        if ref in bay_of and bay_of[ref]["status"] not in {"full", "no data"}:
            resolve(conn, None, int(alert.id), now, "below 95% occupancy", automatic=True)
            resolved.append(ref)
    return {"opened": sorted(str(s).removeprefix("car-park:") for _, s in opened),
            "resolved": sorted(resolved)}
