// Starts GOV.UK Frontend's components (error summary focus, tabs, details, ...).
import { initAll } from "/static/build/govuk-frontend.min.js";

initAll();

// A column's name as shown: a sortable header's hint for screen readers ("sorted ascending")
// left out of the label.
function shownName(th) {
  const copy = th.cloneNode(true);
  copy.querySelectorAll(".govuk-visually-hidden").forEach((hidden) => hidden.remove());
  return copy.textContent.trim();
}

// Narrow screens stack tables (placehub.scss): each cell is labelled with its column's name.
for (const table of document.querySelectorAll("main .govuk-table")) {
  const names = [...table.querySelectorAll("thead th")].map(shownName);
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, index) => {
      if (!cell.hasAttribute("data-label") && names[index]) cell.dataset.label = names[index];
    });
  }
}
