"""The data catalogue: every dataset the hub publishes, with its licence, update frequency and
downloads, as a GOV.UK page (``/data``) and as ``/data.json`` in the DCAT-US 1.1 (Project Open
Data) catalogue shape that data.gov.uk and other portals harvest.

Anonymous callers see the public datasets only; a signed-in officer also sees the officers'
downloads of their council ("non-public", with the rights statement). The downloads are those
of the pages (``web.downloads``), so the catalogue never offers what a page would not show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from placehub.access.service import ANONYMOUS, Principal
from placehub.web import downloads
from placehub.web.asset_snapshot import snapshot_of

AIR_TYPE = "air_quality_station"
DCAT_CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
DCAT_SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"
MEDIA = {"csv": ("text/csv", "CSV"), "json": ("application/json", "JSON"),
         "geojson": ("application/geo+json", "GeoJSON"), "xml": ("text/xml", "XML")}
# ISO 8601 repeating durations (DCAT-US accrualPeriodicity) and how the page words them.
EVERY_15_MINUTES = ("R/PT15M", "As readings arrive, about every 15 minutes")
CONTINUOUS = ("R/PT1H", "Continuously, as reports and alerts come in")
DAILY = ("R/P1D", "Daily")


@dataclass(frozen=True)
class Distribution:
    """One file of a dataset: its title, the path that answers it and its format."""

    title: str
    path: str
    fmt: str

    @property
    def media_type(self) -> str:
        return MEDIA[self.fmt][0]

    @property
    def format(self) -> str:
        return MEDIA[self.fmt][1]


@dataclass
class Dataset:
    """A published dataset as the catalogue lists it."""

    identifier: str
    title: str
    description: str
    keywords: list[str]
    page: str
    public: bool
    periodicity: tuple[str, str]
    modified: datetime
    distributions: list[Distribution] = field(default_factory=list)


def _files(title: str, path: str, formats: tuple[str, ...] = tuple(downloads.FORMATS)
           ) -> list[Distribution]:
    return [Distribution(title, f"{path}.{fmt}", fmt) for fmt in formats]


def datasets(request: Request, principal: Principal) -> list[Dataset]:
    """The datasets ``principal`` may download: the public ones for everyone, the officers'
    ones for a signed-in user. Built from the asset snapshot (no per-dataset queries)."""
    view = snapshot_of(request.app).view(ANONYMOUS)
    public_assets = view.assets
    seen = [a.last_seen for a in public_assets if a.last_seen is not None]
    now = datetime.now(UTC)
    latest = max(seen) if seen else now
    stations = sorted((a for a in public_assets if a.asset_type == AIR_TYPE),
                      key=lambda a: a.name)
    council = request.app.state.settings.council_name
    found = [
        Dataset("public-sensors", "Public sensors: status and latest readings",
                f"Every sensor {council} publishes openly (litter bins, flowerbeds, "
                "air-quality stations and others): its type, status, ward, latest readings "
                "and position.", ["sensors", "internet of things", "litter bins",
                                  "air quality"], "/public/map", True, EVERY_15_MINUTES,
                latest, _files("Public sensors", "/public/map")),
        Dataset("public-air-quality", "Air quality by site",
                "The public air-quality sites with their latest NO2, PM2.5 and PM10 readings "
                "and how many of this year's objectives each did not meet.",
                ["air quality", "nitrogen dioxide", "particulate matter"], "/public/air", True,
                EVERY_15_MINUTES, latest, _files("Air-quality sites", "/public/air")),
        Dataset("public-air-quality-history", "Air-quality readings by station",
                "Each public air-quality station's readings over time, one file per station "
                "with every pollutant as a column. The last 7 days unless from and to "
                "(YYYY-MM-DD) choose others, up to a year at a time.",
                ["air quality", "nitrogen dioxide", "particulate matter", "time series"],
                "/public/air", True, EVERY_15_MINUTES, latest,
                [d for s in stations for d in _files(
                    s.name, f"/public/assets/{s.id}/history")]),
        Dataset("public-wards", "Wards and their public sensors",
                "Each ward with the public sensors in it and its boundary; each ward's page "
                "offers its own download with indicators (counts of people under disclosure "
                "control).", ["wards", "boundaries", "places"], "/public/places", True, DAILY,
                latest, _files("Wards", "/public/places")),
        Dataset("residents-reports", "Problems reported by residents",
                "Reports of problems (full bins, fly-tipping and others) and what the council "
                "did, as Open311 GeoReport v2 service requests, without the reporters' "
                "details.", ["open311", "reports", "street scene"], "/report", True,
                CONTINUOUS, now, [
                    Distribution("Service requests", "/open311/v2/requests.json", "json"),
                    Distribution("Service requests", "/open311/v2/requests.xml", "xml")]),
    ]
    if not principal.is_anonymous:
        found += [
            Dataset("assets", "Assets: status and latest readings",
                    "Every asset you may see, restricted ones included.",
                    ["sensors", "assets"], "/map", False, EVERY_15_MINUTES, latest,
                    _files("Assets", "/map")),
            Dataset("air-quality", "Air quality by site (officers)",
                    "Every air-quality site you may see, with objectives.", ["air quality"],
                    "/air", False, EVERY_15_MINUTES, latest, _files("Air-quality sites",
                                                                    "/air")),
            Dataset("wards-officers", "Wards and their assets (officers)",
                    "Each ward with every asset you may see in it.", ["wards"], "/places",
                    False, DAILY, latest, _files("Wards", "/places")),
            Dataset("alerts", "Alerts", "Open and acknowledged alerts on the assets you may "
                    "see; from and to (YYYY-MM-DD) keep those opened in a date range.",
                    ["alerts"], "/alerts", False, CONTINUOUS, now, _files("Alerts", "/alerts")),
            Dataset("devices", "Devices", "Registered LoRaWAN devices with their health.",
                    ["devices", "lorawan"], "/devices", False, CONTINUOUS, now,
                    _files("Devices", "/devices")),
            Dataset("reports", "Residents' reports (officers)",
                    "Reports to your councils over a date range (the last 7 days by default), "
                    "without the reporters' details.", ["reports"], "/reports", False,
                    CONTINUOUS, now, _files("Reports", "/reports")),
        ]
    return found


def _absolute(base: str, path: str) -> str:
    return base.rstrip("/") + path


def base_url(request: Request) -> str:
    """The hub's public address: the ``base_url`` setting, else the request's."""
    return str(request.app.state.settings.base_url or request.base_url).rstrip("/")


def dcat_catalog(request: Request, found: list[Dataset]) -> dict[str, Any]:
    """``found`` as a DCAT-US 1.1 catalog (the Project Open Data ``data.json``)."""
    settings = request.app.state.settings
    base = base_url(request)
    contact: dict[str, str] = {"@type": "vcard:Contact", "fn": settings.council_name}
    email = str(settings.feedback_email or "")
    if email:
        contact["hasEmail"] = f"mailto:{email}"
    publisher = {"@type": "org:Organization", "name": settings.council_name}
    entries = []
    for dataset in found:
        entry: dict[str, Any] = {
            "@type": "dcat:Dataset",
            "title": dataset.title,
            "description": dataset.description,
            "keyword": dataset.keywords,
            "modified": dataset.modified.astimezone(UTC).replace(microsecond=0).isoformat()
            .replace("+00:00", "Z"),
            "publisher": publisher,
            "contactPoint": contact,
            "identifier": _absolute(base, f"/data#{dataset.identifier}"),
            "accessLevel": "public" if dataset.public else "non-public",
            "accrualPeriodicity": dataset.periodicity[0],
            "landingPage": _absolute(base, dataset.page),
            "distribution": [{"@type": "dcat:Distribution", "title": d.title,
                              "downloadURL": _absolute(base, d.path),
                              "mediaType": d.media_type, "format": d.format}
                             for d in dataset.distributions],
        }
        if dataset.public:
            entry["license"] = downloads.OPEN_LICENCE["url"]
        else:
            entry["rights"] = downloads.NOT_FOR_PUBLICATION
        entries.append(entry)
    return {"@context": DCAT_CONTEXT, "@id": _absolute(base, "/data.json"),
            "@type": "dcat:Catalog", "conformsTo": DCAT_SCHEMA,
            "describedBy": f"{DCAT_SCHEMA}/catalog.json", "dataset": entries}
