"""Published indicator values through the API: rates follow their counts, and a ward total
cannot be used to narrow the suppressed LSOA counts inside it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from placehub.db import Database
from placehub.insight.indicators import (
    IndicatorDefinition,
    IndicatorValue,
    replace_values,
    save_definition,
)
from tests.insight.geo_places import GeoJSONPlaces


def test_ward_totals_and_rates_do_not_reveal_suppressed_lsoa_counts(
        client: TestClient, database: Database, data_dir: Path, app) -> None:  # type: ignore[no-untyped-def]
    """Two LSOAs of a Rutland ward hold 6 and 7 people, the others none; the ward's 13 is
    published as suppressed, so subtracting the published LSOAs from the ward recovers nothing,
    and the rate per resident is suppressed where its count is."""
    directory = GeoJSONPlaces(data_dir)
    app.state.place_directory = directory
    with database.connect() as conn:
        wards = {code: directory.contained(conn, "lsoas", "wards", code)
                 for code in directory.codes(conn, "wards")}
    ward, lsoas = next((w, c) for w, c in sorted(wards.items()) if len(c) >= 3)
    cells = {code: 0 for codes in wards.values() for code in codes}
    cells[lsoas[0]], cells[lsoas[1]] = 6, 7
    residents = {code: 1500 + 10 * i for i, code in enumerate(sorted(cells))}
    with database.begin() as conn:
        save_definition(conn, IndicatorDefinition(
            "carers", "Unpaid carers", "higher_is_worse", counts_people=True))
        save_definition(conn, IndicatorDefinition(
            "residents", "Residents", "higher_is_better", counts_people=True))
        save_definition(conn, IndicatorDefinition(
            "carer_rate", "Unpaid carers per 1,000 residents", "higher_is_worse",
            numerator="carers", denominator="residents", multiplier=1000))
        replace_values(conn, [IndicatorValue("carers", "lsoa", c, "2021", float(v))
                              for c, v in cells.items()])
        replace_values(conn, [
            IndicatorValue("carers", "ward", w, "2021", float(sum(cells[c] for c in codes)))
            for w, codes in wards.items()])
        replace_values(conn, [IndicatorValue("residents", "lsoa", c, "2021", float(v))
                              for c, v in residents.items()])
        replace_values(conn, [IndicatorValue("carer_rate", "lsoa", c, "2021",
                                             1000 * cells[c] / residents[c]) for c in cells])

    lsoa_rows = {r["place"]: r for r in client.get(
        "/api/indicators/carers/values?layer=lsoa").json()["value"]}
    ward_rows = {r["place"]: r for r in client.get(
        "/api/indicators/carers/values?layer=ward").json()["value"]}
    assert lsoa_rows[lsoas[0]]["suppressed"] and lsoa_rows[lsoas[1]]["suppressed"]
    assert ward_rows[ward]["suppressed"] and ward_rows[ward]["value"] is None
    # Other wards (all zero) are published: no suppression where nothing needs it.
    assert all(r["value"] == 0 for w, r in ward_rows.items() if w != ward)

    # The attack: every whole-number value the published figures allow for each suppressed
    # LSOA (assumed 1-7), given the ward's published total if there is one.
    published = [lsoa_rows[c] for c in lsoas]
    hidden = [r for r in published if r["suppressed"]]
    known = sum(r["value"] for r in published if not r["suppressed"])
    total = ward_rows[ward]["value"]
    possible: list[set[int]] = [set() for _ in hidden]
    for first in range(1, 8):
        for second in range(1, 8):
            values = (first, second)
            if total is not None and not total - 2 <= known + sum(values) <= total + 2:
                continue
            for k, value in enumerate(values):
                possible[k].add(value)
    assert all(max(p) - min(p) >= 5 for p in possible)

    rates = {r["place"]: r for r in client.get(
        "/api/indicators/carer_rate/values?layer=lsoa").json()["value"]}
    assert rates[lsoas[0]]["value"] is None and rates[lsoas[0]]["suppressed"]
    other = lsoas[2]
    assert rates[other]["value"] == 0.0  # 0 carers of 1,500-ish residents: a true zero
    csv_text = client.get("/api/indicators/carer_rate/values?layer=lsoa&format=csv").text
    assert f"lsoa,{lsoas[0]},2021,*," in csv_text
