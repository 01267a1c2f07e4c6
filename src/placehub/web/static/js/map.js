// Draws the assets map with MapLibre GL from placehub's own GeoJSON (no tiles, no CDN).
// The page's table and filters work without this script; the map adds the picture.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.maplibregl) return;

  var STATUS_COLOURS = [
    "match", ["get", "status"],
    "ok", "#00703c", "nearly-full", "#f47738", "full", "#d4351c", "dry", "#b58840",
    "exceeding", "#d4351c", "silent", "#505a5f", "no-data", "#505a5f", "#b1b4b6"
  ];
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
    pitchWithRotate: false
  });
  map.touchZoomRotate.disableRotation();
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.AttributionControl({
    compact: false,
    customAttribution: "© OpenStreetMap contributors; contains OS data © Crown copyright"
  }));
  map.getCanvas().setAttribute("aria-label", element.getAttribute("aria-label"));

  map.on("load", function () {
    if (element.dataset.layers === "true") {
      map.addSource("wards", { type: "geojson", data: "/geo/wards.geojson" });
      map.addLayer({ id: "wards-fill", type: "fill", source: "wards",
        paint: { "fill-color": "#ffffff", "fill-opacity": 0.6 } });
      map.addLayer({ id: "wards-line", type: "line", source: "wards",
        paint: { "line-color": "#505a5f", "line-width": 1.2 } });
      map.addSource("roads", { type: "geojson", data: "/geo/roads.geojson" });
      map.addLayer({ id: "roads", type: "line", source: "roads",
        paint: { "line-color": "#b1b4b6", "line-width": 1 } });
    }
    map.addSource("assets", { type: "geojson", data: element.dataset.assetsUrl });
    map.addLayer({ id: "assets", type: "circle", source: "assets", paint: {
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 3, 14, 7],
      "circle-color": STATUS_COLOURS,
      "circle-stroke-color": "#0b0c0c",
      "circle-stroke-width": 1
    } });
    map.once("idle", function () { element.setAttribute("data-ready", "true"); });
  });

  var popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false });
  map.on("mousemove", "assets", function (event) {
    map.getCanvas().style.cursor = element.dataset.link === "true" ? "pointer" : "";
    var p = event.features[0].properties;
    var text = document.createElement("span");
    text.textContent = p.name + " – " + p.type_label + ", " + p.status_label +
      (p.fill !== null && p.fill !== undefined && p.fill !== "null" ? " (" + p.fill + "% full)" : "");
    popup.setLngLat(event.lngLat).setDOMContent(text).addTo(map);
  });
  map.on("mouseleave", "assets", function () {
    map.getCanvas().style.cursor = "";
    popup.remove();
  });
  map.on("click", "assets", function (event) {
    if (element.dataset.link !== "true") return;
    window.location.href = "/assets/" + event.features[0].properties.id;
  });
  window.placehubMap = map;
})();
