"""A viewer is offered no action they cannot take: every page of the app, read as a viewer of
the council on a populated database, holds no form posting to a route that refuses the viewer
and no button for such an action; the council's editor, on the same pages, is offered them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from placehub.access import service
from placehub.db import Database
from tests.web.conftest import sign_in
from tests.web.demo import raise_alert
from tests.web.seed import PASSWORD, seed
from tests.web.test_route_access import OPEN, PAGE, PUBLIC, ROUTES, Case, _fill

# Words of buttons that change data; a viewer's page shows none of them.
ACTION_WORDS = re.compile(r"^(Acknowledge|Resolve|Mark done|Done|Skip|Plan round|Re-plan|"
                          r"Replay|Register|Import|Create)\b")


@dataclass
class Form:
    method: str
    action: str
    buttons: list[str] = field(default_factory=list)


class FormFinder(HTMLParser):
    """The forms of a page with their buttons' text, and buttons outside any form."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.loose_buttons: list[str] = []
        self._form: Form | None = None
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self._form = Form((values.get("method") or "get").lower(), values.get("action") or "")
            self.forms.append(self._form)
        elif tag == "button":
            self._button = []
        elif tag == "input" and values.get("type") == "submit":
            self._add_button(values.get("value") or "")

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "button" and self._button is not None:
            self._add_button(" ".join("".join(self._button).split()))
            self._button = None

    def _add_button(self, text: str) -> None:
        (self._form.buttons if self._form is not None else self.loose_buttons).append(text)


def _route_of(method: str, action: str) -> tuple[tuple[str, str], Case] | None:
    """The ROUTES entry a form's action reaches."""
    path = action.split("?", 1)[0]
    for (route_method, template), case in ROUTES.items():
        if route_method != method:
            continue
        pattern = re.sub(r"\{[^}:]+:path\}", ".*", template)
        pattern = re.sub(r"\{[^}]+\}", "[^/]+", pattern)
        if re.fullmatch(pattern, path):
            return (route_method, template), case
    return None


def _viewer_may(case: Case) -> bool:
    """The access table's rule for what a viewer of the owning council may send."""
    return case.kind == OPEN or case.reads or case.own


def offered_actions(html: str) -> list[str]:
    """The actions a page offers that a viewer may not take: forms posting to such routes,
    and action buttons anywhere else."""
    finder = FormFinder()
    finder.feed(html)
    found = []
    for form in finder.forms:
        if form.method != "post":
            found += [f"button {b!r} in a GET form" for b in form.buttons if ACTION_WORDS.match(b)]
            continue
        route = _route_of("POST", form.action)
        if route is None:
            found.append(f"form posting to {form.action!r}, which is no route")
        elif not _viewer_may(route[1]):
            found.append(f"form posting to {form.action} ({', '.join(form.buttons)})")
    found += [f"button {b!r}" for b in finder.loose_buttons if ACTION_WORDS.match(b)]
    return found


@dataclass
class Town:
    """Seeded ids for the URLs, and a client per reader."""

    ids: dict[str, Any]
    viewer: TestClient
    editor: TestClient


@pytest.fixture
def town(app: FastAPI, client: TestClient, database: Database) -> Town:
    """The seeded council with a viewer, an open alert, tomorrow's waste round (which the
    viewer may read) and a job, read by the council's viewer and its editor."""
    seeded = seed(database, bins=8, history_hours=24)
    with database.begin() as conn:
        viewer = service.create_user(conn, "viewer", password=PASSWORD)
        service.grant_role(conn, viewer, seeded.organisation_id, "viewer")
        token = service.create_token(conn, service.user_id(conn, "officer"), "tests")
        for name in ("Bin 001 Oakham", "Bin 002 Oakham"):
            raise_alert(conn, seeded.things[name])
    owner = {"Authorization": f"Bearer {token}"}
    plan = client.post("/api/rounds/plans", headers=owner, json={
        "service": "waste", "date": (datetime.now(UTC) + timedelta(days=1)).date().isoformat(),
        "runtime_seconds": 0.3})
    assert plan.status_code == 201, plan.text
    detail = plan.json()
    number, stop = next((n + 1, s) for n, v in enumerate(detail["vehicles"])
                        for s in v["stops"] if s.get("asset_id"))
    alert = client.get("/api/alerts", headers=owner).json()[0]["id"]
    ids = {"council": seeded.organisation_id, "thing": seeded.things["Bin 001 Oakham"],
           "station": seeded.things["Air quality Oakham High Street"], "plan": detail["id"],
           "vehicle": number, "stop": stop["id"], "alert": alert, "rule": 1, "team": 1,
           "datastream": 1}
    editor = TestClient(app, base_url="http://testserver")
    sign_in(editor, "officer")
    started = editor.post("/devices/dead-letters/replay",
                          data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                        editor.get("/rounds").text)[1]},
                          follow_redirects=False)
    ids["job"] = started.headers["location"].rsplit("/", 1)[-1]
    reader = TestClient(app, base_url="http://testserver")
    sign_in(reader, "viewer")
    return Town(ids, reader, editor)


def _pages() -> list[tuple[str, Case]]:
    """Every page route (GET, HTML) of the access table."""
    return [(path, case) for (method, path), case in sorted(ROUTES.items())
            if method == "GET" and case.kind in {PAGE, PUBLIC, OPEN}
            and not re.search(r"\.(json|csv|geojson)$|^/(api|sta|geo|static)|^/(healthz|metrics|"
                              r"brand\.css)$", path)]


def test_a_viewer_is_offered_no_action_they_cannot_take(town: Town) -> None:
    """Every page, read by a viewer of the council, offers no form or button for an action the
    viewer may not take; the pages with actions (alerts, rounds, crew) were really read."""
    problems, read = [], set()
    for path, case in _pages():
        url = _fill(case.url, town.ids)
        response = town.viewer.get(url, follow_redirects=False)
        assert response.status_code < 500, f"{url}: {response.status_code}"
        if response.status_code == 200 and "text/html" in response.headers["content-type"]:
            read.add(path)
            problems += [f"{url}: {p}" for p in offered_actions(response.text)]
    assert not problems, "\n".join(problems)
    assert {"/alerts", "/alerts/{alert_id}", "/rounds", "/rounds/{plan_id}",
            "/rounds/{plan_id}/vehicles/{number}/crew", "/overview"} <= read


def test_the_editor_is_offered_the_same_pages_actions(town: Town) -> None:
    """The council's editor gets the actions the viewer does not: the check above would see
    them (Acknowledge, Mark done, Skip, Done, Re-plan, Plan round)."""
    offered = {}
    for path in ("/alerts", "/alerts/{alert}", "/rounds", "/rounds/{plan}",
                 "/rounds/{plan}/vehicles/{vehicle}/crew"):
        url = _fill(path, town.ids)
        page = town.editor.get(url)
        assert page.status_code == 200, url
        offered[path] = " ".join(offered_actions(page.text))
    assert "/alerts/acknowledge" in offered["/alerts"]
    assert "Acknowledge" in offered["/alerts/{alert}"]
    assert "Plan round" in offered["/rounds"]
    assert "Mark done" in offered["/rounds/{plan}"] and "Re-plan" in offered["/rounds/{plan}"]
    assert "Done" in offered["/rounds/{plan}/vehicles/{vehicle}/crew"]
