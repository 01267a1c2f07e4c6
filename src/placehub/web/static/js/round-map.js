// Draws a round plan's routes and stops (one colour per vehicle) from /rounds/{plan}/routes.geojson.
// The page's tables per vehicle hold the same stops; selecting a stop on the map goes to its row.
(function () {
  "use strict";
  var element = document.getElementById("round-map");
  if (!element || !window.maplibregl || !window.placehubMapBase) return;
  var base = window.placehubMapBase;
  var map = base.create(element);
  var isRoute = ["==", ["get", "kind"], "route"];

  map.on("load", function () {
    base.addContext(map);
    map.addSource("round", { type: "geojson", data: element.dataset.routesUrl });
    map.addLayer({ id: "routes", type: "line", source: "round", filter: isRoute,
      layout: { "line-join": "round", "line-cap": "round" },
      paint: { "line-color": ["get", "colour"], "line-width": 3, "line-opacity": 0.85 } });
    map.addLayer({ id: "stops", type: "circle", source: "round", filter: ["!", isRoute], paint: {
      "circle-radius": ["case", ["==", ["get", "kind"], "asset"], 6, 8],
      "circle-color": ["case", ["==", ["get", "kind"], "asset"], ["get", "colour"], "#0b0c0c"],
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 2
    } });
    base.markReady(map, element);
  });

  base.hoverLabel(map, "stops", function (p) {
    return "Vehicle " + p.vehicle + ", stop " + p.sequence + ": " + p.name +
      (p.arrival ? " at " + p.arrival : "") + (p.status && p.status !== "planned" ? " (" + p.status + ")" : "");
  }, true);
  map.on("click", "stops", function (event) {
    var p = event.features[0].properties;
    if (p.stop_id !== undefined && p.stop_id !== null && p.stop_id !== "null") {
      window.location.hash = "stop-" + p.stop_id;
    }
  });
  window.placehubRoundMap = map;
})();
