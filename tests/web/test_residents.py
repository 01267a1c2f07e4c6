"""Residents' pages: "My area" by postcode, the "Report a problem" form (photo, errors, rate
limit) and a report's public status; the officer's report pages with the reporter's details."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from placehub.db import Database
from placehub.places.layers import load_boundaries, load_points_csv
from tests.places.test_postcodes import first_rows
from tests.reports.test_photos import jpeg_with_gps
from tests.sta.factories import make_datastream
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import Seeded

# SM1 1AA in the real lookup; a public bin 60 m east of it, a restricted one 30 m west.
SM1_1AA = (-0.193121, 51.359722)


@pytest.fixture
def sutton_area(database: Database, data_dir: Path, tmp_path: Path, seeded: Seeded) -> None:
    """Sutton's wards and first postcodes, with two bins near SM1 1AA."""
    small = first_rows(data_dir / "sutton" / "postcodes.csv", tmp_path / "pc.csv", 60)
    with database.begin() as conn:
        load_boundaries(conn, data_dir / "sutton" / "wards.geojson", "wards")
        load_points_csv(conn, small, "sutton-postcodes")
        make_datastream(conn, thing_name="Bin Throwley Way", name="Bin Throwley Way distance",
                        lon_lat=(SM1_1AA[0] + 0.00086, SM1_1AA[1]), quantity="distance",
                        properties={"asset_type": "litter_bin"})
        make_datastream(conn, thing_name="Bin hidden Q9", name="Bin hidden Q9 distance",
                        lon_lat=(SM1_1AA[0] - 0.00043, SM1_1AA[1]), visibility="restricted",
                        quantity="distance", properties={"asset_type": "litter_bin"})


def test_my_area_shows_the_nearest_public_assets_and_the_ward(client: TestClient,
                                                               sutton_area: None) -> None:
    """Lowercase without a space finds SM1 1AA: the public bin with its distance, the ward
    link and the data links; the restricted bin is not there."""
    page = client.get("/my-area", params={"postcode": "sm11aa"})
    assert page.status_code == 200
    assert "My area: SM1 1AA" in page.text and "Bin Throwley Way" in page.text
    assert "60 m" in page.text and "Bin hidden Q9" not in page.text
    assert 'href="/public/places/E05000564"' in page.text
    assert "/report?service=overflowing_bin&amp;lat=51.359722" in page.text


@pytest.mark.parametrize(("typed", "status", "says"), [
    ("SM1 1AB", 404, "no longer in use (terminated July 2002)"),
    ("LE15 6AA", 404, "not a postcode in this council"),
    ("not a postcode", 400, "enter a full postcode"),
])
def test_my_area_explains_postcodes_it_cannot_use(client: TestClient, sutton_area: None,
                                                  typed: str, status: int, says: str) -> None:
    """Terminated, unknown and malformed postcodes: the form again with an error message."""
    page = client.get("/my-area", params={"postcode": typed})
    assert page.status_code == status
    assert "There is a problem" in page.text and says in page.text
    assert 'href="#postcode"' in page.text  # the error summary links to the field


def _photo_upload() -> dict[str, tuple[str, bytes, str]]:
    return {"photo": ("bin.jpg", jpeg_with_gps(), "image/jpeg")}


def test_reporting_by_postcode_with_a_photo_and_email(client: TestClient,
                                                      sutton_area: None) -> None:
    """The form makes a request at the postcode, attached to the nearest bin (the restricted
    one 30 m away); the status page shows the reference and no personal data, nor the bin;
    the council's editor sees the bin, the e-mail and the photo, which has no EXIF."""
    form = client.get("/report")
    sent = client.post("/report", data={
        "csrf_token": csrf_of(form.text), "service_code": "overflowing_bin",
        "postcode": "sm1 1aa", "description": "Overflowing by the bus stop",
        "email": "ann@example.org"}, files=_photo_upload(), follow_redirects=False)
    assert sent.status_code == 303, sent.text
    status = client.get(sent.headers["location"])
    reference = sent.headers["location"].rsplit("/", 1)[-1]
    assert "Report sent" in status.text and reference in status.text
    assert "ann@example.org" not in status.text and "SM1 1AA" in status.text
    assert "Bin hidden Q9" not in status.text
    sign_in(client)
    detail = client.get(f"/reports/{reference}")
    assert "ann@example.org" in detail.text and ">Bin hidden Q9</a> (30 m away)" in detail.text
    photo = client.get(f"/reports/{reference}/photo")
    assert photo.headers["content-type"] == "image/jpeg"
    assert not Image.open(io.BytesIO(photo.content)).getexif()
    listing = client.get("/reports")
    assert f'href="/reports/{reference}"' in listing.text


@pytest.mark.parametrize(("fields", "field", "says"), [
    ({"postcode": "SM1 1AA", "description": "x"}, "service_code", "Select what the problem"),
    ({"service_code": "overflowing_bin", "postcode": "SM1 1AA"}, "description",
     "Describe the problem"),
    ({"service_code": "overflowing_bin", "postcode": "SM1 1AB", "description": "x"},
     "postcode", "no longer in use"),
    ({"service_code": "fly_tipping", "postcode": "SM1 1AA", "description": "x"}, "waste_type",
     "Select what has been dumped"),
    ({"service_code": "overflowing_bin", "postcode": "SM1 1AA", "description": "x",
      "email": "ann at home"}, "email", "not an e-mail address"),
])
def test_the_form_says_what_to_fix(client: TestClient, sutton_area: None,
                                   fields: dict[str, str], field: str, says: str) -> None:
    """Each missing or wrong answer: a 400 with the error summary linking to its field."""
    form = client.get("/report")
    answer = client.post("/report", data={"csrf_token": csrf_of(form.text), **fields})
    assert answer.status_code == 400
    assert f'href="#{field}"' in answer.text and says in answer.text


def test_a_photo_that_is_not_an_image_is_refused_on_the_form(client: TestClient,
                                                              sutton_area: None) -> None:
    """A PDF named .jpg: the photo field says what to send."""
    form = client.get("/report")
    answer = client.post("/report", data={
        "csrf_token": csrf_of(form.text), "service_code": "overflowing_bin",
        "postcode": "SM1 1AA", "description": "Full"},
        files={"photo": ("bin.jpg", b"%PDF-1.4", "image/jpeg")})
    assert answer.status_code == 400 and "JPEG, PNG or WebP" in answer.text


def test_too_many_reports_from_one_address_are_refused(client: TestClient,
                                                       sutton_area: None) -> None:
    """The sixth report within the hour from one address: 429 with Retry-After."""
    token = csrf_of(client.get("/report").text)
    fields = {"csrf_token": token, "service_code": "damaged_bin", "postcode": "SM1 1AA",
              "description": "Lid missing"}
    for _ in range(5):
        assert client.post("/report", data=fields, follow_redirects=False).status_code == 303
    refused = client.post("/report", data=fields, follow_redirects=False)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert "Too many reports" in refused.text
