// Draws a planning page's GeoJSON (from the map element's data-geojson): areas filled, points
// coloured by their layer. The tables under the map hold the same features.
(function () {
  "use strict";
  var element = document.getElementById("planning-map");
  if (!element || !window.maplibregl || !window.placehubMapBase) return;
  var base = window.placehubMapBase;
  var data = JSON.parse(element.dataset.geojson);
  var colours = JSON.parse(element.dataset.colours || "{}");
  var map = base.create(element);
  var isArea = ["==", ["geometry-type"], "Polygon"];
  var colour = ["coalesce", ["get", ["get", "layer"], ["literal", colours]], "#1d70b8"];

  map.on("load", function () {
    base.addContext(map, { roads: element.dataset.roads !== "none" });
    map.addSource("planning", { type: "geojson", data: data });
    map.addLayer({ id: "areas", type: "fill", source: "planning", filter: isArea,
      paint: { "fill-color": "#d4351c", "fill-opacity": 0.25, "fill-outline-color": "#942514" } });
    map.addLayer({ id: "points", type: "circle", source: "planning", filter: ["!", isArea],
      paint: { "circle-radius": 6, "circle-color": colour,
               "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } });
    base.markReady(map, element);
  });

  base.hoverLabel(map, "points", function (p) {
    return (p.name || p.ref || "") + (p.status ? " (" + p.status + ")" : "") +
      (p.free !== undefined && p.free !== null && p.free !== "null" ? ": " + p.free + " free" : "");
  }, false);
  window.placehubPlanningMap = map;
})();
