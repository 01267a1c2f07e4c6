// Starts GOV.UK Frontend's components (error summary focus, tabs, details, ...).
import { initAll } from "/static/build/govuk-frontend.min.js";

initAll();

// Narrow screens stack tables (placehub.scss): each cell is labelled with its column's name.
for (const table of document.querySelectorAll("main .govuk-table")) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
  for (const row of table.querySelectorAll("tbody tr")) {
    [...row.children].forEach((cell, index) => {
      if (!cell.hasAttribute("data-label") && names[index]) cell.dataset.label = names[index];
    });
  }
}
