// Shared MapLibre GL set-up for placehub's maps: the CSP build's worker from placehub's own
// files, a plain background from placehub's own data (no tile server, no CDN), the starting
// bounds, zoom buttons, the data credits, the map's accessible name on its canvas, ward and road
// layers, the data-ready marker and a hover label. Each map's own script adds its data layers.
window.placehubMapBase = (function () {
  "use strict";
  var CREDITS = "© OpenStreetMap contributors; contains OS data © Crown copyright";

  // The map element carries data-worker (the CSP build's worker file) and data-bounds.
  function create(element) {
    if (element.dataset.worker) maplibregl.setWorkerUrl(element.dataset.worker);
    var bounds = element.dataset.bounds.split(",").map(Number);
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
      customAttribution: element.dataset.credits || CREDITS
    }));
    map.getCanvas().setAttribute("aria-label", element.getAttribute("aria-label"));
    return map;
  }

  // Ward outlines and roads under the data, for orientation. options.wards / options.roads
  // (default true) leave either out; options.roadsVisibility is "visible" or "none".
  function addContext(map, options) {
    options = options || {};
    if (options.wards !== false) {
      map.addSource("wards", { type: "geojson", data: "/geo/wards.geojson" });
      map.addLayer({ id: "wards-line", type: "line", source: "wards",
        paint: { "line-color": "#505a5f", "line-width": 1.2 } });
    }
    if (options.roads !== false) {
      map.addSource("roads", { type: "geojson", data: "/geo/roads.geojson" });
      map.addLayer({ id: "roads", type: "line", source: "roads",
        layout: { visibility: options.roadsVisibility || "visible" },
        paint: { "line-color": "#b1b4b6",
                 "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 15, 2.5] } });
    }
  }

  // The tests (and people) wait for data-ready before reading the map; data-ready-ms is the
  // time since navigation started, which the benchmark reads.
  function markReady(map, element) {
    map.once("idle", function () {
      element.setAttribute("data-ready-ms", String(Math.round(performance.now())));
      element.setAttribute("data-ready", "true");
    });
  }

  // A label under the pointer for features of `layer`; describe(properties) gives its text.
  function hoverLabel(map, layer, describe, clickable) {
    var popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
    map.on("mousemove", layer, function (event) {
      map.getCanvas().style.cursor = clickable ? "pointer" : "";
      var text = document.createElement("span");
      text.textContent = describe(event.features[0].properties);
      popup.setLngLat(event.lngLat).setDOMContent(text).addTo(map);
    });
    map.on("mouseleave", layer, function () {
      map.getCanvas().style.cursor = "";
      popup.remove();
    });
  }

  return { create: create, addContext: addContext, markReady: markReady, hoverLabel: hoverLabel };
})();
