"""Downloads of the data pages (CSV, JSON, GeoJSON): the same access rules and disclosure control
as the pages, date ranges, the licence and credits in or beside each file, and the catalogue
(/data, /data.json) whose every download answers."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from placehub.db import Database
from placehub.errors import BadRequest
from placehub.insight.indicators import IndicatorDefinition, IndicatorValue, replace_values
from placehub.insight.indicators import save_definition as save_indicator
from placehub.places.assign import assign_things, thing_positions
from placehub.reports import store as reports
from placehub.sta.tables import RESULT_NUMBER, datastreams, features_of_interest, observations
from placehub.web import downloads
from placehub.web.downloads import OPEN_LICENCE, Period, period_of
from placehub.web.views import assets as asset_views
from tests.web.conftest import sign_in
from tests.web.demo import raise_alert
from tests.web.seed import Seeded
from tests.web.test_residents import sutton_area  # noqa: F401  (a fixture)

PUBLIC_STATION = "Air quality Oakham High Street"
RESTRICTED_STATION = "Air quality Uppingham depot"
# Readings written at fixed dates, so the date-range tests do not depend on today's date.
HISTORY_START = datetime(2025, 3, 1, tzinfo=UTC)
HISTORY_HOURS = 5 * 24
REPORTER = "resident.r8@example.org"


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def _table_names(html: str) -> set[str]:
    """Asset names in the map page's table."""
    body = html.split('id="assets-table"')[1].split("</table>")[0].split("<tbody")[1]
    return {re.sub(r"<[^>]+>", "", row.split(">", 1)[1].split("</td>")[0]).strip()
            for row in body.split("<tr")[1:]}


def _history(database: Database, thing_id: int) -> None:
    """Hourly readings of every Datastream of ``thing_id`` over ``HISTORY_HOURS`` from
    ``HISTORY_START`` (besides the seeded recent ones)."""
    with database.begin() as conn:
        streams = conn.execute(select(datastreams.c.id).where(
            datastreams.c.thing_id == thing_id).order_by(datastreams.c.id)).scalars().all()
        foi = conn.execute(select(features_of_interest.c.id).limit(1)).scalar_one()
        for number, datastream_id in enumerate(streams):
            conn.execute(insert(observations), [
                {"datastream_id": datastream_id, "feature_of_interest_id": foi,
                 "phenomenon_time_start": HISTORY_START + timedelta(hours=h),
                 "result_type": RESULT_NUMBER, "result_number": 10.0 * (number + 1) + h % 7}
                for h in range(HISTORY_HOURS)])


def _valid_geometry(geometry: Any) -> bool:
    if geometry is None:
        return True
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind == "Point":
        return len(coordinates) == 2 and all(math.isfinite(c) for c in coordinates) and \
            -180 <= coordinates[0] <= 180 and -90 <= coordinates[1] <= 90
    return kind in {"Polygon", "MultiPolygon"} and bool(coordinates)


def assert_geojson(body: dict[str, Any]) -> None:
    """A FeatureCollection whose features have valid geometries and properties, with the
    metadata member (licence and attribution)."""
    assert body["type"] == "FeatureCollection"
    assert {"licence", "attribution", "title", "columns"} <= set(body["metadata"])
    ids = [f["id"] for f in body["features"]]
    assert len(ids) == len(set(ids))
    for feature in body["features"]:
        assert feature["type"] == "Feature" and isinstance(feature["properties"], dict)
        assert _valid_geometry(feature["geometry"]), feature["geometry"]
        assert set(feature["properties"]) == set(body["metadata"]["columns"])


def test_public_map_downloads_hold_the_public_table(client: TestClient, seeded: Seeded) -> None:
    """/public/map.csv, .json and .geojson list exactly the public page's assets, with ward,
    air-quality values and history links, and never a restricted or another council's asset."""
    shown = _table_names(client.get("/public/map").text)
    rows = _csv(client.get("/public/map.csv"))
    assert {r["name"] for r in rows} == shown and len(shown) == 11
    assert RESTRICTED_STATION not in shown and "Bin of another council" not in shown
    station = next(r for r in rows if r["name"] == PUBLIC_STATION)
    assert float(station["no2"]) > 0 and float(station["pm2_5"]) > 0 and float(station["pm10"]) > 0
    assert station["history"] == f"/public/assets/{seeded.things[PUBLIC_STATION]}/history.csv"
    assert {"ward", "ward_code", "fill_percent", "longitude", "latitude"} <= set(station)
    as_json = client.get("/public/map.json").json()
    assert [r["name"] for r in as_json["data"]] == [r["name"] for r in rows]
    assert as_json["metadata"]["licence"] == OPEN_LICENCE
    assert any("Sensor readings: Rutland County Council" in line
               for line in as_json["metadata"]["attribution"])
    geo = client.get("/public/map.geojson")
    assert geo.headers["content-type"].startswith("application/geo+json")
    assert_geojson(geo.json())
    assert len(geo.json()["features"]) == 11


def test_signed_in_officers_get_public_data_only_from_public_downloads(
        officer_client: TestClient, seeded: Seeded) -> None:
    """Signed in, the public downloads still hold public assets only; the officer's map
    download holds the council's restricted station too, not another council's bin."""
    public = {r["name"] for r in _csv(officer_client.get("/public/map.csv"))}
    officer = {r["name"] for r in _csv(officer_client.get("/map.csv"))}
    assert RESTRICTED_STATION not in public and RESTRICTED_STATION in officer
    assert "Bin of another council" not in officer and public < officer
    history = officer_client.get(
        f"/public/assets/{seeded.things[RESTRICTED_STATION]}/history.csv")
    assert history.status_code == 404


def test_officer_downloads_follow_the_pages_access_rules(client: TestClient,
                                                         seeded: Seeded) -> None:
    """Anonymous callers are sent to sign in for every officer download; a viewer of another
    council gets none of this council's organisation-only or restricted assets."""
    station = seeded.things[RESTRICTED_STATION]
    for path in ("/map.csv", "/air.json", "/places.json", "/alerts.csv", "/devices.geojson",
                 "/reports.csv", f"/assets/{station}/history.json"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith(
            "/login"), path
    public = {r["name"] for r in _csv(client.get("/public/map.csv"))}
    sign_in(client, "outsider")
    assert client.get(f"/assets/{station}/history.csv").status_code == 404
    assert client.get(f"/assets/{seeded.things['Bin 002 Oakham']}/history.csv"
                      ).status_code == 404
    names = {r["name"] for r in _csv(client.get("/map.csv"))}
    assert names == public | {"Bin of another council"}
    assert RESTRICTED_STATION not in client.get("/air.csv").text
    assert {r["name"] for r in _csv(client.get("/air.csv"))} == {PUBLIC_STATION}


def test_air_station_history_has_every_pollutant_and_keeps_the_date_range(
        client: TestClient, seeded: Seeded, database: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """One download per station, a column per pollutant, a row per hour of the days asked for
    (both included), with the period, licence and credits in the JSON metadata."""
    station = seeded.things[PUBLIC_STATION]
    _history(database, station)
    url = f"/public/assets/{station}/history"
    rows = _csv(client.get(f"{url}.csv?from=2025-03-02&to=2025-03-03"))
    assert list(rows[0]) == ["time", "no2", "pm10", "pm2_5"]
    assert len(rows) == 48
    times = [datetime.fromisoformat(r["time"]) for r in rows]
    assert times[0].replace(tzinfo=UTC) == datetime(2025, 3, 2, tzinfo=UTC)
    assert times[-1].replace(tzinfo=UTC) == datetime(2025, 3, 3, 23, tzinfo=UTC)
    assert all(r["no2"] and r["pm10"] and r["pm2_5"] for r in rows)
    one_day = client.get(f"{url}.json?from=2025-03-05&to=2025-03-05").json()
    assert len(one_day["data"]) == 24
    assert one_day["metadata"]["period"]["from"].startswith("2025-03-05T00:00:00")
    assert one_day["metadata"]["period"]["to"].startswith("2025-03-06T00:00:00")
    assert one_day["metadata"]["licence"]["url"] == OPEN_LICENCE["url"]
    assert any("uk-air.defra.gov.uk" in line for line in one_day["metadata"]["attribution"])
    geo = client.get(f"{url}.geojson?from=2025-03-01&to=2025-03-01").json()
    assert_geojson(geo)
    assert len(geo["features"]) == 24
    assert {f["geometry"]["type"] for f in geo["features"]} == {"Point"}
    # More readings than a file holds: a 400 asking for fewer days, not a shortened file.
    monkeypatch.setattr(asset_views, "HISTORY_ROWS", 24)
    assert len(_csv(client.get(f"{url}.csv?from=2025-03-01&to=2025-03-01"))) == 24
    too_many = client.get(f"{url}.csv?from=2025-03-01&to=2025-03-02")
    assert too_many.status_code == 400 and "over 24 readings" in too_many.text
    monkeypatch.undo()
    # Only "from": that day and the six after; before the readings: nothing.
    assert len(_csv(client.get(f"{url}.csv?from=2025-03-04"))) == 48
    assert _csv(client.get(f"{url}.csv?from=2024-01-01&to=2024-01-31")) == []


@pytest.mark.parametrize(("query", "says"), [
    ("from=2025-13-01", "from='2025-13-01' is not a date: give it as YYYY-MM-DD"),
    ("to=yesterday", "to='yesterday' is not a date"),
    ("from=1%2F3%2F2025", "is not a date"),
    ("from=2025-03-05&to=2025-03-01", "from=2025-03-05 is after to=2025-03-01"),
    ("from=2024-01-01&to=2025-06-30", "ask for at most 366 days"),
])
def test_a_bad_date_range_is_a_400_that_says_what_to_fix(officer_client: TestClient,
                                                         seeded: Seeded, query: str,
                                                         says: str) -> None:
    """Histories, reports and alerts refuse a bad date or range with a 400 naming the fix."""
    station = seeded.things[PUBLIC_STATION]
    for path in (f"/public/assets/{station}/history.csv", f"/assets/{station}/history.json",
                 "/reports.csv", "/alerts.json"):
        response = officer_client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.status_code)
        assert says in response.text.replace("&#39;", "'"), (path, response.text[:300])


def test_the_period_of_a_history_defaults_to_seven_days_and_takes_one_end() -> None:
    """No dates: the 7 days to today; only from: 7 days from it (not past today); only to: the
    7 days to it; a week date or a date without dashes is refused."""
    today = date(2026, 3, 10)
    assert period_of({}, today) == Period(date(2026, 3, 4), today)
    assert period_of({"from": "2026-02-01"}, today) == Period(date(2026, 2, 1), date(2026, 2, 7))
    assert period_of({"from": "2026-03-09"}, today) == Period(date(2026, 3, 9), today)
    assert period_of({"to": "2026-01-07"}, today) == Period(date(2026, 1, 1), date(2026, 1, 7))
    one = period_of({"from": "2026-03-01", "to": "2026-03-01"}, today)
    assert (one.start, one.end) == (datetime(2026, 3, 1, tzinfo=UTC),
                                    datetime(2026, 3, 2, tzinfo=UTC))
    for text in ("2026-W10-1", "20260301", "2026-3-1", "2026-02-30"):
        with pytest.raises(BadRequest, match="is not a date: give it as YYYY-MM-DD"):
            period_of({"from": text}, today)


def test_an_unknown_format_is_a_404_naming_the_formats(client: TestClient,
                                                      seeded: Seeded) -> None:
    """/public/map.xlsx is not found, and the answer names csv, json and geojson."""
    response = client.get("/public/map.xlsx")
    assert response.status_code == 404 and ".csv, .json or .geojson" in response.text


def test_csv_downloads_name_their_licence_and_credits_in_the_link_header(
        officer_client: TestClient, seeded: Seeded) -> None:
    """A public CSV links its licence (rel=license) and its JSON twin (rel=describedby); an
    officers' CSV only the twin, and is not cached."""
    public = officer_client.get("/public/map.csv?type=litter_bin")
    assert f'<{OPEN_LICENCE["url"]}>; rel="license"' in public.headers["link"]
    assert '</public/map.json?type=litter_bin>; rel="describedby"' in public.headers["link"]
    assert public.text.splitlines()[0].startswith("id,name,type,status,ward_code")
    officer = officer_client.get("/map.csv")
    assert 'rel="license"' not in officer.headers["link"]
    assert 'rel="describedby"' in officer.headers["link"]
    assert "no-store" in officer.headers["cache-control"]
    metadata = officer_client.get("/map.json").json()["metadata"]
    assert metadata["licence"] is None and "Not for publication" in metadata["rights"]


@pytest.fixture
def counted_ward(database: Database, client: TestClient, sutton_area: None  # noqa: F811
                 ) -> str:
    """SM1 1AA's ward with a small count of people (suppressed), a public indicator, and
    another ward with a large count."""
    page = client.get("/my-area", params={"postcode": "SM1 1AA"}).text
    ward = re.search(r'href="/public/places/(E05\d+)"', page)
    assert ward, "the ward of SM1 1AA"
    other = "E05000555" if ward.group(1) != "E05000555" else "E05000556"
    with database.begin() as conn:
        assign_things(conn)
        save_indicator(conn, IndicatorDefinition(
            "carers_count", "Unpaid carers", "higher_is_worse", unit="people",
            source="Example census table", licence="OGL v3", counts_people=True))
        replace_values(conn, [IndicatorValue("carers_count", "wards", ward.group(1), "2021", 3),
                              IndicatorValue("carers_count", "wards", other, "2021", 128)])
    return ward.group(1)


def test_ward_downloads_suppress_small_counts_as_the_page_does(client: TestClient,
                                                               counted_ward: str) -> None:
    """A count of 3 people is "suppressed" on the ward page and an empty, suppressed value in
    every download; the district median is the same on page and file; the disclosure rule is
    in the file's notes."""
    ward = counted_ward
    page = client.get(f"/public/places/{ward}").text
    row = page.split("Unpaid carers")[1].split("</tr>")[0]
    assert "suppressed" in row
    rows = _csv(client.get(f"/public/places/{ward}/data.csv"))
    carers = next(r for r in rows if r["id"] == "carers_count")
    assert carers["value"] == "" and carers["suppressed"] == "True"
    assert f"{float(carers['district_median']):.3g}" in row
    as_json = client.get(f"/public/places/{ward}/data.json").json()
    item = next(r for r in as_json["data"] if r["id"] == "carers_count")
    assert item["value"] is None and item["suppressed"] is True
    assert any("suppress" in note.lower() for note in as_json["metadata"]["notes"])
    assert "Example census table" in " ".join(as_json["metadata"]["attribution"])
    assert_geojson(client.get(f"/public/places/{ward}/data.geojson").json())
    assert f'href="/public/places/{ward}/data.geojson"' in page
    assert 'href="/public/places.csv"' in client.get("/public/places").text
    wards = client.get("/public/places.geojson").json()
    assert_geojson(wards)
    listed = next(f for f in wards["features"] if f["properties"]["code"] == ward)
    assert listed["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert listed["properties"]["asset_count"] >= 1
    sign_in(client)
    officer = _csv(client.get(f"/places/{ward}/data.csv"))
    assert next(r for r in officer if r["id"] == "carers_count")["value"] == ""
    assets = {r["name"] for r in rows if r["section"] == "asset"}
    assert "Bin Throwley Way" in assets and "Bin hidden Q9" not in assets
    assert "Bin hidden Q9" in {r["name"] for r in officer if r["section"] == "asset"}


def test_my_area_download_lists_what_the_page_lists(client: TestClient,
                                                    sutton_area: None) -> None:  # noqa: F811
    """The postcode's public bin with its distance, never the restricted one; an unknown or
    malformed postcode is refused as on the page."""
    rows = _csv(client.get("/my-area.csv", params={"postcode": "sm11aa"}))
    assert [r["name"] for r in rows] == ["Bin Throwley Way"]
    assert 50 <= int(rows[0]["distance_m"]) <= 70
    geo = client.get("/my-area.geojson", params={"postcode": "SM1 1AA"}).json()
    assert_geojson(geo)
    assert "SM1 1AA" in geo["metadata"]["notes"][0]
    assert client.get("/my-area.csv", params={"postcode": "LE15 6AA"}).status_code == 404
    assert client.get("/my-area.csv", params={"postcode": "not one"}).status_code == 400


def test_reports_download_keeps_the_range_and_no_personal_data(
        officer_client: TestClient, seeded: Seeded, database: Database) -> None:
    """Reports received on the days asked for, without the reporter's e-mail."""
    bin_id = seeded.things["Bin 002 Oakham"]
    with database.begin() as conn:
        lon, lat = thing_positions(conn, [bin_id])[bin_id]
        for day in (2, 3, 9):
            reports.create_request(conn, reports.NewReport(
                "overflowing_bin", lon=lon, lat=lat, description=f"Full on the {day}th",
                email=REPORTER), reports.ReportRules(),
                datetime(2025, 3, day, 9, 30, tzinfo=UTC))
    rows = _csv(officer_client.get("/reports.csv?status=all&from=2025-03-02&to=2025-03-03"))
    assert [r["description"] for r in rows] == ["Full on the 3th", "Full on the 2th"]
    assert rows[0]["asset"] == "Bin 002 Oakham"
    for fmt in ("csv", "json", "geojson"):
        text = officer_client.get(f"/reports.{fmt}?status=all&from=2025-03-01&to=2025-03-31").text
        assert "Full on the 9th" in text and REPORTER not in text, fmt
    assert_geojson(officer_client.get("/reports.geojson?status=all&from=2025-03-01&to=2025-03-31"
                                      ).json())


def test_alert_and_device_downloads_hold_the_lists_rows(officer_client: TestClient,
                                                        seeded: Seeded) -> None:
    """The alerts download holds every alert the list's filter keeps; the device download every
    device of the search (none registered here: a header only); both as valid GeoJSON."""
    alerts = officer_client.get("/alerts.json?status=").json()
    assert alerts["metadata"]["columns"][0] == "id"
    assert all(isinstance(a["id"], int) for a in alerts["data"])
    assert_geojson(officer_client.get("/alerts.geojson").json())
    devices = officer_client.get("/devices.csv?q=nothing-like-this")
    assert devices.status_code == 200 and devices.text.startswith("dev_eui,name,profile")
    assert_geojson(officer_client.get("/devices.geojson").json())


def test_a_list_longer_than_the_download_limit_is_refused_not_cut(
        officer_client: TestClient, seeded: Seeded, database: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With more alerts than a download may hold, the download is a 400 saying what to narrow,
    not a file silently cut short; within the limit it holds every row."""
    with database.begin() as conn:
        raise_alert(conn, next(iter(seeded.things.values())))
    every = officer_client.get("/alerts.json?status=").json()["data"]
    assert every
    monkeypatch.setattr(downloads, "ROW_LIMIT", len(every) - 1)
    refused = officer_client.get("/alerts.csv?status=")
    assert refused.status_code == 400 and "narrow the filters" in refused.text
    monkeypatch.setattr(downloads, "ROW_LIMIT", len(every))
    assert len(officer_client.get("/alerts.json?status=").json()["data"]) == len(every)


def test_pages_show_their_download_links(officer_client: TestClient, seeded: Seeded) -> None:
    """Each data page links its CSV, JSON and GeoJSON downloads (with the page's filters) and
    says the licence beside them."""
    station = seeded.things[PUBLIC_STATION]
    wanted = {
        "/public/map?type=litter_bin": ['href="/public/map.geojson?type=litter_bin&amp;sort=name'
                                        '&amp;dir=asc"', "Open Government Licence v3.0"],
        "/public/air": ["/public/air.csv", f"/public/assets/{station}/history.csv"],
        "/air": ["/air.geojson", f"/assets/{station}/history.json"],
        "/alerts": ['href="/alerts.csv?status=active"'],
        "/devices": ['href="/devices.json?sort=dev_eui&amp;dir=asc"'],
        "/reports": ['formaction="/reports.geojson"', 'name="from"'],
        f"/assets/{station}": [f'formaction="/assets/{station}/history.csv"'],
    }
    for path, parts in wanted.items():
        text = officer_client.get(path).text
        for part in parts:
            assert part in text, (path, part)


def _distribution_paths(catalog: dict[str, Any]) -> list[str]:
    return [re.sub(r"^https?://[^/]+", "", d["downloadURL"])
            for dataset in catalog["dataset"] for d in dataset["distribution"]]


REQUIRED = {"title", "description", "keyword", "modified", "publisher", "contactPoint",
            "identifier", "accessLevel", "distribution", "accrualPeriodicity"}


def test_the_catalogue_is_dcat_us_and_every_download_answers(client: TestClient,
                                                             seeded: Seeded) -> None:
    """/data.json is a DCAT-US 1.1 catalog of the public datasets only for anonymous callers,
    every distribution answers 200 with its media type, and /data lists the same datasets with
    licence, frequency and downloads; signed in, the officers' datasets are added."""
    catalog = client.get("/data.json").json()
    assert catalog["conformsTo"] == "https://project-open-data.cio.gov/v1.1/schema"
    assert catalog["@type"] == "dcat:Catalog"
    for dataset in catalog["dataset"]:
        assert set(dataset) >= REQUIRED, dataset["title"]
        assert dataset["accessLevel"] == "public" and dataset["license"] == OPEN_LICENCE["url"]
        assert re.fullmatch(r"R/P(T\d+[MH]|\d+D)", dataset["accrualPeriodicity"])
        assert datetime.fromisoformat(dataset["modified"].replace("Z", "+00:00"))
        assert dataset["keyword"] and dataset["publisher"]["name"] == "Rutland County Council"
        for distribution in dataset["distribution"]:
            assert {"downloadURL", "mediaType", "format"} <= set(distribution)
            assert distribution["downloadURL"].startswith("http://testserver/")
    identifiers = [d["identifier"] for d in catalog["dataset"]]
    assert len(identifiers) == len(set(identifiers))
    media = {re.sub(r"^https?://[^/]+", "", d["downloadURL"]): d["mediaType"]
             for dataset in catalog["dataset"] for d in dataset["distribution"]}
    station = seeded.things[PUBLIC_STATION]
    assert f"/public/assets/{station}/history.csv" in media
    assert f"/public/assets/{seeded.things[RESTRICTED_STATION]}/history.csv" not in media
    for path, media_type in media.items():
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:200])
        assert response.headers["content-type"].startswith(media_type), path
    page = client.get("/data").text
    for dataset in catalog["dataset"]:
        assert dataset["title"].replace("'", "&#39;") in page
    assert "Open Government Licence v3.0" in page and "about every 15 minutes" in page
    assert "Alerts" not in re.sub(r"<[^>]+>", " ", page.split("<main")[1]).split()
    sign_in(client)
    signed_in = client.get("/data.json").json()
    restricted = [d for d in signed_in["dataset"] if d["accessLevel"] == "non-public"]
    assert {d["title"] for d in restricted} >= {"Alerts", "Devices"}
    assert all("rights" in d and "license" not in d for d in restricted)
    for path in _distribution_paths({"dataset": restricted}):
        assert client.get(path).status_code == 200, path
    assert json.dumps(signed_in).count("non-public") == len(restricted)
