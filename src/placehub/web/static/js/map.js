// Draws the assets map with MapLibre GL from placehub's own GeoJSON (no tiles, no CDN): one
// GeoJSON source and one circle layer for every asset (no DOM element per asset), ward outlines
// and roads underneath. The page's table and filters work without this script.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.maplibregl) return;
  if (document.currentScript && document.currentScript.dataset.worker) {
    maplibregl.setWorkerUrl(document.currentScript.dataset.worker);
  }

  // The compact GeoJSON gives codes: s status, t type, n name, f fill (%); the id is the asset's.
  var STATUS_COLOURS = [
    "match", ["get", "s"],
    "ok", "#00703c", "nearly-full", "#f47738", "full", "#d4351c", "dry", "#b58840",
    "exceeding", "#d4351c", "silent", "#505a5f", "no-data", "#505a5f", "#b1b4b6"
  ];
  var labels = JSON.parse(element.dataset.labels || "{}");
  var statusLabels = labels.status || {};
  var typeLabels = labels.type || {};
  var bounds = element.dataset.bounds.split(",").map(Number);
  var roadsCheckbox = document.getElementById("hide_roads");
  var map = new maplibregl.Map({
    container: element,
    style: {
      version: 8,
      sources: {},
      layers: [{ id: "background", type: "background", paint: { "background-color": "#f3f2f1" } }]
    },
    bounds: [[bounds[0], bounds[1]], [bounds[2], bounds[3]]],
    fitBoundsOptions: { padding: 30, maxZoom: 16 },
    attributionControl: false,
    dragRotate: false,
    pitchWithRotate: false,
    fadeDuration: 0
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.AttributionControl({
    compact: false,
    customAttribution: "© OpenStreetMap contributors; contains OS data © Crown copyright"
  }));
  map.getCanvas().setAttribute("aria-label", element.getAttribute("aria-label"));

  function roadsVisibility() {
    return roadsCheckbox && roadsCheckbox.checked ? "none" : "visible";
  }

  map.on("load", function () {
    // Added in this order, the map's worker reads the assets before the layers under them.
    map.addSource("assets", { type: "geojson", data: element.dataset.assetsUrl });
    if (element.dataset.layers === "true") {
      map.addSource("wards", { type: "geojson", data: "/geo/wards.geojson" });
      map.addLayer({ id: "wards-line", type: "line", source: "wards",
        paint: { "line-color": "#505a5f", "line-width": 1.2 } });
    }
    if (element.dataset.roads !== "none") {
      map.addSource("roads", { type: "geojson", data: "/geo/roads.geojson" });
      map.addLayer({ id: "roads", type: "line", source: "roads",
        layout: { visibility: roadsVisibility() },
        paint: { "line-color": "#b1b4b6",
                 "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 15, 2.5] } });
    }
    map.addLayer({ id: "assets", type: "circle", source: "assets", paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 3, 14, 7],
      "circle-color": STATUS_COLOURS,
      "circle-stroke-color": "#0b0c0c",
      "circle-stroke-width": 1
    } });
    map.once("idle", function () {
      // Milliseconds since navigation started: the benchmark reads it.
      element.setAttribute("data-ready-ms", String(Math.round(performance.now())));
      element.setAttribute("data-ready", "true");
    });
  });

  // Showing or hiding roads takes effect at once; "Apply filters" keeps the choice in the URL.
  if (roadsCheckbox) {
    roadsCheckbox.addEventListener("change", function () {
      if (map.getLayer("roads")) map.setLayoutProperty("roads", "visibility", roadsVisibility());
    });
  }

  var popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
  map.on("mousemove", "assets", function (event) {
    map.getCanvas().style.cursor = element.dataset.link === "true" ? "pointer" : "";
    var p = event.features[0].properties;
    var text = document.createElement("span");
    text.textContent = p.n + " – " + (typeLabels[p.t] || p.t) + ", " + (statusLabels[p.s] || p.s) +
      (p.f !== undefined && p.f !== null ? " (" + p.f + "% full)" : "");
    popup.setLngLat(event.lngLat).setDOMContent(text).addTo(map);
  });
  map.on("mouseleave", "assets", function () {
    map.getCanvas().style.cursor = "";
    popup.remove();
  });
  map.on("click", "assets", function (event) {
    if (element.dataset.link !== "true") return;
    window.location.href = "/assets/" + event.features[0].id;
  });
  window.placehubMap = map;
})();
