"""Every asset in memory, so the map, its table and the overview answer in milliseconds with
10,000 assets instead of reading them all (with their latest readings) on each request.

The snapshot holds all assets, whoever may see them; ``view(principal)`` keeps only the ones the
principal may read, with the access model's own rule (``access.visibility.can_read``) applied to
each (organisation, visibility) group. It is

- built on first use (``placehub.assets.summary.list_assets`` over every asset);
- kept current from the database's event bus: ``observations.written`` updates the readings and
  status of the asset in place, ``things.changed`` / ``locations.changed`` make the next read
  reload those assets from the database (so a visibility change is seen by the very next page);
- re-read in a background thread once it is older than ``web_asset_snapshot_seconds``, which
  picks up writes made by other processes and statuses that age (a sensor turning silent).

The places page counts the assets in each ward from it too (``place_map``, ``per_place``).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Connection

from placehub.access.service import Principal
from placehub.access.visibility import can_read
from placehub.assets import summary
from placehub.assets.summary import AssetSummary
from placehub.db import Database
from placehub.lifespan import while_serving
from placehub.places.queries import count_by_place, layer_version, thing_place_map
from placehub.web.listing import Column, sort_items

log = logging.getLogger(__name__)

# Reads every asset; views narrow it down per viewer.
EVERYONE = Principal(username="asset-snapshot", write_anywhere=True)
# Map coordinates to 5 decimals: about a metre, plenty for a map of a district.
COORDINATE_DECIMALS = 5
# More changed assets than this are reloaded by re-reading them all.
MAX_PARTIAL_RELOAD = 500
Group = tuple[int, str]  # (organisation id, visibility)


def now() -> datetime:
    return datetime.now(UTC)


class AssetView:
    """The assets one viewer may read, in name order, and what the pages derive from them.

    Derived values (counts, sorted tables, GeoJSON) are cached until the snapshot changes.
    """

    def __init__(self, assets: list[AssetSummary], key: str, members_version: int) -> None:
        self.assets = assets
        self.key = key
        self.members_version = members_version
        self.data_version = -1
        self._derived: dict[Any, Any] = {}
        # Values that depend on which assets there are, not on their readings: kept until the
        # members change (this view is then replaced).
        self._lasting: dict[Any, Any] = {}
        self._lock = threading.Lock()

    def _at(self, data_version: int) -> AssetView:
        with self._lock:
            if data_version != self.data_version:
                self._derived = {}
                self.data_version = data_version
        return self

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()`` once per snapshot change (two racing requests may both compute it)."""
        found = self._derived.get(key)
        if found is None:
            found = self._derived[key] = make()
        return found

    @property
    def version(self) -> str:
        """Changes whenever the assets in this view or their statuses change."""
        return f"{self.key}-{self.members_version}-{self.data_version}"

    def filtered(self, asset_type: str = "", status: str = "") -> list[AssetSummary]:
        if not asset_type and not status:
            return self.assets
        return self.cached(("filtered", asset_type, status), lambda: [
            a for a in self.assets
            if (not asset_type or a.asset_type == asset_type) and (not status or a.status == status)
        ])

    def sorted(self, columns: list[Column], sort: str, direction: str, asset_type: str = "",
               status: str = "") -> list[AssetSummary]:
        """The filtered assets sorted by a table column."""
        return self.cached(("sorted", sort, direction, asset_type, status), lambda: sort_items(
            self.filtered(asset_type, status), columns, sort, direction))

    def per_place(self, key: Any, place_of: dict[int, int]) -> dict[int, dict[str, int]]:
        """The assets per place by type (``places.queries.count_by_place``); ``key`` names
        ``place_of`` (see ``AssetSnapshot.place_map``)."""
        found = self._lasting.get(("places", key))
        if found is None:
            found = self._lasting[("places", key)] = count_by_place(
                ((a.id, a.properties) for a in self.assets), place_of)
        return found

    def types(self) -> list[str]:
        return self.cached("types", lambda: sorted({a.asset_type for a in self.assets}))

    def counts(self) -> list[dict[str, Any]]:
        return self.cached("counts", lambda: summary.counts_by_type_and_status(self.assets))

    def health(self) -> dict[str, int]:
        return self.cached("health", lambda: summary.sensor_health(self.assets))

    def bounds(self, asset_type: str = "", status: str = "") -> list[float] | None:
        """[west, south, east, north] of the filtered assets with a position, or None."""
        def make() -> list[float] | bool:
            lons = [a.lon for a in self.filtered(asset_type, status) if a.lon is not None]
            lats = [a.lat for a in self.filtered(asset_type, status) if a.lat is not None]
            return [min(lons), min(lats), max(lons), max(lats)] if lons and lats else False
        found = self.cached(("bounds", asset_type, status), make)
        return found or None

    def geojson_gzip(self, asset_type: str = "", status: str = "") -> bytes:
        """The filtered assets as compact GeoJSON (see ``compact_features``), gzipped."""
        return self.cached(("geojson", asset_type, status), lambda: gzip.compress(
            json.dumps(compact_features(self.filtered(asset_type, status)),
                       separators=(",", ":")).encode(), compresslevel=5))


def compact_features(assets: Iterable[AssetSummary]) -> dict[str, Any]:
    """Assets with a position as GeoJSON for the map: coordinates to about a metre and short
    property names (n name, t type, s status, f fill %), the asset id as the Feature id."""
    features = []
    for asset in assets:
        if asset.lon is None or asset.lat is None:
            continue
        properties: dict[str, Any] = {"n": asset.name, "t": asset.asset_type, "s": asset.status}
        if asset.fill_fraction is not None:
            properties["f"] = asset.fill_percent
        features.append({
            "type": "Feature", "id": asset.id,
            "geometry": {"type": "Point", "coordinates": [round(asset.lon, COORDINATE_DECIMALS),
                                                          round(asset.lat, COORDINATE_DECIMALS)]},
            "properties": properties,
        })
    return {"type": "FeatureCollection", "features": features}


class AssetSnapshot:
    """Every asset of one database in memory, kept current (see the module docstring)."""

    def __init__(self, database: Database, refresh_seconds: float = 30.0) -> None:
        self.database = database
        self.refresh_seconds = refresh_seconds
        # Part of every view key, so ETags from another server run never match.
        self.token = secrets.token_hex(4)
        self._lock = threading.RLock()
        self._assets: dict[int, AssetSummary] = {}
        self._by_name: list[AssetSummary] = []
        self._groups: set[Group] = set()
        self._built_at: float | None = None
        self._refreshing = False
        self._refresher: threading.Thread | None = None
        self._closed = False
        # Thing id -> change number: reloaded on the next read.
        self._dirty: dict[int, int] = {}
        self._changes = 0
        # Observations announced while a database read runs, replayed onto what it read.
        self._loads_running = 0
        self._replay: list[Any] = []
        self.members_version = 0
        self.data_version = 0
        self._views: dict[frozenset[Group] | None, AssetView] = {}
        # Layer name -> (layer id, loaded_at, members version) and thing id -> place id.
        self._place_maps: dict[str, tuple[Any, dict[int, int]]] = {}
        self._subscribe()

    # -- the event bus --------------------------------------------------------------------

    def _subscribe(self) -> None:
        # Held weakly: an app (and its snapshot) that is gone stops listening on its own, so
        # many apps over one Database (the tests) do not pile up live subscribers.
        events = self.database.events
        me = weakref.ref(self)

        def listener(topic: str, method: str) -> Callable[[Any], None]:
            def on_event(payload: Any) -> None:
                snapshot = me()
                if snapshot is None:
                    events.unsubscribe(topic, on_event)
                else:
                    getattr(snapshot, method)(payload)
            return on_event

        events.subscribe("observations.written", listener("observations.written",
                                                          "on_observations"))
        for topic in ("things.changed", "locations.changed"):
            events.subscribe(topic, listener(topic, "on_things_changed"))

    def on_things_changed(self, thing_ids: Iterable[int]) -> None:
        """Reload these assets on the next read (their name, place or visibility changed)."""
        with self._lock:
            for thing_id in thing_ids:
                self._changes += 1
                self._dirty[int(thing_id)] = self._changes

    def on_observations(self, written: Iterable[Any]) -> None:
        """Move each asset's latest reading on and re-classify it; no database read."""
        with self._lock:
            written = list(written)
            if self._loads_running:
                self._replay.extend(written)
            if self._built_at is not None:
                self._apply_observations(written)

    def _apply_observations(self, written: list[Any]) -> None:
        touched: dict[int, AssetSummary] = {}
        for observation in written:
            asset = self._assets.get(observation.thing_id)
            readings = asset.readings.values() if asset is not None else ()
            reading = next((r for r in readings if r.datastream_id == observation.datastream_id),
                           None)
            if asset is None or reading is None:
                # A new asset or Datastream: read it from the database.
                self._changes += 1
                self._dirty[int(observation.thing_id)] = self._changes
                continue
            # Only a later phenomenonTime becomes the latest, as in the Datastream summary.
            if reading.time is None or observation.phenomenon_time >= reading.time:
                reading.value = observation.result
                reading.time = observation.phenomenon_time
                touched[asset.id] = asset
        if touched:
            moment = now()
            for asset in touched.values():
                summary.classify(asset, moment)
            self.data_version += 1

    # -- reading --------------------------------------------------------------------------

    def view(self, principal: Principal) -> AssetView:
        """The assets ``principal`` may read (current to the last committed write)."""
        self._keep_current()
        with self._lock:
            readable: frozenset[Group] | None = None if principal.write_anywhere else frozenset(
                group for group in self._groups if can_read(principal, *group))
            found = self._views.get(readable)
            if found is None or found.members_version != self.members_version:
                assets = (self._by_name if readable is None
                          else [a for a in self._by_name
                                if (a.organisation_id, a.visibility) in readable])
                key = "all" if readable is None else hashlib.sha1(
                    repr(sorted(readable)).encode()).hexdigest()[:10]
                found = self._views[readable] = AssetView(assets, f"{self.token}-{key}",
                                                          self.members_version)
            return found._at(self.data_version)

    def place_map(self, conn: Connection, layer: str) -> tuple[Any, dict[int, int]]:
        """Where each asset lies in a place layer (thing id -> place id) and a key naming this
        version of it: read again when the layer's boundaries are loaded again or the assets
        change (a moved Thing is placed again before its change reaches the snapshot). Raises
        NotFound when the layer is not loaded."""
        key = (*layer_version(conn, layer), self.members_version)
        found = self._place_maps.get(layer)
        if found is None or found[0] != key:
            found = self._place_maps[layer] = (key, thing_place_map(conn, key[0]))
        return found

    def _keep_current(self) -> None:
        if self._built_at is None:
            with self._lock:
                if self._built_at is None:
                    self._load(None)
        if self._dirty:
            # Many changed assets (a bulk import) are read faster all at once.
            dirty = set(self._dirty)
            self._load(dirty if len(dirty) <= MAX_PARTIAL_RELOAD else None)
        if (time.monotonic() - (self._built_at or 0) > self.refresh_seconds
                and not self._refreshing):
            self.refresh_in_background()

    def refresh_in_background(self) -> None:
        """Re-read every asset in a daemon thread; pages keep using the current snapshot."""
        with self._lock:
            if self._refreshing or self._closed:
                return
            self._refreshing = True

        def refresh() -> None:
            try:
                self._load(None)
            except Exception:  # noqa: BLE001 - a failed refresh keeps the old snapshot
                log.exception("asset snapshot refresh failed")
                self._built_at = time.monotonic()  # try again after the usual interval
            finally:
                self._refreshing = False

        self._refresher = threading.Thread(target=refresh, name="asset-snapshot", daemon=True)
        self._refresher.start()

    def close(self) -> None:
        """Start no more background re-reads and wait for a running one (app shutdown)."""
        self._closed = True
        if self._refresher is not None:
            self._refresher.join(30)

    def _load(self, thing_ids: set[int] | None) -> None:
        """Read ``thing_ids`` (None: every asset) and put them in the snapshot."""
        with self._lock:
            self._loads_running += 1
            replay_from = len(self._replay)
            change_at_start = self._changes
        try:
            moment = now()
            with self.database.connect() as conn:
                loaded = summary.list_assets(
                    conn, EVERYONE, moment,
                    thing_ids=sorted(thing_ids) if thing_ids is not None else None)
            with self._lock:
                if thing_ids is None:
                    self._assets = {a.id: a for a in loaded}
                    self._built_at = time.monotonic()
                    done = {i for i, change in self._dirty.items() if change <= change_at_start}
                else:
                    for thing_id in thing_ids:
                        self._assets.pop(thing_id, None)
                    self._assets.update((a.id, a) for a in loaded)
                    done = {i for i in thing_ids if self._dirty.get(i, 0) <= change_at_start}
                for thing_id in done:
                    self._dirty.pop(thing_id, None)
                self._apply_observations(self._replay[replay_from:])
                self._by_name = sorted(self._assets.values(), key=lambda a: (a.name, a.id))
                self._groups = {(a.organisation_id, a.visibility) for a in self._by_name}
                self._views = {}
                self.members_version += 1
                self.data_version += 1
        finally:
            with self._lock:
                self._loads_running -= 1
                if not self._loads_running:
                    self._replay = []


def install(app: FastAPI) -> AssetSnapshot:
    """Give the app its snapshot (built on the first page that needs it)."""
    snapshot = AssetSnapshot(app.state.database,
                             float(app.state.settings.web_asset_snapshot_seconds))
    app.state.asset_snapshot = snapshot
    while_serving(app, stop=lambda _: snapshot.close())
    return snapshot


def snapshot_of(app: FastAPI) -> AssetSnapshot:
    """The app's asset snapshot."""
    snapshot: AssetSnapshot = app.state.asset_snapshot
    return snapshot
