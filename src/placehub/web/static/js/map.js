// Draws the assets map with MapLibre GL from placehub's own GeoJSON (no tiles, no CDN): one
// GeoJSON source and one circle layer for every asset (no DOM element per asset), ward outlines
// and roads underneath. The page's table and filters work without this script.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.maplibregl || !window.placehubMapBase) return;
  var base = window.placehubMapBase;

  // The compact GeoJSON gives codes: s status, t type, n name, f fill (%); the id is the asset's.
  var STATUS_COLOURS = [
    "match", ["get", "s"],
    "ok", "#00703c", "nearly-full", "#f47738", "full", "#d4351c", "dry", "#b58840",
    "exceeding", "#d4351c", "silent", "#505a5f", "no-data", "#505a5f", "#b1b4b6"
  ];
  var labels = JSON.parse(element.dataset.labels || "{}");
  var statusLabels = labels.status || {};
  var typeLabels = labels.type || {};
  var roadsCheckbox = document.getElementById("hide_roads");
  var linked = element.dataset.link === "true";
  var map = base.create(element);

  function roadsVisibility() {
    return roadsCheckbox && roadsCheckbox.checked ? "none" : "visible";
  }

  map.on("load", function () {
    // Added in this order, the map's worker reads the assets before the layers under them.
    map.addSource("assets", { type: "geojson", data: element.dataset.assetsUrl });
    base.addContext(map, { wards: true,
                           roads: element.dataset.roads !== "none",
                           roadsVisibility: roadsVisibility() });
    map.addLayer({ id: "assets", type: "circle", source: "assets", paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 3, 14, 7],
      "circle-color": STATUS_COLOURS,
      "circle-stroke-color": "#0b0c0c",
      "circle-stroke-width": 1
    } });
    base.markReady(map, element);
  });

  // Showing or hiding roads takes effect at once; "Apply filters" keeps the choice in the URL.
  if (roadsCheckbox) {
    roadsCheckbox.addEventListener("change", function () {
      if (map.getLayer("roads")) map.setLayoutProperty("roads", "visibility", roadsVisibility());
    });
  }

  base.hoverLabel(map, "assets", function (p) {
    return p.n + " – " + (typeLabels[p.t] || p.t) + ", " + (statusLabels[p.s] || p.s) +
      (p.f !== undefined && p.f !== null ? " (" + p.f + "% full)" : "");
  }, linked);
  map.on("click", "assets", function (event) {
    if (linked) window.location.href = "/assets/" + event.features[0].id;
  });
  window.placehubMap = map;
})();
