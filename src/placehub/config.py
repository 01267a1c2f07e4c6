"""placehub's settings: one declarative list that drives env vars, the CLI and the docs.

Every setting is read from ``PLACEHUB_<NAME>`` (upper case) and can be overridden on the command
line (``placehub --set name=value ...`` or a command's own option). ``docs/settings.md`` is
generated from this list by ``placehub settings --markdown``; a test fails when they disagree.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One setting: its name, default, type and the help text shown to users."""

    name: str
    default: Any
    help: str
    type: type = str

    @property
    def env_var(self) -> str:
        """The environment variable that sets this setting: PLACEHUB_ + NAME."""
        return "PLACEHUB_" + self.name.upper()

    def parse(self, raw: str) -> Any:
        """Turn a string from the environment or the CLI into this setting's type."""
        if self.type is bool:
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise SettingError(f"{self.env_var}={raw!r}: expected true or false")
        if self.type is int:
            try:
                return int(raw)
            except ValueError:
                raise SettingError(f"{self.env_var}={raw!r}: expected a whole number") from None
        if self.type is float:
            try:
                return float(raw)
            except ValueError:
                raise SettingError(f"{self.env_var}={raw!r}: expected a number") from None
        return raw


class SettingError(ValueError):
    """A setting has a value that cannot be used."""


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "sqlite:///var/placehub.sqlite3",
            "Database URL: sqlite:///path/file.sqlite3 (embedded default) or "
            "postgresql+psycopg://user@host/db (production)."),
    Setting("host", "127.0.0.1", "Address the web server listens on."),
    Setting("port", 8000, "Port the web server listens on.", int),
    Setting("base_url", "",
            "Public URL of the server, used in @iot.selfLink and other links; empty means "
            "derive it from each request."),
    Setting("data_dir", "../shared/data",
            "Folder holding the shared public data (Rutland, Sutton, IoD 2019, air quality, "
            "LoRaWAN examples) read by the demo, loaders and tests."),
    Setting("area", "rutland",
            "The area the demo builds and rounds read roads from: a folder of DATA_DIR as "
            "'placehub area fetch' writes it (wards.geojson, lsoas.geojson, roads.osm.pbf)."),
    Setting("area_cache_dir", "var/cache/area",
            "Where 'placehub area fetch' keeps its downloads (resumed when interrupted, reused "
            "until --refresh)."),
    Setting("area_ons_url", "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services",
            "ONS Open Geography Portal ArcGIS REST services root (boundaries, lookups, council "
            "names and codes)."),
    Setting("area_geofabrik_url", "https://download.geofabrik.de",
            "Geofabrik download server root (index-v1.json and the OpenStreetMap extracts)."),
    Setting("area_nspl_url",
            "https://www.arcgis.com/sharing/rest/content/items/e832e833fe5f45e19096800af4ac800c"
            "/data",
            "The National Statistics Postcode Lookup zip (ONS, a new item each quarter)."),
    Setting("area_iod_url",
            "https://assets.publishing.service.gov.uk/media/5dc407b440f0b6379a7acc8d/"
            "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv",
            "English Indices of Deprivation 2019, File 7 (all ranks, deciles, scores and "
            "population denominators, CSV; MHCLG)."),
    Setting("area_defra_url", "https://uk-air.defra.gov.uk/datastore/data_files/site_data",
            "Defra UK-AIR site data folder (one CSV per AURN site and year) for the demo's air "
            "quality replay."),
    Setting("anonymous_write", False,
            "Allow writes without a token (local testing and conformance runs only); refused "
            "unless the server listens on loopback.", bool),
    Setting("secret_key", "",
            "Secret for signing session cookies and CSRF tokens; empty uses one made once and "
            "kept in the database, so sessions outlive a restart."),
    Setting("cookie_secure", "auto",
            "Secure flag of the session cookie: auto (set when the request came over HTTPS, "
            "directly or through a proxy in forwarded_allow_ips that says X-Forwarded-Proto: "
            "https), always, or never."),
    Setting("hsts_seconds", 31536000,
            "max-age of the Strict-Transport-Security header sent with every HTTPS response "
            "(browsers then refuse plain HTTP to this host); 0 sends none.", int),
    Setting("forwarded_allow_ips", "127.0.0.1",
            "Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto headers are believed "
            "(comma-separated addresses or networks, '*' for any): the client address they give "
            "is the one sign-in throttling counts, and their scheme decides Secure cookies and "
            "HSTS."),
    Setting("signin_account_attempts", 5,
            "Wrong passwords for one username before sign-in to it waits (1 s, doubling with "
            "each further wrong one, at most 15 minutes).", int),
    Setting("signin_address_attempts", 20,
            "Wrong passwords from one client address before sign-in from it waits the same "
            "way.", int),
    Setting("mqtt_url", "",
            "MQTT broker for the SensorThings MQTT extension and LoRaWAN MQTT ingest, e.g. "
            "mqtt://127.0.0.1:1883; empty disables MQTT."),
    Setting("mqtt_public_url", "",
            "MQTT endpoint advertised on the SensorThings service root (e.g. "
            "mqtts://hub.example.gov.uk:8883); empty derives it from mqtt_url, without "
            "credentials."),
    Setting("mqtt_password_file", "",
            "The Mosquitto password_file of the broker accounts placehub manages ('placehub mqtt "
            "credentials'); when set, revoking a token also removes its broker account there."),
    Setting("sta_mqtt_select_topics", "result;phenomenonTime,result",
            "SensorThings MQTT $select topics published besides the full ones: property sets "
            "separated by ';', each for the entity types that have all its properties, or for "
            "one entity set when prefixed ('Datastreams:name,phenomenonTime'). The default "
            "publishes v1.1/Observations?$select=result and ...?$select=phenomenonTime,result "
            "on every Observation collection topic."),
    Setting("sta_default_top", 100, "SensorThings page size when a request gives no $top.", int),
    Setting("sta_max_top", 10000, "Largest $top a SensorThings request may ask for.", int),
    Setting("council_name", "Rutland County Council", "Council name shown in the web UI header."),
    Setting("brand_colour", "#00594f", "Council brand colour (hex) used by the web UI."),
    Setting("logo_url", "", "URL or /static path of the council logo; empty shows the name only."),
    Setting("rounds_vehicles", 2, "Vehicles (and crews) available for a waste round.", int),
    Setting("rounds_vehicle_litres", 6000,
            "Body of a waste vehicle in litres (before it must tip); with a compaction ratio r "
            "it holds r times that in loose bin contents.", int),
    Setting("rounds_vehicle_kg", 1000,
            "Payload limit of a waste vehicle in kilograms (0: not modelled).", int),
    Setting("rounds_compaction_ratio", 1.0,
            "Litres of loose waste one litre of vehicle body holds (1: an open caged tipper, "
            "usual for litter bins; a refuse collection vehicle compacts 3-4 times).", float),
    Setting("rounds_kg_per_litre", "litter_bin=0.15,flowerbed=1.0",
            "Weight of one litre of each asset type's load (litter bin contents, water); a "
            "Thing's kg_per_litre property overrides it.", str),
    Setting("rounds_break_minutes", 30,
            "Crew break in minutes, taken before rounds_break_after_hours of work (0: none).",
            int),
    Setting("rounds_break_after_hours", 6.0,
            "Longest stretch of work before the break (Road Transport (Working Time) "
            "Regulations 2005: no more than six hours without a break).", float),
    Setting("rounds_town_centre_before", "10:00",
            "Town-centre bins (Thing property setting=town_centre) are emptied before this "
            "local time (HH:MM; empty: no window). A Thing's service_window property "
            "(HH:MM-HH:MM) sets its own.", str),
    Setting("rounds_requeue_days", 3,
            "Days a skipped mandatory stop stays mandatory in later plans until it is done.",
            int),
    Setting("rounds_timezone", "Europe/London",
            "Time zone of shift times, time windows and round sheets.", str),
    Setting("rounds_shift_hours", 7.5, "Length of a crew's shift in hours, travel included.",
            float),
    Setting("rounds_shift_start", "07:00",
            "Local time of day (rounds_timezone, HH:MM) rounds start."),
    Setting("rounds_depot", "-0.7395,52.6745",
            "Where vehicles start and end (lon,lat); the demo's assumed Oakham depot."),
    Setting("rounds_tip", "-0.7145,52.6905",
            "Where a full waste vehicle empties and carries on (lon,lat); assumed for the demo."),
    Setting("rounds_bowsers", 1, "Water bowsers available for a watering round.", int),
    Setting("rounds_bowser_litres", 1000, "Capacity of a water bowser in litres.", int),
    Setting("rounds_runtime_seconds", 5.0, "Time the route solver may take for one plan.", float),
    Setting("rounds_max_runtime_seconds", 60.0,
            "Longest solver time a request may ask for (API, CLI); more is a 400.", float),
    Setting("rounds_seed", 1, "Seed of the route solver (recorded in every plan).", int),
    Setting("rounds_restarts", 3,
            "Route solver restarts per plan (seeds seed, seed+1, ...), each with an equal share "
            "of the time; the cheapest plan is kept.", int),
    Setting("rounds_bank_holiday_factor", 1.5,
            "Litter expected on a bank holiday (England and Wales) in town-centre and park bins, "
            "times the usual; other bins expect half the extra. 1: bank holidays are ordinary "
            "days.", float),
    Setting("rounds_bank_holidays_file", "",
            "GOV.UK bank-holidays.json to take bank holidays from (england-and-wales); empty: "
            "the holidays package's England and Wales calendar."),
    Setting("rounds_events_file", "",
            "CSV of events the council knows of (header date,place,factor,title; place a town "
            "or village, empty for everywhere): their bins are forecast at factor times the "
            "usual litter on the day. Empty: none."),
    Setting("rounds_event_factor", 2.0,
            "Litter expected on an event day when the events file gives no factor.", float),
    Setting("rounds_road_network", "",
            "OSM extract (.osm.pbf) for road distances; empty means "
            "DATA_DIR/AREA/roads.osm.pbf when the places road network is available."),
    Setting("log_level", "info", "Log level: debug, info, warning or error."),
    Setting("road_network_file", "var/roads.npz",
            "Road network cache written by 'placehub load roads' (a compressed .npz parsed from "
            "an OSM extract); when the file is missing, distances fall back to haversine x 1.4."),
    Setting("basemap_file", "var/basemap.npz",
            "Street map cache (roads with their names, places, water, woods, parks) read from "
            "the area's OSM extract (rounds_road_network, else DATA_DIR/AREA/roads.osm.pbf) "
            "when the maps first ask for a tile, and re-read when the extract changes."),
    Setting("ingest_profiles_dir", "var/profiles",
            "Folder of extra LoRaWAN device profiles (*.toml, in sub-folders too) added to the "
            "built-in ones, where 'placehub profiles import-repository' writes the profiles it "
            "makes; a profile with the same id overrides the built-in one. Empty: none."),
    Setting("ingest_process", True,
            "Decode the LoRaWAN journal into Observations in the server process (turn off to "
            "only journal uplinks and process them with 'placehub ingest replay').", bool),
    Setting("ingest_mqtt_topics", "",
            "LoRaWAN MQTT subscriptions on PLACEHUB_MQTT_URL started by 'serve', as "
            "network:topic pairs separated by commas, e.g. "
            "'tts:v3/+/devices/+/up,chirpstack:application/+/device/+/event/+'; empty: none."),
    Setting("ingest_mqtt_username", "", "Username for the LoRaWAN MQTT broker (TTS: app@tenant)."),
    Setting("ingest_mqtt_password", "", "Password or API key for the LoRaWAN MQTT broker."),
    Setting("ingest_mqtt_ca_file", "",
            "CA certificate file (PEM) that signs a private LoRaWAN MQTT broker's certificate "
            "for mqtts:// URLs; empty: the system's trusted CAs.", str),
    Setting("ingest_mqtt_tls_insecure", False,
            "Connect to an mqtts:// broker without checking its certificate (testing only: "
            "logs a warning, and the password can be read by anyone in between).", bool),
    Setting("ingest_max_body_bytes", 1_000_000,
            "Largest webhook body accepted, in bytes; larger ones are answered 413 before "
            "they are read.", int),
    Setting("ingest_max_clock_skew_seconds", 600,
            "How far (seconds) a network server's uplink time may be ahead of placehub's "
            "clock; later ones are kept as dead letters, never as latest values.", int),
    Setting("ingest_accept_simulated", False,
            "Store simulated uplinks (sent from the network server's console) as "
            "Observations, marked simulated; off: they are kept in the journal as ignored.",
            bool),
    Setting("ingest_max_attempts", 5,
            "Times the worker tries a journal entry whose processing fails with an error "
            "before quarantining it as a dead letter.", int),
    Setting("ingest_backlog_degraded_seconds", 300,
            "/healthz reports degraded when the oldest pending journal entry is older than "
            "this (seconds), or entries are quarantined.", int),
    Setting("nats_url", "",
            "NATS server(s) with JetStream, e.g. nats://10.0.0.5:4222,nats://10.0.0.6:4222: "
            "webhooks and MQTT then publish each uplink to a JetStream stream and answer once "
            "it is stored there, and 'placehub worker' processes store them (see "
            "docs/scale.md); empty: the embedded journal and worker of 'serve'."),
    Setting("nats_stream", "PLACEHUB_UPLINKS",
            "JetStream stream that holds accepted uplinks (its dead letters go to "
            "<name>_DEAD)."),
    Setting("nats_replicas", 1,
            "Copies JetStream keeps of each uplink when it creates the stream: 3 on a "
            "three-node NATS cluster, so an uplink survives the loss of one node.", int),
    Setting("worker_batch", 200,
            "Uplinks a 'placehub worker' takes from the stream and stores in one transaction.",
            int),
    Setting("alerts_shared_state", False,
            "Keep alert rule states in PostgreSQL and judge each Datastream under a lock, so "
            "several API processes and workers may judge Observations without opening an "
            "alert twice; the timer runs in whichever process holds the alert lease. Turn on "
            "when more than one process writes Observations (PostgreSQL only).", bool),
    Setting("alerts_tick_seconds", 60,
            "How often the alert timer runs (silent sensors, hold-offs, notification retries, "
            "daily digests), in seconds; 0 turns the timer off.", int),
    Setting("alerts_digest_hour", 7,
            "UTC hour of the day after which each team's daily alert digest is sent.", int),
    Setting("smtp_url", "",
            "SMTP server for alert e-mails, e.g. smtp://user:password@mail.example.org:587 "
            "(smtps:// for TLS, ?starttls=1 for STARTTLS); empty disables e-mail."),
    Setting("alerts_from_address", "placehub@localhost",
            "Sender address of alert e-mails and digests."),
    Setting("reports_organisation", "",
            "Slug of the organisation that answers residents' reports not attached to one of "
            "its assets (fly-tipping ...); empty: the organisation of the nearest asset, else "
            "the first organisation."),
    Setting("reports_attach_distance_m", 50.0,
            "A report is attached to the nearest asset of its service's type within this many "
            "metres (and opens an alert on it); farther away it stays unattached.", float),
    Setting("reports_mandatory_stops", True,
            "Whether an open report of a kind a round fixes (an overflowing bin, a dry "
            "flowerbed) makes its asset a mandatory stop in the next round.", bool),
    Setting("reports_rate_limit", 5,
            "Reports one client (an address, or a posting system's key) may send per "
            "reports_rate_window_seconds; more are refused with 429.", int),
    Setting("reports_rate_window_seconds", 3600,
            "The window of reports_rate_limit, in seconds.", int),
    Setting("reports_photo_max_bytes", 5_000_000,
            "Largest photo a report may carry, in bytes (JPEG, PNG or WebP).", int),
    Setting("reports_retention_days", 365,
            "Days after a report is closed when its personal data (e-mail, name, phone, "
            "photo) is erased by 'placehub reports purge'; the report itself stays.", int),
    Setting("insight_profile_indices", "iod2019",
            "Comma-separated index definitions (shipped names or .toml paths) shown in ward and "
            "LSOA profiles."),
    Setting("transparency_contact", "",
            "Contact email published in the algorithmic transparency records (Tier 1)."),
    Setting("retention_journal_days", 90,
            "Days raw LoRaWAN journal entries are kept (entries still waiting to be processed "
            "are never purged); 0 keeps them for ever.", int),
    Setting("retention_class_days", "personal=365",
            "Default retention of Observations per data class, as class=days pairs separated "
            "by commas (e.g. personal=365,restricted=730); a class left out is kept until an "
            "organisation or Datastream sets a period."),
    Setting("retention_purge_hour", 3,
            "UTC hour of the day after which 'placehub serve' runs the retention purge once a "
            "day; -1 turns the scheduled purge off.", int),
    Setting("retention_purge_batch", 50000,
            "Rows the retention purge deletes per transaction (short transactions keep ingest "
            "flowing while it runs).", int),
    Setting("dpo_contact", "",
            "The council's data protection officer (name or email), printed on the DPIA "
            "outline."),
    Setting("feedback_email", "",
            "Email address the web UI's feedback link, accessibility statement and privacy "
            "notice give for contacting the council; empty: they name the council only."),
    Setting("web_asset_snapshot_seconds", 30,
            "How often the web UI re-reads every asset for its map, tables and overview, in "
            "seconds (writes through placehub show at once; this catches other processes).",
            int),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved setting values, with where each came from."""

    values: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **overrides: Any) -> Settings:
        """A copy with some values replaced (used by CLI options and tests)."""
        unknown = set(overrides) - set(SETTINGS_BY_NAME)
        if unknown:
            raise SettingError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = dict(self.values)
        sources = dict(self.sources)
        for name, value in overrides.items():
            if value is None:
                continue
            setting = SETTINGS_BY_NAME[name]
            values[name] = setting.parse(value) if isinstance(value, str) else value
            sources[name] = "option"
        return Settings(values, sources)

    @property
    def data_path(self) -> Path:
        """The shared data folder as a Path (``~`` expanded)."""
        return Path(self.values["data_dir"]).expanduser()


def load_settings(
    environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Read every setting from the environment, then apply explicit overrides."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.env_var in environ:
            values[setting.name] = setting.parse(environ[setting.env_var])
            sources[setting.name] = "environment"
        else:
            values[setting.name] = setting.default
            sources[setting.name] = "default"
    return Settings(values, sources).replace(**overrides)


def is_loopback(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine."""
    return host in {"127.0.0.1", "::1", "localhost"} or host.startswith("127.")


def settings_markdown() -> str:
    """The settings table for docs/settings.md."""
    lines = [
        "# Settings",
        "",
        "Each setting is read from its environment variable and can be given on the command line",
        "with `placehub --set NAME=VALUE` (or a command's own option, such as `serve --port`).",
        "This file is generated by `placehub settings --markdown`.",
        "",
        "| variable | default | what it does |",
        "|---|---|---|",
    ]
    for s in SETTINGS:
        default = "" if s.default in ("", None) else f"`{s.default}`"
        lines.append(f"| `{s.env_var}` | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
