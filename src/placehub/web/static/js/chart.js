// Draws a reading history with Observable Plot (SVG). The same data is in the page as a table
// and as CSV, so the chart is an addition, not the only way to read it.
(function () {
  "use strict";
  var element = document.getElementById("history-chart");
  if (!element || !window.Plot) return;
  // Plot adds a <style> element to its SVG; the page's CSP nonce lets it apply.
  var nonceHolder = document.querySelector("script[nonce]");
  var nonce = nonceHolder ? nonceHolder.nonce : "";
  fetch(element.dataset.url, { credentials: "same-origin" })
    .then(function (response) { return response.json(); })
    .then(function (data) {
      var points = data.points
        .filter(function (p) { return typeof p.value === "number"; })
        .map(function (p) { return { time: new Date(p.time), value: p.value }; });
      if (!points.length) {
        element.textContent = "No readings in this period.";
        return;
      }
      var chart = Plot.plot({
        width: element.clientWidth || 640,
        height: 260,
        marginLeft: 50,
        ariaLabel: "Chart of " + element.dataset.label,
        ariaDescription: points.length + " readings; see the table below for the values.",
        x: { type: "utc", label: "Time (UTC)" },
        y: { label: element.dataset.label, grid: true },
        marks: [Plot.lineY(points, { x: "time", y: "value", stroke: "#00594f" }), Plot.ruleY([0])]
      });
      // Plot labels its <g> groups with aria-label, which ARIA forbids on an element without a
      // role; the chart as a whole is one image with a label and description.
      chart.querySelectorAll("g[aria-label]").forEach(function (g) { g.removeAttribute("aria-label"); });
      chart.setAttribute("role", "img");
      chart.querySelectorAll("style").forEach(function (style) { style.setAttribute("nonce", nonce); });
      element.replaceChildren(chart);
    })
    .catch(function () { element.textContent = "The chart could not be drawn; the table below has the readings."; });
})();
