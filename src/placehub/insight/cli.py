"""`placehub index ...` (composite indices) and `placehub indicators ...` commands."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import typer
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError

from placehub.console import (
    console,
    err_console,
    fail,
    open_database,
    print_json,
    print_table,
    progress,
    settings_of,
)
from placehub.governance.cli import keep_run
from placehub.insight import indicators as indicator_store
from placehub.insight.definition import DefinitionError, available_definitions, load_definition
from placehub.insight.derive import PlacesAssignment, derive_indicators
from placehub.insight.index import (
    area_rows,
    area_summaries,
    compare_with_published,
    compute_index,
    load_place_table,
    result_rows,
    weight_rows,
    write_csv,
)
from placehub.insight.index_runs import index_run
from placehub.insight.indicators import (
    IndicatorDefinition,
    import_values_csv,
    parse_definitions_csv,
    save_definition,
)
from placehub.insight.sensitivity import (
    SOBOL_OUTPUT,
    SensitivityOptions,
    run_sensitivity,
    run_sobol,
    sensitivity_rows,
)

index_app = typer.Typer(help="Composite indices (IoD 2019, Social Progress-style, your own).",
                        no_args_is_help=True)

DEFINITION_HELP = "A shipped definition name (see 'placehub index list') or a path to a .toml file."


@index_app.command("list")
def list_definitions(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the index definitions shipped with placehub."""
    names = list(available_definitions())
    if as_json:
        print_json(names)
        return
    for name in names:
        console.print(name)


@index_app.command("build")
def build(
    ctx: typer.Context,
    definition: str = typer.Argument(..., help=DEFINITION_HELP),
    out: Path = typer.Option(..., "--out", help="CSV file: per-place scores, ranks, deciles."),
    area_out: Path = typer.Option(
        None, "--area-out", "--la-out",
        help="CSV file for population-weighted summaries per larger area (e.g. local authority)."),
    missing_out: Path = typer.Option(
        None, "--missing-out", help="CSV file listing every imputed or skipped value."),
    weights_out: Path = typer.Option(
        None, "--weights-out", help="CSV file of the weights each node used (PCA included)."),
) -> None:
    """Compute an index: scores of every node, the index rank and decile per place."""
    settings = settings_of(ctx)
    try:
        spec = load_definition(definition, settings.data_path)
        table = load_place_table(spec)
        started, clock = datetime.now(UTC), time.perf_counter()
        result = compute_index(spec, table)
        seconds = time.perf_counter() - clock
        written = write_csv(out, result_rows(result), spec.credit)
        console.print(f"{spec.name}: {written} places written to {out}")
        if area_out is not None:
            areas = area_summaries(result)
            console.print(f"{len(areas)} areas written to {area_out}")
            write_csv(area_out, area_rows(areas), spec.credit)
        if weights_out is not None:
            write_csv(weights_out, weight_rows(result))
    except (DefinitionError, ValueError) as error:
        fail(str(error))
    if missing_out is not None:
        write_csv(missing_out, ({"place": m.place, "item": m.item, "action": m.action,
                                 "value": "" if m.value is None else f"{m.value:g}"}
                                for m in result.missing))
    if result.missing:
        err_console.print(f"{len(result.missing)} missing value(s) treated (see --missing-out)")
    for note in result.notes:
        err_console.print(f"note: {note}")
    shown = [n for n in spec.node_order() if n.weighting in ("pca", "factor", "equal")]
    if shown:
        weights = Table("node", "weighting", "weights used", title="Weights")
        for node in shown:
            weights.add_row(node.id, node.weighting, ", ".join(
                f"{child} {weight:.4f}" for child, weight in result.weights.get(node.id,
                                                                               {}).items()))
        console.print(weights)
    comparison = compare_with_published(result, table)
    if comparison is not None and comparison.places:
        console.print(
            f"Against the published ranks: {comparison.exact_ranks} of {comparison.places} "
            f"exact ({comparison.exact_share:.2%}), largest difference "
            f"{comparison.max_rank_difference:g} places; deciles exact for "
            f"{comparison.exact_deciles} (largest difference {comparison.max_decile_difference:g})"
        )
    tolerance = comparison.tolerance if comparison is not None else 0.0
    for agreement in comparison.scores if comparison is not None else []:
        console.print(
            f"Against the published {agreement.item} scores: {agreement.within_tolerance} of "
            f"{agreement.places} within {tolerance:g} (largest difference "
            f"{agreement.max_difference:.6g})")
    if spec.credit:
        console.print(f"Source: {spec.credit}")
    keep_run(settings, index_run(result, comparison, started, seconds, "cli"))


@index_app.command("sensitivity")
def sensitivity(
    ctx: typer.Context,
    definition: str = typer.Argument(..., help=DEFINITION_HELP),
    out: Path = typer.Option(..., "--out", help="CSV: per place median rank, interval."),
    runs: int = typer.Option(None, "--runs", help="Monte Carlo runs (default: the definition's)."),
    seed: int = typer.Option(None, "--seed", help="Random seed; the same seed, the same result."),
    weights: str = typer.Option(None, "--weights", help="dirichlet, uniform or fixed."),
) -> None:
    """Vary weights and method choices by seeded Monte Carlo; report each place's rank interval."""
    settings = settings_of(ctx)
    try:
        spec = load_definition(definition, settings.data_path)
        options = SensitivityOptions.from_definition(spec, runs=runs, seed=seed, weights=weights)
        with progress() as bar:
            task = bar.add_task(f"{options.runs} runs", total=None)
            result = run_sensitivity(spec, options)
            bar.update(task, total=1, completed=1)
    except (DefinitionError, ValueError) as error:
        fail(str(error))
    write_csv(out, sensitivity_rows(result), spec.credit)
    widths = result.width[~np.isnan(result.width)]
    low, high = options.interval
    console.print(
        f"{spec.name}: {options.runs} runs, seed {options.seed}, weights {options.weights}; "
        f"normalisations {result.normalisation_counts}, aggregations {result.aggregation_counts}")
    console.print(
        f"Width of the {low:g}th-{high:g}th percentile rank interval: median "
        f"{np.median(widths):g}, largest {widths.max():g}; {int((widths == 0).sum())} place(s) "
        f"cannot move. Written to {out}")


@index_app.command("sobol")
def sobol(
    ctx: typer.Context,
    definition: str = typer.Argument(..., help=DEFINITION_HELP),
    samples: int = typer.Option(None, "--samples",
                                help="Sobol' base samples, a power of 2 (default: the "
                                     "definition's, 64)."),
    seed: int = typer.Option(None, "--seed", help="Random seed; the same seed, the same result."),
    out: Path = typer.Option(None, "--out", help="Also write the indices as CSV here."),
) -> None:
    """Sobol' first-order and total-effect indices of the uncertain inputs (SALib)."""
    settings = settings_of(ctx)
    try:
        spec = load_definition(definition, settings.data_path)
        options = SensitivityOptions.from_definition(spec, samples=samples, seed=seed)
        with progress() as bar:
            task = bar.add_task(f"Sobol' analysis, {options.samples} base samples", total=None)
            result = run_sobol(spec, options)
            bar.update(task, total=1, completed=1)
    except (DefinitionError, ValueError) as error:
        fail(str(error))
    level = f"{options.confidence:.0%}"
    table = Table("input", "alternatives", "first order", f"± ({level})", "total",
                  f"± ({level})", title=f"{spec.name}: output = {SOBOL_OUTPUT}")
    for factor in result.factors:
        table.add_row(factor.name, str(len(factor.alternatives)), f"{factor.first_order:.3f}",
                      f"{factor.first_order_interval:.3f}", f"{factor.total:.3f}",
                      f"{factor.total_interval:.3f}")
    console.print(table)
    console.print(f"{result.runs} runs ({result.distinct_configurations} distinct), seed "
                  f"{options.seed}; output mean {result.output_mean:.1f}, sd "
                  f"{result.output_sd:.1f} places"
                  + (f"; not varied: {', '.join(result.not_varied)}" if result.not_varied
                     else ""))
    if out is not None:
        write_csv(out, ({"factor": f.name, "alternatives": str(len(f.alternatives)),
                         "first_order": f"{f.first_order:.6f}",
                         "first_order_interval": f"{f.first_order_interval:.6f}",
                         "total": f"{f.total:.6f}", "total_interval": f"{f.total_interval:.6f}"}
                        for f in result.factors), spec.credit)


indicators_app = typer.Typer(help="Indicators per place: official figures and sensor-derived.",
                             no_args_is_help=True)


@indicators_app.command("define")
def define_indicator(
    ctx: typer.Context,
    indicator_id: str = typer.Argument(..., help="Id: lower-case letters, digits and _."),
    name: str = typer.Option(..., "--name", help="What it measures, in plain words."),
    direction: str = typer.Option(..., "--direction", help="higher_is_better or higher_is_worse."),
    unit: str = typer.Option("", "--unit"),
    source: str = typer.Option("", "--source", help="Who publishes it (the credit shown)."),
    licence: str = typer.Option("", "--licence"),
    period: str = typer.Option("", "--period", help="Default period of its values, e.g. 2024."),
    counts_people: bool = typer.Option(
        False, "--counts-people", help="Values count people: apply disclosure control."),
) -> None:
    """Define (or update) an indicator."""
    definition = IndicatorDefinition(indicator_id, name, direction, unit=unit, source=source,
                                     licence=licence, period=period,
                                     counts_people=counts_people)
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        save_definition(conn, definition)
    console.print(f"Indicator [bold]{indicator_id}[/] saved.")


@indicators_app.command("list")
def list_indicators(
    ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """List the defined indicators."""
    columns = ("id", "name", "unit", "direction", "kind", "period", "source")
    with open_database(settings_of(ctx)) as database, database.connect() as conn:
        rows = [{c: getattr(d, c) for c in columns}
                for d in indicator_store.list_definitions(conn)]
    if as_json:
        print_json(rows)
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row[c]) for c in columns))
    print_table(table)


@indicators_app.command("import")
def import_indicators(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV: one row per place, one column per indicator."),
    layer: str = typer.Option(..., "--layer", help="Layer of the places, e.g. ward or lsoa."),
    place_column: str = typer.Option(..., "--place-column", help="Column with the place codes."),
    columns: str = typer.Option(
        None, "--columns", help="Comma-separated indicator columns (default: all the others)."),
    definitions: Path = typer.Option(
        None, "--definitions",
        help="CSV of indicator definitions: id,name,direction,unit,source,licence,period,"
             "counts_people."),
    period: str = typer.Option(None, "--period", help="Period of these values (default: each "
                                                      "indicator's own)."),
) -> None:
    """Import indicator values from CSV: all rows or none, every bad row reported."""
    if not file.exists():
        fail(f"{file} not found")
    given: list[IndicatorDefinition] = []
    if definitions is not None:
        if not definitions.exists():
            fail(f"{definitions} not found")
        given, errors = parse_definitions_csv(definitions.read_text(encoding="utf-8-sig"))
        if errors:
            fail("\n".join(errors))
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        report = import_values_csv(
            conn, file.read_text(encoding="utf-8-sig"), layer=layer, place_column=place_column,
            period=period, columns=columns.split(",") if columns else None, definitions=given)
        if not report.ok:
            conn.rollback()
    if not report.ok:
        fail(f"nothing imported; fix these {len(report.errors)} problem(s):\n"
             + "\n".join(report.errors[:50]))
    console.print(f"{report.values} values of {', '.join(report.indicators)} imported for "
                  f"{report.rows} {layer} places.")


@indicators_app.command("derive")
def derive(
    ctx: typer.Context,
    layer: str = typer.Option("wards", "--layer", help="Layer whose places get the values."),
    period: str = typer.Option("", "--period", help="Label stored with the values, e.g. 2025."),
    start: datetime = typer.Option(None, "--from", help="First instant (UTC) of data used."),
    end: datetime = typer.Option(None, "--to", help="End (exclusive, UTC) of data used."),
    only: str = typer.Option(None, "--only", help="Comma-separated derived indicator ids."),
    all_things: bool = typer.Option(
        False, "--all-things",
        help="Use every Thing, not only public ones (the values are still published)."),
) -> None:
    """Recompute the sensor-derived indicators (mean NO2, full bins, dry flowerbeds)."""
    start_utc = start.replace(tzinfo=UTC) if start and start.tzinfo is None else start
    end_utc = end.replace(tzinfo=UTC) if end and end.tzinfo is None else end
    with open_database(settings_of(ctx)) as database, database.begin() as conn:
        try:
            outcomes = derive_indicators(
                conn, PlacesAssignment(), layer=layer, period=period, start=start_utc,
                end=end_utc, only=only.split(",") if only else None, public_only=not all_things)
        except (OperationalError, ProgrammingError):
            fail("Things are not assigned to places yet: load boundaries and assign Things "
                 "(the places commands) first")
    for outcome in outcomes:
        console.print(f"{outcome.indicator_id}: {outcome.places} {layer} place(s) from "
                      f"{outcome.series} Datastream(s)")


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(index_app, name="index")
    app.add_typer(indicators_app, name="indicators")
