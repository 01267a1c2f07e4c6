// Builds the web UI's assets from node_modules into src/placehub/web/static/build/ (git-ignored).
// Sass is compiled with the Node package importer (the API form of `sass --pkg-importer=node`);
// the council brand colour (PLACEHUB_BRAND_COLOUR, default the setting's default) is baked in as
// the fallback of GOV.UK Frontend's CSS custom properties, which placehub overrides at run time.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const web = join(root, "src", "placehub", "web");
const out = join(web, "static", "build");
const brand = process.env.PLACEHUB_BRAND_COLOUR || "#00594f";
if (!/^#[0-9a-fA-F]{6}$/.test(brand)) {
  console.error(`PLACEHUB_BRAND_COLOUR=${brand}: use a six-digit hex colour such as #00594f`);
  process.exit(1);
}

mkdirSync(join(out, "fonts"), { recursive: true });
const css = sass.compileString(`@use "placehub" with ($brand: ${brand});`, {
  importers: [new sass.NodePackageImporter()],
  loadPaths: [join(web, "assets")],
  style: "compressed",
  quietDeps: true,
  silenceDeprecations: ["import"],
});
writeFileSync(join(out, "placehub.css"), css.css);

// Only scripts and styles: no GOV.UK images (the crown) and no fonts (a system font stack is used).
const copies = {
  "govuk-frontend/dist/govuk/govuk-frontend.min.js": "govuk-frontend.min.js",
  "maplibre-gl/dist/maplibre-gl.css": "maplibre-gl.css",
  // The CSP build loads its worker from a URL the browser caches, instead of a blob per page.
  "maplibre-gl/dist/maplibre-gl-csp.js": "maplibre-gl-csp.js",
  "maplibre-gl/dist/maplibre-gl-csp-worker.js": "maplibre-gl-csp-worker.js",
  "d3/dist/d3.min.js": "d3.min.js",
  "@observablehq/plot/dist/plot.umd.min.js": "plot.umd.min.js",
  // The API reference page (/api/docs) runs Swagger UI from placehub's own files.
  "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
  "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
  // The street map's labels: MapLibre draws them from this font (Noto Sans, SIL OFL 1.1, whose
  // licence travels with it), so no glyph server is needed.
  "@fontsource/noto-sans/files/noto-sans-latin-400-normal.woff2": "fonts/noto-sans-latin-400-normal.woff2",
  "@fontsource/noto-sans/files/noto-sans-latin-700-normal.woff2": "fonts/noto-sans-latin-700-normal.woff2",
  "@fontsource/noto-sans/LICENSE": "fonts/OFL.txt",
};
for (const [from, to] of Object.entries(copies)) {
  copyFileSync(join(root, "node_modules", from), join(out, to));
}
writeFileSync(join(out, "BUILT"), `brand ${brand}\n`);
console.log(`web assets built in ${out} (brand colour ${brand})`);
