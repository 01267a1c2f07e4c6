"""Screenshots of the web UI's main pages at 1280 and 375 px, for docs/screenshots/.

Builds the small Rutland demo of the web tests on a throwaway SQLite database (with the street
map drawn from the Rutland OSM extract), serves it and drives Debian's Chromium with Playwright. Run from the repository root after `make assets`:

    PLACEHUB_DATA_DIR=../shared/data .venv/bin/python scripts/web_screenshots.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from placehub.config import load_settings  # noqa: E402
from placehub.db import Database  # noqa: E402
from placehub.web.app import create_app  # noqa: E402
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, browser_sign_in  # noqa: E402
from tests.web.demo import build_small_demo  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PUBLIC = {"home": "/", "public-map": "/public/map", "public-air": "/public/air"}
OFFICER = {"overview": "/overview", "map": "/map", "alerts": "/alerts", "air": "/air",
           "rounds": "/rounds", "devices": "/devices", "api-docs": "/api/docs"}
WIDTHS = (1280, 375)


def main() -> None:
    from playwright.sync_api import sync_playwright

    data_dir = os.environ.get("PLACEHUB_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{work}/demo.sqlite3"
        database = Database(url)
        database.upgrade()
        settings = load_settings(environ={}, database_url=url, data_dir=data_dir,
                                 secret_key="screenshots")
        demo = build_small_demo(database, settings, Path(work))
        pages = dict(OFFICER, bin=f"/assets/{demo.thing_ids['litter_bin'][0]}")
        with LiveServer(create_app(demo.settings, database=database)) as server, \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for width in WIDTHS:
                # A phone shows a long first screen; a desktop the usual one.
                page = browser.new_page(base_url=server.url, viewport={
                    "width": width, "height": 1400 if width < 600 else 900})
                for signed_in, shots in ((False, PUBLIC), (True, pages)):
                    if signed_in:
                        browser_sign_in(page)
                    for name, path in shots.items():
                        page.goto(path)
                        if path.endswith("map"):
                            page.wait_for_selector("#map[data-ready=true]")
                            # The street map's labels come once their font is loaded.
                            page.wait_for_function(
                                "() => placehubMap.getLayer('basemap-place-labels')"
                                " && placehubMap.loaded()")
                        if path == "/api/docs":
                            page.wait_for_selector(".opblock")
                        target = OUT / f"{name}-{width}.png"
                        page.screenshot(path=str(target))
                        print(target.relative_to(ROOT))
                page.close()
            browser.close()
        database.dispose()


if __name__ == "__main__":
    main()
