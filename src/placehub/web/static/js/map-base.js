// Shared MapLibre GL set-up for placehub's maps: the CSP build's worker from placehub's own
// files, the street map from placehub's own vector tiles (/tiles, drawn from the area's
// OpenStreetMap extract; no tile server, no CDN) with labels in Noto Sans (from placehub's own
// font files, drawn locally by MapLibre: no glyph server), the starting bounds, zoom buttons,
// the data credits, the map's accessible name on its canvas, ward layers, the data-ready marker
// and a hover label. Each map's own script adds its data layers.
window.placehubMapBase = (function () {
  "use strict";
  var CREDITS = "© OpenStreetMap contributors; contains OS data © Crown copyright";
  var FONT = "Noto Sans";
  var BOLD = "Noto Sans Bold";
  // Labels wait for the font: MapLibre draws each glyph once, with whatever font is loaded then.
  var fontsReady = document.fonts && document.fonts.load
    ? Promise.all([document.fonts.load('16px "' + FONT + '"'),
                   document.fonts.load('700 16px "' + BOLD + '"')]).catch(function () {})
    : Promise.resolve();

  // Road widths in pixels by zoom (doubling per zoom level close up), per kind of road.
  var ROAD_WIDTHS = {
    major: [6, 1, 10, 2.5, 14, 7, 18, 26],
    secondary: [8, 0.8, 10, 1.8, 14, 6, 18, 22],
    tertiary: [10, 0.8, 14, 5, 18, 18],
    minor: [12, 0.6, 14, 3.5, 18, 14],
    service: [14, 1.2, 18, 7]
  };
  var ROAD_COLOURS = { major: "#f8d67a", secondary: "#fbe7a9", tertiary: "#ffffff",
                       minor: "#ffffff", service: "#ffffff" };

  // A kind's width at zoom z, between its stops (the first width below them).
  function widthAt(stops, z) {
    if (z <= stops[0]) return stops[1];
    for (var i = 2; i < stops.length; i += 2) {
      if (z <= stops[i]) {
        var t = (z - stops[i - 2]) / (stops[i] - stops[i - 2]);
        return stops[i - 1] + t * (stops[i + 1] - stops[i - 1]);
      }
    }
    return stops[stops.length - 1];
  }

  // MapLibre allows one zoom curve per expression: the zoom curve is outside, the kind inside.
  function roadWidth(extra) {
    var curve = ["interpolate", ["exponential", 1.5], ["zoom"]];
    [6, 8, 10, 12, 14, 16, 18].forEach(function (z) {
      var width = ["match", ["get", "kind"]];
      Object.keys(ROAD_WIDTHS).forEach(function (kind) {
        width.push(kind, widthAt(ROAD_WIDTHS[kind], z) + extra);
      });
      width.push(1);
      curve.push(z, width);
    });
    return curve;
  }

  // The street map under the data: land use, water, roads (cased), quiet colours so the
  // council's markers stand out. Labels come later (addLabels), once the font is loaded.
  function basemapLayers() {
    var roads = ["match", ["get", "kind"], ["major", "secondary", "tertiary", "minor", "service"],
                 true, false];
    var roadColour = ["match", ["get", "kind"]];
    Object.keys(ROAD_COLOURS).forEach(function (kind) { roadColour.push(kind, ROAD_COLOURS[kind]); });
    roadColour.push("#ffffff");
    return [
      { id: "basemap-landuse", type: "fill", source: "basemap", "source-layer": "landuse",
        paint: { "fill-color": ["match", ["get", "kind"], "wood", "#d3e5c8", "park", "#dcecd2",
                                "grass", "#e3edd9", "residential", "#e9e6e1",
                                "industrial", "#e6e0ea", "#ebeae7"] } },
      { id: "basemap-water", type: "fill", source: "basemap", "source-layer": "water",
        paint: { "fill-color": "#b3d3ec" } },
      { id: "basemap-waterways", type: "line", source: "basemap", "source-layer": "waterways",
        paint: { "line-color": "#8fbbe0",
                 "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.6, 16, 3] } },
      { id: "basemap-paths", type: "line", source: "basemap", "source-layer": "roads",
        filter: ["==", ["get", "kind"], "path"],
        paint: { "line-color": "#8e9396", "line-width": 1, "line-dasharray": [2, 1.5] } },
      { id: "basemap-road-casing", type: "line", source: "basemap", "source-layer": "roads",
        filter: roads, layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": "#a3a8ab", "line-width": roadWidth(1.5) } },
      { id: "basemap-roads", type: "line", source: "basemap", "source-layer": "roads",
        filter: roads, layout: { "line-join": "round", "line-cap": "round" },
        paint: { "line-color": roadColour, "line-width": roadWidth(0) } }
    ];
  }

  function labelLayers() {
    return [
      { id: "basemap-road-labels", type: "symbol", source: "basemap", "source-layer": "roads",
        minzoom: 12, filter: ["any", ["has", "name"], ["has", "ref"]],
        layout: { "symbol-placement": "line", "text-field": ["coalesce", ["get", "name"], ["get", "ref"]],
                  "text-font": ["literal", [FONT]],
                  "text-size": ["interpolate", ["linear"], ["zoom"], 12, 10, 16, 13],
                  "text-max-angle": 30, "symbol-spacing": 320 },
        paint: { "text-color": "#383f43", "text-halo-color": "#ffffff", "text-halo-width": 1.5 } },
      { id: "basemap-place-labels", type: "symbol", source: "basemap", "source-layer": "places",
        layout: { "text-field": ["get", "name"],
                  "text-font": ["case", ["in", ["get", "kind"], ["literal", ["city", "town"]]],
                                ["literal", [BOLD]], ["literal", [FONT]]],
                  "text-size": ["match", ["get", "kind"], ["city", "town"], 16, "village", 13, 11],
                  "symbol-sort-key": ["match", ["get", "kind"], ["city", "town"], 0, "village", 1, 2],
                  "text-padding": 4 },
        paint: { "text-color": "#0b0c0c", "text-halo-color": "#ffffff", "text-halo-width": 2 } }
    ];
  }

  // Labels go over the street map and ward outlines, under the council's data.
  function addLabels(map) {
    var before;
    map.getStyle().layers.some(function (layer) {
      if (layer.id === "background" || layer.id.indexOf("basemap-") === 0 ||
          layer.id === "wards-line" || layer.id === "roads") return false;
      before = layer.id;
      return true;
    });
    labelLayers().forEach(function (layer) { map.addLayer(layer, before); });
    setRoadsVisibility(map, map.getLayoutProperty("basemap-roads", "visibility") || "visible");
  }

  // The map element carries data-worker (the CSP build's worker file), data-bounds and
  // data-basemap (the street map's tile URL, empty when the hub has no OSM extract).
  function create(element) {
    if (element.dataset.worker) maplibregl.setWorkerUrl(element.dataset.worker);
    var bounds = element.dataset.bounds.split(",").map(Number);
    var tiles = element.dataset.basemap;
    var background = { id: "background", type: "background",
                       paint: { "background-color": tiles ? "#ebeae7" : "#f3f2f1" } };
    var map = new maplibregl.Map({
      container: element,
      style: {
        version: 8,
        sources: tiles ? { basemap: { type: "vector", tiles: [location.origin + tiles],
                                      minzoom: 0, maxzoom: 14 } } : {},
        layers: [background].concat(tiles ? basemapLayers() : [])
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
    map.placehubBasemap = Boolean(tiles);
    if (tiles) {
      var loaded = new Promise(function (resolve) { map.once("load", resolve); });
      Promise.all([loaded, fontsReady]).then(function () { addLabels(map); });
    }
    return map;
  }

  // Ward outlines (and, without a street map, the routing roads) under the data, for
  // orientation. options.wards / options.roads (default true) leave either out;
  // options.roadsVisibility is "visible" or "none".
  function addContext(map, options) {
    options = options || {};
    if (options.wards !== false) {
      map.addSource("wards", { type: "geojson", data: "/geo/wards.geojson" });
      map.addLayer({ id: "wards-line", type: "line", source: "wards",
        paint: { "line-color": "#505a5f", "line-width": 1.2 } });
    }
    if (map.placehubBasemap) {
      // The street map always has its roads; only the officer's choice hides them.
      setRoadsVisibility(map, options.roadsVisibility || "visible");
    } else if (options.roads !== false) {
      map.addSource("roads", { type: "geojson", data: "/geo/roads.geojson" });
      map.addLayer({ id: "roads", type: "line", source: "roads",
        layout: { visibility: options.roadsVisibility || "visible" },
        paint: { "line-color": "#b1b4b6",
                 "line-width": ["interpolate", ["linear"], ["zoom"], 10, 0.5, 15, 2.5] } });
    }
  }

  // Shows ("visible") or hides ("none") the roads: the street map's, or the routing network's.
  function setRoadsVisibility(map, visibility) {
    ["roads", "basemap-roads", "basemap-road-casing", "basemap-paths", "basemap-road-labels"]
      .forEach(function (id) {
        if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", visibility);
      });
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

  return { create: create, addContext: addContext, markReady: markReady, hoverLabel: hoverLabel,
           setRoadsVisibility: setRoadsVisibility, fontsReady: fontsReady };
})();
