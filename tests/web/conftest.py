"""Fixtures for the web tests: seeded data, a signed-in client, and for browser tests a real
uvicorn server in a thread plus Debian's Chromium driven by Playwright."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from placehub.config import Settings
from placehub.db import Database
from tests import db_snapshot
from tests.web.demo import Demo, build_small_demo
from tests.web.seed import PASSWORD, Seeded, seed

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
BUILT_ASSETS = REPO / "src" / "placehub" / "web" / "static" / "build" / "BUILT"


@pytest.fixture
def seeded(database: Database) -> Seeded:
    """The database with a council, officers and assets."""
    return seed(database)


def csrf_of(html: str) -> str:
    """The CSRF token in a page's form."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, username: str = "officer", password: str = PASSWORD) -> None:
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303, response.text


@pytest.fixture
def officer_client(client: TestClient, seeded: Seeded) -> TestClient:
    """A client signed in as the council's editor."""
    sign_in(client)
    return client


@pytest.fixture
def demo(database: Database, settings: Settings, tmp_path: Path, road_network_file: Path,
         fixed_clock: datetime | None) -> Demo:
    """The small demo in the test database (built once per test process, database and clock,
    then restored: see ``db_snapshot.built_once``)."""
    built = db_snapshot.built_once(
        ("web demo", database.url, fixed_clock), database,
        lambda: build_small_demo(database, settings, tmp_path, road_network_file))
    return replace(built, thing_ids={k: list(v) for k, v in built.thing_ids.items()})


@pytest.fixture
def demo_client(demo: Demo, database: Database) -> TestClient:
    """A client for the app on the demo data (not signed in)."""
    from placehub.web.app import create_app

    return TestClient(create_app(demo.settings, database=database), base_url="http://testserver")


def finish_job(client: TestClient, started: Any, timeout: float = 60) -> Any:
    """Follow a job started by a form (303 to its progress page) to its result page."""
    assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
    job_url = started.headers["location"]
    deadline = time.monotonic() + timeout
    while (state := client.get(job_url + ".json").json())["state"] == "running":
        assert time.monotonic() < deadline, f"job {job_url} took over {timeout} s"
        time.sleep(0.1)
    assert state["state"] == "done", state
    return client.get(state["result_url"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving the app in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start within 10 s")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live_server(settings: Settings, database: Database, seeded: Seeded) -> Iterator[LiveServer]:
    """The app with seeded data, served over real HTTP."""
    from placehub.web.app import create_app

    with LiveServer(create_app(settings, database=database)) as server:
        yield server


# Per module, not per session: while Playwright's sync API runs, the worker's main thread has a
# running event loop, so a later test's asyncio.run (or a second Playwright) would fail there.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with background networking off."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)")
    if not BUILT_ASSETS.exists() or not AXE.exists():
        pytest.fail("the web UI's npm assets are not built (no static/build or axe-core): "
                    "run 'make assets' (npm ci + build); 'make test' does this first")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser page (own cookies) that fails the test on any CSP violation."""
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)
    page.csp_problems = problems
    yield page
    context.close()
    assert not problems, f"Content-Security-Policy violations: {problems}"


def browser_sign_in(page: Any, username: str = "officer") -> None:
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/overview$"))


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the current page."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run 'make assets' (npm ci)")
    # Evaluated through DevTools, so the page's CSP (which forbids inline scripts) still holds.
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in {"serious", "critical"}]
