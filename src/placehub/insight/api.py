"""HTTP routes of placehub.insight: profiles, indices, indicators and transparency records."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError

from placehub import csv_cells
from placehub.access import service
from placehub.access.requests import current_principal
from placehub.access.service import Principal
from placehub.errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from placehub.insight import council_indices
from placehub.insight import indicators as store
from placehub.insight.definition import (
    DefinitionError,
    IndexDefinition,
    Normalisation,
    available_definitions,
    load_definition,
)
from placehub.insight.derive import PlacesAssignment, derive_indicators
from placehub.insight.disclosure import SUPPRESSED_MARK, disclosure_note
from placehub.insight.index import IndexResult, area_rows, population_of, summarise_areas
from placehub.insight.profiles import (
    PlaceDirectory,
    PlacesTables,
    build_profile,
    configured_indices,
    index_result,
    profile_csv,
    profile_geojson,
)
from placehub.insight.publishing import published_values
from placehub.insight.sensitivity import (
    SOBOL_OUTPUT,
    SensitivityOptions,
    SensitivityResult,
    SobolResult,
    run_sensitivity,
    run_sobol,
    sensitivity_rows,
)
from placehub.insight.transparency import load_records

FORMATS = ("json", "csv", "geojson")
MAX_API_RUNS = 500
MAX_API_SOBOL_SAMPLES = 128


@lru_cache(maxsize=4)
def cached_sensitivity(name: str, text: str, data_dir: Path, runs: int | None,
                       seed: int | None) -> SensitivityResult:
    """A sensitivity analysis per (index, its text, runs, seed), kept for the process."""
    definition = _load(name, text, data_dir)
    return run_sensitivity(definition,
                           SensitivityOptions.from_definition(definition, runs=runs, seed=seed))


@lru_cache(maxsize=4)
def cached_sobol(name: str, text: str, data_dir: Path, samples: int | None,
                 seed: int | None) -> SobolResult:
    """Sobol' indices per (index, its text, samples, seed), kept for the process."""
    definition = _load(name, text, data_dir)
    return run_sobol(definition, SensitivityOptions.from_definition(
        definition, samples=samples, seed=seed))


def _load(name: str, text: str, data_dir: Path) -> IndexDefinition:
    """A shipped definition by name, or an uploaded one from its text."""
    return council_indices.parse_uploaded(text, data_dir) if text else load_definition(
        name, data_dir)


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


@dataclass(frozen=True)
class ServedIndex:
    """An index the caller may read: computed result, population, and the uploaded text."""

    result: IndexResult
    population: np.ndarray
    text: str  # "" for a shipped definition
    stored: council_indices.StoredDefinition | None = None


def _index(name: str, request: Request, principal: Principal) -> ServedIndex:
    """A shipped index, or an uploaded one the principal may read (404 otherwise)."""
    data_dir = _data_dir(request)
    try:
        if name in available_definitions():
            result, population = index_result(name, data_dir)
            return ServedIndex(result, population, "")
        with request.app.state.database.connect() as conn:
            stored = council_indices.find(conn, principal, name)
        if stored is None:
            raise NotFound(f"no index {name!r}: GET /api/indices lists them")
        result, population = council_indices.computed(stored.text, data_dir.resolve())
        return ServedIndex(result, population, stored.text, stored)
    except DefinitionError as error:
        raise BadRequest(str(error)) from None


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def _whole(value: float) -> int | None:
    return None if np.isnan(value) else int(value)


def _normalisation_json(normalisation: Normalisation | None) -> dict[str, Any] | None:
    if normalisation is None:
        return None
    return {"method": normalisation.method, **normalisation.params}


def _summary(definition: IndexDefinition, stored: council_indices.StoredDefinition | None
             ) -> dict[str, Any]:
    return {"id": definition.id, "name": definition.name,
            "description": definition.description, "layer": definition.data.layer,
            "credit": definition.credit, "origin": "council" if stored else "shipped",
            "visibility": stored.visibility if stored else "public",
            "url": f"/api/indices/{definition.id}"}


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
    def list_indices(request: Request,
                     principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """The shipped index definitions and the uploaded ones you may read."""
        found = [_summary(load_definition(name, _data_dir(request)), None)
                 for name in available_definitions()]
        with request.app.state.database.connect() as conn:
            stored = council_indices.visible(conn, principal)
        for item in stored:
            try:
                definition = council_indices.parse_uploaded(item.text, _data_dir(request))
            except DefinitionError:
                continue  # its data file went away; it is still listed by GET of its id
            found.append(_summary(definition, item))
        return {"value": found}

    @app.post("/api/indices", tags=["insight"], status_code=201)
    async def upload_index(
        request: Request,
        organisation: str | None = Query(None, description="Owning organisation's slug."),
        visibility: str = Query("organisation",
                                description="public, partners, organisation or restricted."),
        principal: Principal = Depends(current_principal),
    ) -> dict[str, Any]:
        """Upload (or replace) a council's index definition: the TOML text as the body."""
        if principal.is_anonymous and not principal.write_anywhere:
            raise Unauthorized("sign in or send a bearer token to upload an index definition")
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("send the definition as UTF-8 TOML text") from None
        with request.app.state.database.begin() as conn:
            if organisation is not None:
                try:
                    owner = service.organisation_id(conn, organisation)
                except NotFound:
                    raise BadRequest(f"no organisation {organisation!r}") from None
            else:
                writable = sorted(principal.writes_to)
                if not writable:
                    raise Forbidden("only an organisation's editors and admins may upload "
                                    "index definitions")
                if len(writable) != 1:
                    raise BadRequest("give ?organisation=SLUG: the organisation that owns it")
                owner = writable[0]
            definition = council_indices.save(conn, principal, text, _data_dir(request),
                                              organisation_id=owner, visibility=visibility)
        return {"id": definition.id, "name": definition.name, "visibility": visibility,
                "url": f"/api/indices/{definition.id}"}

    @app.delete("/api/indices/{name}", tags=["insight"], status_code=204)
    def delete_index(name: str, request: Request,
                     principal: Principal = Depends(current_principal)) -> Response:
        """Delete an uploaded definition (its organisation's editors and admins)."""
        if name in available_definitions():
            raise BadRequest(f"{name!r} is shipped with placehub and cannot be deleted")
        with request.app.state.database.begin() as conn:
            council_indices.remove(conn, principal, name)
        return Response(status_code=204)

    @app.get("/api/indices/{name}", tags=["insight"])
    def get_index(name: str, request: Request,
                  principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """An index's method: hierarchy, weights used, normalisations, ties, what was imputed."""
        served = _index(name, request, principal)
        result = served.result
        definition = result.definition
        return {
            **_summary(definition, served.stored),
            "polarity": definition.polarity, "rank_1": definition.rank_1,
            "ties": definition.ties, "places": len(result.places),
            "nodes": [{"id": n.id, "name": n.name, "parent": n.parent,
                       "aggregation": n.aggregation, "weighting": n.weighting,
                       "normalisation": _normalisation_json(n.normalisation),
                       "goalposts": result.goalposts.get(n.id),
                       "weights": result.weights.get(n.id, {})}
                      for n in definition.node_order()],
            "indicators": [{"id": i.id, "name": i.name, "column": i.column, "parent": i.parent,
                            "direction": i.direction,
                            "normalisation": _normalisation_json(i.normalisation),
                            "goalposts": list(i.goalposts) if i.goalposts else None}
                           for i in definition.indicators],
            "missing_values_treated": len(result.missing), "notes": result.notes,
            "source": definition.source, "licence": definition.licence,
        }

    @app.get("/api/indices/{name}/places/{code}", tags=["insight"])
    def get_index_place(name: str, code: str, request: Request,
                        principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """One place's score, rank, decile and node scores."""
        result = _index(name, request, principal).result
        try:
            row = result.places.index(code)
        except ValueError:
            raise NotFound(f"no place {code!r} in index {name}") from None
        return {
            "index": name, "place": code, "name": result.place_names[row],
            "area": result.areas[row], "score": _number(result.score[row]),
            "rank": _whole(result.rank[row]), "decile": _whole(result.decile[row]),
            "of": int(np.count_nonzero(~np.isnan(result.rank))),
            "scores": {k: _number(v[row]) for k, v in result.scores.items()},
            "credit": result.definition.credit,
        }

    @app.get("/api/indices/{name}/areas", tags=["insight"])
    def get_index_areas(
        name: str, request: Request,
        format: str = Query("json", description="json or csv"),  # noqa: A002
        principal: Principal = Depends(current_principal),
    ) -> Response:
        """MHCLG's summary measures per larger area (e.g. local authority), with their ranks."""
        chosen = _format(format, ("json", "csv"))
        served = _index(name, request, principal)
        result = served.result
        definition = result.definition
        scale = None
        try:
            if definition.population is not None and definition.population.scale:
                scale = population_of(definition, result.places, definition.population.scale)
            summaries = summarise_areas(result, served.population, scale)
        except DefinitionError as error:
            raise BadRequest(str(error)) from None
        if chosen == "csv":
            rows = list(area_rows(summaries))
            out = io.StringIO()
            writer = csv_cells.DictWriter(out, fieldnames=[*rows[0], "source"])
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "source": definition.credit})
            return _csv_response(out.getvalue(), f"{name}-areas.csv")
        return JSONResponse({"index": name, "value": [s.as_json() for s in summaries],
                             "credit": definition.credit})

    @app.get("/api/indices/{name}/sensitivity", tags=["insight"])
    def get_index_sensitivity(
        name: str, request: Request,
        runs: int | None = Query(None, description=f"Monte Carlo runs (1-{MAX_API_RUNS})."),
        seed: int | None = Query(None, description="Seed; the same seed gives the same result."),
        format: str = Query("json", description="json or csv"),  # noqa: A002
        principal: Principal = Depends(current_principal),
    ) -> Response:
        """Per place: the rank as defined, the median rank and the interval over the runs."""
        chosen = _format(format, ("json", "csv"))
        if runs is not None and not 1 <= runs <= MAX_API_RUNS:
            raise BadRequest(f"runs={runs}: give 1 to {MAX_API_RUNS} (more with the CLI: "
                             "placehub index sensitivity)")
        served = _index(name, request, principal)  # 404 for an unknown or unreadable index
        result = cached_sensitivity(name, served.text, _data_dir(request).resolve(), runs, seed)
        rows = sensitivity_rows(result)
        credit = result.nominal.definition.credit
        if chosen == "csv":
            out = io.StringIO()
            writer = csv_cells.DictWriter(out, fieldnames=[*rows[0], "source"])
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "source": credit})
            return _csv_response(out.getvalue(), f"{name}-sensitivity.csv")
        options = result.options
        low_p, high_p = options.interval
        places = [{"place": code, "name": result.nominal.place_names[i],
                   "area": result.nominal.areas[i], "rank": _whole(result.nominal.rank[i]),
                   "median_rank": _whole(result.median_rank[i]),
                   f"rank_p{low_p:g}": _whole(result.low_rank[i]),
                   f"rank_p{high_p:g}": _whole(result.high_rank[i]),
                   "interval_width": _whole(result.width[i])}
                  for i, code in enumerate(result.nominal.places)]
        return JSONResponse({
            "index": name, "runs": options.runs, "seed": options.seed,
            "weights": options.weights, "interval": list(options.interval),
            "normalisations": result.normalisation_counts,
            "aggregations": result.aggregation_counts, "value": places, "credit": credit})

    @app.get("/api/indices/{name}/sobol", tags=["insight"])
    def get_index_sobol(
        name: str, request: Request,
        samples: int | None = Query(None, description=f"Sobol' base samples, a power of 2 "
                                                      f"(2-{MAX_API_SOBOL_SAMPLES})."),
        seed: int | None = Query(None, description="Seed; the same seed gives the same result."),
        principal: Principal = Depends(current_principal),
    ) -> dict[str, Any]:
        """Sobol' first-order and total-effect indices of the uncertain inputs, with intervals."""
        if samples is not None and not 2 <= samples <= MAX_API_SOBOL_SAMPLES:
            raise BadRequest(f"samples={samples}: give 2 to {MAX_API_SOBOL_SAMPLES} (a power of "
                             "2; more with the CLI: placehub index sobol)")
        served = _index(name, request, principal)
        try:
            result = cached_sobol(name, served.text, _data_dir(request).resolve(), samples, seed)
        except (DefinitionError, ValueError) as error:
            raise BadRequest(str(error)) from None
        return {"index": name, "output": SOBOL_OUTPUT, "samples": result.options.samples,
                "seed": result.options.seed, "runs": result.runs,
                "distinct_configurations": result.distinct_configurations,
                "confidence": result.options.confidence,
                "bootstrap_resamples": result.options.bootstrap,
                "output_mean": result.output_mean, "output_sd": result.output_sd,
                "factors": [f.as_json() for f in result.factors],
                "not_varied": result.not_varied,
                "credit": result.nominal.definition.credit}

    @app.get("/api/indicators", tags=["insight"])
    def list_indicators(request: Request,
                        principal: Principal = Depends(current_principal)) -> dict[str, Any]:
        """Every indicator definition the caller may read the values of."""
        with request.app.state.database.connect() as conn:
            return {"value": [d.__dict__ for d in store.list_definitions(conn)
                              if store.readable_by(principal, d)]}

    @app.get("/api/indicators/{indicator_id}/values", tags=["insight"])
    def indicator_values(
        indicator_id: str, request: Request, layer: str = Query(...),
        format: str = Query("json", description="json or csv"),  # noqa: A002
        principal: Principal = Depends(current_principal),
    ) -> Response:
        """An indicator's values in a layer, disclosure-controlled when they count people."""
        chosen = _format(format, ("json", "csv"))
        with request.app.state.database.connect() as conn:
            definition = store.get_definition(conn, indicator_id)
            if not store.readable_by(principal, definition):
                # The same answer as for an indicator that does not exist.
                raise NotFound(f"no indicator {indicator_id!r}: see 'placehub indicators list'")
            rows = [{"place": p.place, "period": p.period, "value": p.value,
                     "suppressed": p.suppressed}
                    for p in published_values(conn, _directory(request), definition, layer)]
        credit = definition.source + (f" ({definition.licence})" if definition.licence else "")
        if chosen == "csv":
            out = io.StringIO()
            writer = csv_cells.writer(out)
            writer.writerow(["layer", "place", "period", indicator_id, "source"])
            for row in rows:
                cell = SUPPRESSED_MARK if row["suppressed"] else (
                    "" if row["value"] is None else f"{row['value']:.6g}")
                writer.writerow([layer, row["place"], row["period"], cell, credit])
            return _csv_response(out.getvalue(), f"{indicator_id}-{layer}.csv")
        return JSONResponse({"indicator": definition.__dict__, "layer": layer, "value": rows,
                             "credit": credit,
                             "disclosure": disclosure_note()
                             if definition.counts_people or definition.is_rate else None})

    @app.post("/api/indicators/derive", tags=["insight"])
    def derive_now(
        request: Request, layer: str = Query("wards"), period: str = Query(""),
        only: str | None = Query(None, description="Comma-separated derived indicator ids."),
        principal: Principal = Depends(current_principal),
    ) -> dict[str, Any]:
        """Recompute the sensor-derived indicators now (editors and admins)."""
        if principal.is_anonymous and not principal.write_anywhere:
            raise Unauthorized("sign in or send a bearer token to recompute indicators")
        if not principal.is_writer:
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
