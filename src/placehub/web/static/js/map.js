// Draws the assets map with MapLibre GL from placehub's own GeoJSON (no CDN): one GeoJSON
// source and one symbol layer for every asset (no DOM element per asset), over the street map
// and ward outlines. The page's table and filters work without this script.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.maplibregl || !window.placehubMapBase) return;
  var base = window.placehubMapBase;

  // The compact GeoJSON gives codes: s status, t type, n name, f fill (%); the id is the asset's.
  // Each status has its own shape and colour (web.symbols), drawn here into map images.
  var symbols = JSON.parse(element.dataset.symbols || "{}");
  var labels = JSON.parse(element.dataset.labels || "{}");
  var statusLabels = labels.status || {};
  var typeLabels = labels.type || {};
  var roadsCheckbox = document.getElementById("hide_roads");
  var linked = element.dataset.link === "true";
  var map = base.create(element);

  // One image per status: its SVG path filled and outlined on a canvas (2x for sharp edges).
  function addSymbolImages(map) {
    var size = 32;
    Object.keys(symbols).forEach(function (status) {
      var symbol = symbols[status];
      if (!symbol.path) return;
      var canvas = document.createElement("canvas");
      canvas.width = canvas.height = size;
      var context = canvas.getContext("2d");
      context.scale(size / 16, size / 16);
      var path = new Path2D(symbol.path);
      context.fillStyle = symbol.fill;
      context.fill(path);
      context.lineWidth = 1.5;
      context.strokeStyle = symbols.outline || "#0b0c0c";
      context.stroke(path);
      map.addImage("status-" + status, context.getImageData(0, 0, size, size),
                   { pixelRatio: 2 });
    });
  }

  function roadsVisibility() {
    return roadsCheckbox && roadsCheckbox.checked ? "none" : "visible";
  }

  // Past a few thousand assets the map loads placehub's asset tiles (only the tiles in view),
  // which group the assets (numbered circles, split as one zooms in) below street zoom,
  // instead of every asset as one GeoJSON.
  var clustered = element.dataset.cluster === "true";
  var single = ["!", ["has", "point_count"]];
  var fromTiles = clustered ? { "source-layer": "assets" } : {};

  function assetLayer(layer) {
    return Object.assign({ source: "assets" }, fromTiles, layer);
  }

  map.on("load", function () {
    // Added in this order, the map's worker reads the assets before the layers under them.
    map.addSource("assets", clustered
      ? { type: "vector", tiles: [location.origin + element.dataset.assetTiles], maxzoom: 16 }
      : { type: "geojson", data: element.dataset.assetsUrl });
    base.addContext(map, { wards: true,
                           roads: element.dataset.roads !== "none",
                           roadsVisibility: roadsVisibility() });
    addSymbolImages(map);
    map.addLayer(assetLayer({ id: "assets", type: "symbol", filter: single, layout: {
      "icon-image": ["coalesce", ["image", ["concat", "status-", ["get", "s"]]],
                     ["image", "status-unknown"]],
      "icon-size": ["interpolate", ["linear"], ["zoom"], 9, 0.55, 14, 1.1],
      "icon-allow-overlap": true,
      "icon-ignore-placement": true
    } }));
    if (clustered) {
      map.addLayer(assetLayer({ id: "asset-groups", type: "circle",
        filter: ["has", "point_count"], paint: {
          "circle-color": "#0b0c0c", "circle-opacity": 0.82,
          "circle-stroke-color": "#ffffff", "circle-stroke-width": 2,
          "circle-radius": ["step", ["get", "point_count"], 11, 100, 15, 1000, 20, 10000, 26]
        } }));
      base.fontsReady.then(function () {
        map.addLayer(assetLayer({ id: "asset-group-counts", type: "symbol",
          filter: ["has", "point_count"], layout: {
            "text-field": ["get", "point_count_abbreviated"],
            "text-font": ["literal", ["Noto Sans Bold"]], "text-size": 12,
            "text-allow-overlap": true, "text-ignore-placement": true
          }, paint: { "text-color": "#ffffff" } }));
      });
      base.hoverLabel(map, "asset-groups", function (p) {
        return p.point_count + " assets here: zoom in, or select, to see each";
      }, true);
      // A group splits as one zooms in: selecting it zooms two levels in on it.
      map.on("click", "asset-groups", function (event) {
        map.easeTo({ center: event.lngLat, zoom: Math.min(map.getZoom() + 2, 17) });
      });
    }
    base.markReady(map, element);
  });

  // Showing or hiding roads takes effect at once; "Apply filters" keeps the choice in the URL.
  if (roadsCheckbox) {
    roadsCheckbox.addEventListener("change", function () {
      base.setRoadsVisibility(map, roadsVisibility());
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
