"""HTTP routes of placehub.insight: profiles, indices, indicators and transparency records."""

from __future__ import annotations

import csv
import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from placehub.insight import indicators as store
from placehub.insight.definition import DefinitionError, available_definitions, load_definition
from placehub.insight.derive import PlacesAssignment, derive_indicators
from placehub.insight.disclosure import SUPPRESSED_MARK, disclose_count, disclosure_note
from placehub.insight.index import area_rows, summarise_areas
from placehub.insight.profiles import (
    PlaceDirectory,
    PlacesTables,
    build_profile,
    configured_indices,
    index_result,
    profile_csv,
    profile_geojson,
)
from placehub.insight.sensitivity import (
    SensitivityOptions,
    SensitivityResult,
    run_sensitivity,
    sensitivity_rows,
)
from placehub.insight.transparency import load_records

FORMATS = ("json", "csv", "geojson")
MAX_API_RUNS = 500


@lru_cache(maxsize=4)
def cached_sensitivity(name: str, data_dir: Path, runs: int | None,
                       seed: int | None) -> SensitivityResult:
    """A sensitivity analysis per (index, runs, seed), kept for the process: inputs are files."""
    definition = load_definition(name, data_dir)
    return run_sensitivity(definition,
                           SensitivityOptions.from_definition(definition, runs=runs, seed=seed))


def _data_dir(request: Request) -> Path:
    """The shared data folder, read as every concern reads it: ``Settings.data_path``."""
    return request.app.state.settings.data_path


def _directory(request: Request) -> PlaceDirectory:
    # Tests or other concerns may put their own directory on app.state.
    return getattr(request.app.state, "place_directory", None) or PlacesTables()


def _profile_indices(request: Request) -> list[str]:
    return configured_indices(request.app.state.settings.insight_profile_indices)


def _format(value: str, allowed: tuple[str, ...] = FORMATS) -> str:
    if value not in allowed:
        raise BadRequest(f"format={value!r} not understood: use {', '.join(allowed)}")
    return value


def _csv_response(text: str, filename: str) -> Response:
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _definition(name: str, request: Request) -> Any:
    if name not in available_definitions():
        raise NotFound(f"no index {name!r}: GET /api/indices lists them")
    try:
        return index_result(name, _data_dir(request))
    except DefinitionError as error:
        raise BadRequest(str(error)) from None


def register(app: FastAPI) -> None:
    """Add this concern's routes to the app."""

    @app.get("/api/profiles/{layer}/{code}", tags=["insight"])
    def get_profile(
        layer: str, code: str, request: Request,
        format: str = Query("json", description="json, csv or geojson"),  # noqa: A002
        principal: Principal = Depends(current_principal),
    ) -> Response:
        """A ward or LSOA profile: indicators, indices and visible assets beside the district."""
        chosen = _format(format)
        database = request.app.state.database
        with database.connect() as conn:
            profile = build_profile(conn, _directory(request), principal, layer=layer, code=code,
                                    data_dir=_data_dir(request),
                                    index_names=_profile_indices(request))
        if chosen == "csv":
            return _csv_response(profile_csv(profile), f"profile-{layer}-{code}.csv")
        if chosen == "geojson":
            return Response(json.dumps(profile_geojson(profile)),
                            media_type="application/geo+json")
        return JSONResponse(profile.as_json())

    @app.get("/api/indices", tags=["insight"])
    def list_indices(request: Request) -> dict[str, Any]:
        """The index definitions placehub ships."""
        found = []
        for name in available_definitions():
            definition = load_definition(name, _data_dir(request))
            found.append({"id": definition.id, "name": definition.name,
                          "description": definition.description, "layer": definition.data.layer,
                          "credit": definition.credit,
                          "url": f"/api/indices/{definition.id}"})
        return {"value": found}

    @app.get("/api/indices/{name}", tags=["insight"])
    def get_index(name: str, request: Request) -> dict[str, Any]:
        """An index's method: hierarchy, weights, normalisations, ties, and what was imputed."""
        result, _ = _definition(name, request)
        definition = result.definition
        return {
            "id": definition.id, "name": definition.name, "description": definition.description,
            "polarity": definition.polarity, "rank_1": definition.rank_1,
            "ties": definition.ties, "places": len(result.places),
            "nodes": [{"id": n.id, "name": n.name, "parent": n.parent,
                       "aggregation": n.aggregation, "weighting": n.weighting,
                       "weights": result.weights[n.id]} for n in definition.node_order()],
            "indicators": [{"id": i.id, "name": i.name, "column": i.column, "parent": i.parent,
                            "direction": i.direction,
                            "normalisation": {"method": i.normalisation.method,
                                              **i.normalisation.params}}
                           for i in definition.indicators],
            "missing_values_treated": len(result.missing), "notes": result.notes,
            "source": definition.source, "licence": definition.licence,
            "credit": definition.credit,
        }

    @app.get("/api/indices/{name}/places/{code}", tags=["insight"])
    def get_index_place(name: str, code: str, request: Request) -> dict[str, Any]:
        """One place's score, rank, decile and domain scores."""
        result, _ = _definition(name, request)
        try:
            row = result.places.index(code)
        except ValueError:
            raise NotFound(f"no place {code!r} in index {name}") from None

        def number(value: float) -> float | None:
            return None if np.isnan(value) else float(value)

        return {
            "index": name, "place": code, "name": result.place_names[row],
            "area": result.areas[row], "score": number(result.score[row]),
            "rank": number(result.rank[row]), "decile": number(result.decile[row]),
            "of": int(np.count_nonzero(~np.isnan(result.rank))),
            "scores": {k: number(v[row]) for k, v in result.scores.items()},
            "credit": result.definition.credit,
        }

    @app.get("/api/indices/{name}/areas", tags=["insight"])
    def get_index_areas(
        name: str, request: Request,
        format: str = Query("json", description="json or csv"),  # noqa: A002
    ) -> Response:
        """Population-weighted summaries per larger area (e.g. local authority)."""
        chosen = _format(format, ("json", "csv"))
        result, population = _definition(name, request)
        try:
            rows = list(area_rows(summarise_areas(result, population)))
        except DefinitionError as error:
            raise BadRequest(str(error)) from None
        if chosen == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=[*rows[0], "source"])
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "source": result.definition.credit})
            return _csv_response(out.getvalue(), f"{name}-areas.csv")
        return JSONResponse({"index": name, "value": rows, "credit": result.definition.credit})

    @app.get("/api/indices/{name}/sensitivity", tags=["insight"])
    def get_index_sensitivity(
        name: str, request: Request,
        runs: int | None = Query(None, description=f"Monte Carlo runs (1-{MAX_API_RUNS})."),
        seed: int | None = Query(None, description="Seed; the same seed gives the same result."),
        format: str = Query("json", description="json or csv"),  # noqa: A002
    ) -> Response:
        """Per place: the rank as defined, the median rank and the interval over the runs."""
        chosen = _format(format, ("json", "csv"))
        if runs is not None and not 1 <= runs <= MAX_API_RUNS:
            raise BadRequest(f"runs={runs}: give 1 to {MAX_API_RUNS} (more with the CLI: "
                             "placehub index sensitivity)")
        _definition(name, request)  # 404 for an unknown index
        result = cached_sensitivity(name, _data_dir(request).resolve(), runs, seed)
        rows = sensitivity_rows(result)
        credit = result.nominal.definition.credit
        if chosen == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=[*rows[0], "source"])
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "source": credit})
            return _csv_response(out.getvalue(), f"{name}-sensitivity.csv")
        options = result.options
        return JSONResponse({
            "index": name, "runs": options.runs, "seed": options.seed,
            "weights": options.weights, "interval": list(options.interval),
            "normalisations": result.normalisation_counts,
            "aggregations": result.aggregation_counts, "value": rows, "credit": credit})

    @app.get("/api/indicators", tags=["insight"])
    def list_indicators(request: Request) -> dict[str, Any]:
        """Every indicator definition."""
        with request.app.state.database.connect() as conn:
            return {"value": [d.__dict__ for d in store.list_definitions(conn)]}

    @app.get("/api/indicators/{indicator_id}/values", tags=["insight"])
    def indicator_values(
        indicator_id: str, request: Request, layer: str = Query(...),
        format: str = Query("json", description="json or csv"),  # noqa: A002
    ) -> Response:
        """An indicator's values in a layer, disclosure-controlled when they count people."""
        chosen = _format(format, ("json", "csv"))
        with request.app.state.database.connect() as conn:
            definition = store.get_definition(conn, indicator_id)
            values = store.values_for_layer(conn, layer, indicator_id)
        rows = []
        for v in sorted(values, key=lambda v: (v.period, v.place_code)):
            value = v.value
            suppressed = False
            if definition.counts_people and value is not None:
                disclosed = disclose_count(value)
                suppressed = disclosed is None
                value = None if disclosed is None else float(disclosed)
            rows.append({"place": v.place_code, "period": v.period, "value": value,
                         "suppressed": suppressed})
        credit = definition.source + (f" ({definition.licence})" if definition.licence else "")
        if chosen == "csv":
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerow(["layer", "place", "period", indicator_id, "source"])
            for row in rows:
                cell = SUPPRESSED_MARK if row["suppressed"] else (
                    "" if row["value"] is None else f"{row['value']:.6g}")
                writer.writerow([layer, row["place"], row["period"], cell, credit])
            return _csv_response(out.getvalue(), f"{indicator_id}-{layer}.csv")
        return JSONResponse({"indicator": definition.__dict__, "layer": layer, "value": rows,
                             "credit": credit,
                             "disclosure": disclosure_note() if definition.counts_people
                             else None})

    @app.post("/api/indicators/derive", tags=["insight"])
    def derive_now(
        request: Request, layer: str = Query("wards"), period: str = Query(""),
        only: str | None = Query(None, description="Comma-separated derived indicator ids."),
        principal: Principal = Depends(current_principal),
    ) -> dict[str, Any]:
        """Recompute the sensor-derived indicators now (editors and admins)."""
        if principal.is_anonymous and not principal.write_anywhere:
            raise Unauthorized("sign in or send a bearer token to recompute indicators")
        if not (principal.write_anywhere
                or any(role in {"admin", "editor"} for role in principal.roles.values())):
            raise Forbidden("only editors and admins may recompute indicators")
        places = getattr(request.app.state, "thing_places", None) or PlacesAssignment()
        try:
            with request.app.state.database.begin() as conn:
                outcomes = derive_indicators(conn, places, layer=layer, period=period,
                                             only=only.split(",") if only else None)
        except DBAPIError:
            raise Conflict("Things are not assigned to places yet: load boundaries first "
                           "(placehub places commands)") from None
        return {"layer": layer, "period": period,
                "value": [{"indicator": o.indicator_id, "places": o.places,
                           "datastreams": o.series} for o in outcomes]}

    def records(request: Request) -> list[Any]:
        settings = request.app.state.settings
        return load_records(organisation=settings.council_name,
                            contact_email=settings.transparency_contact)

    @app.get("/api/transparency", tags=["insight"])
    def transparency(request: Request) -> dict[str, Any]:
        """Algorithmic Transparency Recording Standard records of the algorithms placehub uses."""
        return {"value": [r.summary() for r in records(request)]}

    @app.get("/api/transparency/{record_id}", tags=["insight"])
    def transparency_record(record_id: str, request: Request) -> dict[str, Any]:
        """One record in full: Tier 1 and Tier 2."""
        for record in records(request):
            if record.id == record_id:
                return record.as_json()
        raise NotFound(f"no transparency record {record_id!r}: GET /api/transparency lists them")
