"""HTTP routes of placehub.reports: the Open311 GeoReport v2 endpoint under /open311/v2/, in
JSON and XML (the address's extension chooses), and the notice timer while the app serves.

Reading services and requests is open to anyone (no personal data is in them); posting a
request needs an ``api_key`` (``placehub reports keys create``). Residents without a posting
system use the "Report a problem" page (``placehub.web.views.residents``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import FormData, UploadFile

from placehub.alerts.clock import SystemClock
from placehub.errors import BadRequest, PlacehubError
from placehub.lifespan import while_serving
from placehub.places.postcodes import find_postcode
from placehub.reports import keys, open311, store
from placehub.reports.notices import NoticeTimer
from placehub.reports.photos import CleanPhoto, clean_photo
from placehub.reports.services import SERVICES, SERVICES_CHANGESET, service_type
from placehub.reports.throttle import ReportThrottle

# Resolved alerts close their requests wherever the alert is resolved from.
store.install()


def now_of(request: Request) -> datetime:
    """The app's clock (tests set ``alerts_clock``), else the system's."""
    clock = getattr(request.app.state, "alerts_clock", None) or SystemClock()
    return clock.now()


def throttle_of(request: Request) -> ReportThrottle:
    return request.app.state.report_throttle


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def parse_float(value: Any, name: str) -> float:
    try:
        return float(str(value))
    except ValueError:
        raise BadRequest(f"{name}={str(value)[:30]!r} is not a number: give decimal degrees, "
                         "e.g. lat=52.6705&long=-0.7275") from None


def parse_when(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise BadRequest(f"{name}={value[:40]!r}: give an ISO 8601 time with its zone, e.g. "
                         "2026-12-01T00:00:00Z")
    return parsed


def read_photo(upload: Any, max_bytes: int) -> CleanPhoto | None:
    """The cleaned photo of a form's file field (None when no file was chosen)."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    data = upload.file.read(max_bytes + 1)
    return clean_photo(data, max_bytes)


def report_from_form(form: FormData, client: str, conn: Any, max_photo_bytes: int
                     ) -> store.NewReport:
    """A report from a GeoReport v2 POST (form fields; ``media`` as an optional file)."""
    code = str(form.get("service_code") or "").strip()
    if not code:
        raise BadRequest("service_code is required: list them at /open311/v2/services.json")
    service_type(code)
    address = str(form.get("address_string") or "").strip()
    postcode = None
    if form.get("lat") not in (None, "") or form.get("long") not in (None, ""):
        if form.get("lat") in (None, "") or form.get("long") in (None, ""):
            raise BadRequest("give both lat and long (or an address_string with a postcode)")
        lat, lon = parse_float(form.get("lat"), "lat"), parse_float(form.get("long"), "long")
    elif address:
        place = find_postcode(conn, address)
        lat, lon, postcode = place.lat, place.lon, place.postcode
    else:
        raise BadRequest("say where: give lat and long, or an address_string with a postcode")
    attributes = {key[len("attribute["):-1]: str(value) for key, value in form.multi_items()
                  if key.startswith("attribute[") and key.endswith("]")}
    return store.NewReport(
        service_code=code, lon=lon, lat=lat, description=str(form.get("description") or ""),
        client=client, address_string=address or None, postcode=postcode,
        email=str(form.get("email") or "") or None,
        first_name=str(form.get("first_name") or "") or None,
        last_name=str(form.get("last_name") or "") or None,
        phone=str(form.get("phone") or "") or None,
        media_url=str(form.get("media_url") or "") or None, attributes=attributes,
        photo=read_photo(form.get("media"), max_photo_bytes))


def submit(request: Request, report: store.NewReport, client_key: str) -> int:
    """Rate-limit, then store a report; returns the request id."""
    throttle_of(request).check(client_key)
    settings = request.app.state.settings
    with request.app.state.database.begin() as conn:
        return store.create_request(conn, report, store.ReportRules.from_settings(settings),
                                    now_of(request))


def _answer(fmt: str, make: Callable[[str], Response]) -> Response:
    """``make(format)``, with errors as GeoReport v2 error documents."""
    try:
        chosen = open311.response_format(fmt)
    except PlacehubError as error:
        return open311.errors("json", error.status_code, error.message)
    try:
        return make(chosen)
    except PlacehubError as error:
        return open311.errors(chosen, error.status_code, error.message, error.headers or None)


def register(app: FastAPI) -> None:
    """Add the Open311 routes; send reporters' notices while the app serves."""
    settings = app.state.settings
    app.state.report_throttle = ReportThrottle(int(settings.reports_rate_limit),
                                               float(settings.reports_rate_window_seconds))

    def start(application: Any) -> None:
        timer = NoticeTimer(application.state.database, application.state.settings,
                            getattr(application.state, "alerts_clock", None))
        application.state.report_notices = timer
        timer.start()

    while_serving(app, start, lambda application: application.state.report_notices.stop())

    @app.get("/open311/v2/discovery.{fmt}", tags=["open311"])
    def discovery(request: Request, fmt: str) -> Response:
        """GeoReport v2 service discovery: where the endpoint is and what it speaks."""
        contact = str(settings.feedback_email or settings.council_name)
        base = str(request.base_url).rstrip("/")
        return _answer(fmt, lambda f: open311.document(
            f, "discovery", open311.discovery(base, SERVICES_CHANGESET, contact)))

    @app.get("/open311/v2/services.{fmt}", tags=["open311"])
    def services(fmt: str) -> Response:
        """The kinds of problem that can be reported (GeoReport v2 service list)."""
        return _answer(fmt, lambda f: open311.document(
            f, "services", [open311.service_entry(s) for s in SERVICES]))

    @app.get("/open311/v2/services/{service_code}.{fmt}", tags=["open311"])
    def service_definition(service_code: str, fmt: str) -> Response:
        """The extra questions of one service (GeoReport v2 service definition)."""
        return _answer(fmt, lambda f: open311.document(
            f, "service_definition", open311.service_definition(service_type(service_code))))

    @app.get("/open311/v2/requests.{fmt}", tags=["open311"])
    def get_requests(request: Request, fmt: str) -> Response:
        """Service requests, newest first (the last 90 days unless dates or ids are given);
        public fields only."""
        params = request.query_params

        def listed(f: str) -> Response:
            ids = None
            if params.get("service_request_id"):
                try:
                    ids = [int(i) for i in params["service_request_id"].split(",") if i.strip()]
                except ValueError:
                    raise BadRequest("service_request_id: give ids separated by commas, e.g. "
                                     "12,15") from None
            codes = [c.strip() for c in params.get("service_code", "").split(",") if c.strip()]
            for code in codes:
                service_type(code)
            status = [s.strip() for s in params.get("status", "").split(",") if s.strip()]
            with request.app.state.database.connect() as conn:
                rows = store.find_requests(
                    conn, now_of(request), ids=ids, service_codes=codes or None,
                    start=parse_when(params.get("start_date"), "start_date"),
                    end=parse_when(params.get("end_date"), "end_date"), status=status or None)
                found = store.public_requests(conn, rows)
            return open311.document(f, "service_requests", found)

        return _answer(fmt, listed)

    @app.get("/open311/v2/requests/{service_request_id}.{fmt}", tags=["open311"])
    def get_request(request: Request, service_request_id: str, fmt: str) -> Response:
        """One service request (a list of one, as the spec says)."""

        def one(f: str) -> Response:
            if not service_request_id.isdigit():
                raise BadRequest(f"service_request_id {service_request_id[:20]!r}: give the "
                                 "number the request was given")
            with request.app.state.database.connect() as conn:
                row = store.request_row(conn, int(service_request_id))
                found = store.public_requests(conn, [row])
            return open311.document(f, "service_requests", found)

        return _answer(fmt, one)

    @app.post("/open311/v2/requests.{fmt}", tags=["open311"])
    async def post_request(request: Request, fmt: str) -> Response:
        """Post a service request (form-encoded GeoReport v2 fields, ``api_key`` required;
        ``media`` may carry a photo as multipart)."""
        try:
            chosen = open311.response_format(fmt)
        except PlacehubError as error:
            return open311.errors("json", error.status_code, error.message)
        try:
            form = await request.form()
            with request.app.state.database.connect() as conn:
                client = keys.client_of(conn, str(form.get("api_key") or "") or None)
                report = report_from_form(form, client, conn,
                                          int(settings.reports_photo_max_bytes))
            request_id = submit(request, report, f"key:{client}")
        except PlacehubError as error:
            return open311.errors(chosen, error.status_code, error.message,
                                  error.headers or None)
        return open311.document(chosen, "service_requests", [
            {"service_request_id": str(request_id), "service_notice": None,
             "account_id": None}], status_code=201)
