// Starts GOV.UK Frontend's components (error summary focus, tabs, details, ...).
import { initAll } from "/static/build/govuk-frontend.min.js";

initAll();
