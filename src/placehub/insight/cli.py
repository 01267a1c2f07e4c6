"""`placehub index ...` (composite indices) and `placehub indicators ...` commands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer

from placehub.console import console, err_console, fail, progress, settings_of
from placehub.insight.definition import DefinitionError, available_definitions, load_definition
from placehub.insight.index import (
    area_rows,
    compare_with_published,
    compute_index,
    load_place_table,
    population_of,
    result_rows,
    summarise_areas,
    write_csv,
)
from placehub.insight.sensitivity import SensitivityOptions, run_sensitivity, sensitivity_rows

index_app = typer.Typer(help="Composite indices (IoD 2019, Social Progress-style, your own).",
                        no_args_is_help=True)

DEFINITION_HELP = "A shipped definition name (see 'placehub index list') or a path to a .toml file."


@index_app.command("list")
def list_definitions() -> None:
    """List the index definitions shipped with placehub."""
    for name in available_definitions():
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
) -> None:
    """Compute an index: scores of every node, the index rank and decile per place."""
    settings = settings_of(ctx)
    try:
        spec = load_definition(definition, settings.data_path)
        table = load_place_table(spec)
        result = compute_index(spec, table)
        written = write_csv(out, result_rows(result), spec.credit)
        console.print(f"{spec.name}: {written} places written to {out}")
        if area_out is not None:
            areas = summarise_areas(result, population_of(spec, result.places))
            console.print(f"{len(areas)} areas written to {area_out}")
            write_csv(area_out, area_rows(areas), spec.credit)
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
    comparison = compare_with_published(result, table)
    if comparison is not None:
        console.print(
            f"Against the published ranks: {comparison.exact_ranks} of {comparison.places} "
            f"exact ({comparison.exact_share:.2%}), largest difference "
            f"{comparison.max_rank_difference:g} places; deciles exact for "
            f"{comparison.exact_deciles} (largest difference {comparison.max_decile_difference:g})"
        )
    if spec.credit:
        console.print(f"Source: {spec.credit}")


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


def register(app: typer.Typer) -> None:
    """Add this concern's commands to the `placehub` command."""
    app.add_typer(index_app, name="index")
