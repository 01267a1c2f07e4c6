// Draws a hazard area on the map: each click on the map adds a corner; selecting the first
// corner again, or "Finish the area", closes the outline. The closed outline is written into
// the form's GeoJSON field, which also takes a pasted area or sits beside a file upload, so the
// map is never the only way to give an area.
(function () {
  "use strict";
  var element = document.getElementById("draw-map");
  var field = document.getElementById("area");
  if (!element || !field || !window.maplibregl || !window.placehubMapBase) return;
  var base = window.placehubMapBase;
  var status = document.getElementById("draw-status");
  var controls = document.getElementById("draw-controls");
  var corners = [];
  var closed = false;
  var map = base.create(element);
  // Selections add corners, so a quick second one must not zoom the map.
  map.doubleClickZoom.disable();
  var CLOSE_PX = 12;

  function ring() { return corners.concat([corners[0]]); }

  function drawn() {
    var features = corners.map(function (c) {
      return { type: "Feature", geometry: { type: "Point", coordinates: c }, properties: {} };
    });
    if (corners.length >= 2) {
      features.push({ type: "Feature", properties: {}, geometry: closed
        ? { type: "Polygon", coordinates: [ring()] }
        : { type: "LineString", coordinates: corners } });
    }
    return { type: "FeatureCollection", features: features };
  }

  function say(text) { status.textContent = text; }

  function render() {
    var source = map.getSource("drawn");
    if (source) source.setData(drawn());
    if (closed) {
      field.value = JSON.stringify({ type: "Feature", properties: {},
        geometry: { type: "Polygon", coordinates: [ring()] } });
      say("Area drawn with " + corners.length + " corners and written into the GeoJSON box. " +
          "Assess the area, or Clear to start again.");
    } else if (corners.length) {
      say(corners.length + (corners.length === 1 ? " corner" : " corners") + ". " +
          (corners.length >= 3 ? "Select the first corner or Finish the area to close it."
                               : "Select the map to add corners."));
    } else {
      say("Select points on the map to outline the area.");
    }
  }

  map.on("load", function () {
    base.addContext(map, { roads: false });
    map.addSource("drawn", { type: "geojson", data: drawn() });
    map.addLayer({ id: "drawn-area", type: "fill", source: "drawn",
      filter: ["==", ["geometry-type"], "Polygon"],
      paint: { "fill-color": "#d4351c", "fill-opacity": 0.25 } });
    map.addLayer({ id: "drawn-outline", type: "line", source: "drawn",
      filter: ["!=", ["geometry-type"], "Point"],
      paint: { "line-color": "#942514", "line-width": 2.5 } });
    map.addLayer({ id: "drawn-corners", type: "circle", source: "drawn",
      filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 5, "circle-color": "#ffffff", "circle-stroke-color": "#942514",
               "circle-stroke-width": 2 } });
    base.markReady(map, element);
  });

  map.on("click", function (event) {
    if (closed) return;
    if (corners.length >= 3) {
      var first = map.project(corners[0]);
      if (Math.hypot(first.x - event.point.x, first.y - event.point.y) <= CLOSE_PX) {
        closed = true;
        render();
        return;
      }
    }
    corners.push([Number(event.lngLat.lng.toFixed(6)), Number(event.lngLat.lat.toFixed(6))]);
    render();
  });

  document.getElementById("draw-finish").addEventListener("click", function () {
    if (corners.length < 3) { say("An area needs at least three corners."); return; }
    closed = true;
    render();
  });
  document.getElementById("draw-undo").addEventListener("click", function () {
    if (closed) closed = false; else corners.pop();
    render();
  });
  document.getElementById("draw-clear").addEventListener("click", function () {
    corners = [];
    closed = false;
    field.value = "";
    render();
  });
  controls.hidden = false;
  render();
  window.placehubDrawMap = map;
})();
