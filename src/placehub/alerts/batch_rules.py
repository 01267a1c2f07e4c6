"""Batch evaluation: a whole ``observations.written`` batch judged per rule kind with NumPy.

The batch is laid out as one row per Datastream (its readings in arrival order, NaN after the
last). Each rule gets the rows of the Datastreams it watches; the rules of one kind are stacked
(parameters per row) and the kind works out with a few array operations, for all rows at once,
whether any reading would change an alert: open one, clear during an episode, or come back
within a hold-off. Where none would — nearly always — the row is *settled*: its state is set to
what the per-reading ``observe`` calls would have left (the same floating-point operations in
the same order, so the same bits) and nothing else happens. Every other row is judged reading
by reading as before, from its untouched state.

Kinds without a batch form here (battery, tilt, silence: a state shared by all the Datastreams
of an asset), rows with readings out of time order and hour means given as whole hours always
take the per-reading path, so the results are those of the per-reading evaluation exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from placehub.alerts.rules import HOUR, Context, Rule, number

Floats = NDArray[np.float64]
Flags = NDArray[np.bool_]
State = dict[str, Any]


@dataclass
class Readings:
    """A batch of readings, one row per Datastream (in order of their first reading)."""

    datastreams: list[int]
    times: Floats  # (rows, width) epoch seconds; NaN after a row's last reading
    values: Floats
    valid: Flags  # where a row has a reading
    whole_hours: Flags  # rows with a reading that gives its end (an hourly mean)
    _starts: list[int]
    _flat_times: list[float]  # readings in row order, for the per-reading path
    _flat_values: list[float]
    _ends: list[datetime | None]  # in batch order
    _order: NDArray[np.int64]  # batch positions in row order

    def row(self, index: int) -> tuple[list[float], list[float], list[float | None]]:
        """One row's times, values and ends as lists (for the per-reading path)."""
        start, stop = self._starts[index], self._starts[index + 1]
        ends = [None if (e := self._ends[i]) is None else e.timestamp()
                for i in self._order[start:stop].tolist()]
        return self._flat_times[start:stop], self._flat_values[start:stop], ends


def lay_out(written: Sequence[Any]) -> Readings:
    """The numeric readings of ``written`` (``WrittenObservation``s) laid out per Datastream.

    Rules judge numbers, and booleans as 1/0; other results are left out.
    """
    results = [w.result for w in written]
    if all(type(r) is float for r in results):  # the common case, without a call per reading
        values = np.array(results, dtype=np.float64)
        keep = ~np.isnan(values)
    else:
        numbers = [number(r) for r in results]
        keep = np.array([n is not None for n in numbers], dtype=bool)
        values = np.array([math.nan if n is None else n for n in numbers], dtype=np.float64)
    count = len(written)
    streams = np.fromiter((w.datastream_id for w in written), np.int64, count)
    times = np.fromiter((w.phenomenon_time.timestamp() for w in written), np.float64, count)
    ends = [w.phenomenon_time_end for w in written]
    if not keep.all():
        index = np.flatnonzero(keep)
        streams, times, values = streams[index], times[index], values[index]
        ends = [ends[i] for i in index.tolist()]
    # Rows in order of each Datastream's first reading; readings in arrival order in a row.
    unique, first, inverse = np.unique(streams, return_index=True, return_inverse=True)
    rank = np.empty(len(unique), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(unique))
    row_of = rank[inverse]
    order = np.argsort(row_of, kind="stable")
    counts = np.bincount(row_of, minlength=len(unique))
    starts = np.concatenate([[0], np.cumsum(counts)])
    rows_sorted = row_of[order]
    position = np.arange(len(order)) - starts[rows_sorted]
    width = int(counts.max()) if len(counts) else 0
    shape = (len(unique), width)
    grid_times, grid_values = np.full(shape, np.nan), np.full(shape, np.nan)
    valid = np.zeros(shape, dtype=bool)
    grid_times[rows_sorted, position] = times[order]
    grid_values[rows_sorted, position] = values[order]
    valid[rows_sorted, position] = True
    whole_hours = np.zeros(len(unique), dtype=bool)
    if any(e is not None for e in ends):
        whole_hours[row_of[np.array([e is not None for e in ends])]] = True
    return Readings(
        datastreams=unique[np.argsort(rank)].tolist(), times=grid_times, values=grid_values,
        valid=valid, whole_hours=whole_hours, _starts=starts.tolist(),
        _flat_times=times[order].tolist(), _flat_values=values[order].tolist(),
        _ends=ends, _order=order)


@dataclass(frozen=True)
class RuleRows:
    """One rule's rows of a batch layout (the Datastreams it watches), with each row's state
    and context, and the factor its values take (ppb to µg/m³)."""

    rule: Rule
    rows: NDArray[np.int64]
    scale: float
    states: list[State]
    contexts: list[Context]


@dataclass
class Rows:
    """The rows the rules of one kind judge together: readings (scaled), states, parameters.

    Judging every rule of a kind in one set of array operations (rather than one set per rule)
    is what makes ten rules per Datastream cheap: the cost of an operation hardly depends on
    its size here.
    """

    times: Floats
    values: Floats
    valid: Flags
    whole_hours: Flags
    states: list[State]
    contexts: list[Context]
    rules: list[Rule]
    rule_of_row: NDArray[np.int64]  # index into ``rules``

    def number(self, name: str, default: float | None = None) -> Floats:
        """A numeric parameter of each row's rule, as a column (rows, 1)."""
        values = [r.params[name] if default is None else r.params.get(name, default)
                  for r in self.rules]
        return np.asarray(values, dtype=np.float64)[self.rule_of_row][:, None]

    def limits(self) -> Floats:
        """Each row's threshold limit as a column (rows, 1): the asset's own line resolved
        into its context when the rule names a threshold, else the rule's ``value``."""
        values = [ctx.extra["limit"] if "limit" in ctx.extra else self.rules[r].params["value"]
                  for ctx, r in zip(self.contexts, self.rule_of_row.tolist(), strict=True)]
        return np.asarray(values, dtype=np.float64)[:, None]

    def choice(self, name: str, default: str, value: str) -> Flags:
        """Whether each row's rule sets ``name`` (default ``default``) to ``value``: (rows, 1)."""
        chosen = [r.params.get(name, default) == value for r in self.rules]
        return np.asarray(chosen, dtype=bool)[self.rule_of_row][:, None]

    def state(self, *names: str) -> dict[str, Floats]:
        """These numbers of every row's state, and "active" and "cs" (every kind needs them),
        read in one pass: NaN where absent, True as 1."""
        names = ("active", "cs", *names)
        size, nan = len(self.states) * len(names), math.nan
        try:
            table = np.fromiter((s.get(n, nan) for s in self.states for n in names),
                                np.float64, size)
        except TypeError:  # an entry saved as null
            table = np.fromiter((nan if (v := s.get(n)) is None else v
                                 for s in self.states for n in names), np.float64, size)
        return dict(zip(names, table.reshape(len(self.states), len(names)).T, strict=True))

    @property
    def last(self) -> NDArray[np.int64]:
        """Index of each row's last reading."""
        return np.asarray(self.valid.sum(axis=1) - 1)

    def at_last(self, grid: NDArray[Any]) -> NDArray[Any]:
        return grid[np.arange(len(grid)), self.last]


def _quiet(state: dict[str, Floats], breach: Flags, clear: Flags) -> Flags:
    """Rows where no reading changes an alert, from each reading's verdict (breach or clear).

    With no episode open only a breach matters (it opens one); in an open episode only a clear
    (it starts the hold-off, or ends the episode); in a hold-off both do (judged one by one).
    """
    active, returning = ~np.isnan(state["active"]), ~np.isnan(state["cs"])
    return np.where(active, ~returning & ~clear.any(axis=1), ~breach.any(axis=1))


def _previous(first: Floats, grid: Floats) -> Floats:
    """Each reading's predecessor: the state's for the first reading, else the one before."""
    return np.concatenate([first[:, None], grid[:, :-1]], axis=1)


def threshold(rows: Rows) -> Flags:
    """``rules.Threshold``: breaching runs, and whether one has been held for ``for_s``."""
    times, values, valid, states = rows.times, rows.values, rows.valid, rows.states
    limit = rows.limits()
    breaching = valid & np.where(
        rows.choice("op", "above", "above"), values > limit,
        np.where(rows.choice("op", "above", "below"), values < limit,
                 np.where(rows.choice("op", "above", "at_least"), values >= limit,
                          values <= limit)))
    state = rows.state("since")
    since0 = state["since"]
    carried = ~np.isnan(since0)  # a breach run going on from the last batch
    starts = breaching & ~np.concatenate([carried[:, None], breaching[:, :-1]], axis=1)
    columns = np.arange(times.shape[1])
    run = np.maximum.accumulate(np.where(starts, columns, -1), axis=1)
    since = np.where(run >= 0, np.take_along_axis(times, np.maximum(run, 0), axis=1),
                     since0[:, None])
    held = breaching & (times - since >= rows.number("for_s", 0))
    # In an episode every breaching reading is "still breaching" and every other one clears.
    settled = _quiet(state, held, valid & ~breaching)
    last_breaching = rows.at_last(breaching)
    final_since = rows.at_last(since).tolist()
    newest = times.shape[1] - 1 - np.argmax(breaching[:, ::-1], axis=1)
    newest_value = values[np.arange(len(values)), newest].tolist()
    any_breach = np.asarray(breaching.any(axis=1))
    for i in np.flatnonzero(settled & (any_breach | carried)).tolist():
        state = states[i]
        if last_breaching[i]:
            state["since"] = final_since[i]
        else:
            state.pop("since", None)
        if any_breach[i]:
            state["last"] = newest_value[i]
    return settled


def _in_order(times: Floats, valid: Flags, previous: Floats) -> Flags:
    """Rows whose readings each come after the one before (late readings are judged alone)."""
    return np.asarray(((times > previous) | ~valid | np.isnan(previous)).all(axis=1))


def rate_of_change(rows: Rows) -> Flags:
    """``rules.RateOfChange``: the rate between consecutive readings against the limit."""
    times, values, valid, states = rows.times, rows.values, rows.valid, rows.states
    state = rows.state("t", "v")
    previous_t, previous_v = _previous(state["t"], times), _previous(state["v"], values)
    rate = (values - previous_v) / (times - previous_t) * rows.number("per_s", HOUR)
    limit = rows.number("max_change")
    fast = valid & np.where(rows.choice("direction", "any", "rise"), rate > limit,
                            np.where(rows.choice("direction", "any", "fall"), rate < -limit,
                                     np.abs(rate) > limit))
    judged = valid & ~np.isnan(previous_t)
    settled = _in_order(times, valid, previous_t) & _quiet(state, fast, judged & ~fast)
    last_t, last_v = rows.at_last(times).tolist(), rows.at_last(values).tolist()
    for i in np.flatnonzero(settled).tolist():
        states[i]["t"], states[i]["v"] = last_t[i], last_v[i]
    return settled


@dataclass
class Hours:
    """The open hour (``h``, sum ``s``, count ``n``) carried through a batch, and the hours it
    closed: (hour, mean) at the reading that closed each, NaN elsewhere."""

    in_order: Flags
    closed_hour: Floats
    closed_mean: Floats
    hour: Floats
    total: Floats
    count: Floats


def _hours(rows: Rows, state: dict[str, Floats]) -> Hours:
    """``rules._add_to_hour`` for whole rows, column by column (same sums in the same order)."""
    hour, total, count = state["h"], state["s"], state["n"]
    has_hour = ~np.isnan(hour)
    in_order = ~rows.whole_hours
    closed_hour = np.full(rows.times.shape, np.nan)
    closed_mean = np.full(rows.times.shape, np.nan)
    for k in range(rows.times.shape[1]):
        t, v, ok = rows.times[:, k], rows.values[:, k], rows.valid[:, k]
        this_hour = np.floor_divide(t, HOUR)
        in_order &= ~(ok & has_hour & (this_hour < hour))
        closes = ok & has_hour & (this_hour > hour)
        closed_mean[:, k] = np.where(closes, total / count, np.nan)
        closed_hour[:, k] = np.where(closes, hour, np.nan)
        fresh = ok & (~has_hour | closes)
        total = np.where(fresh, 0.0 + v, np.where(ok, total + v, total))
        count = np.where(fresh, 1.0, np.where(ok, count + 1, count))
        hour = np.where(ok, this_hour, hour)
        has_hour |= ok
    return Hours(in_order, closed_hour, closed_mean, hour, total, count)


def _keep_hours(rows: Rows, hours: Hours, settled: Flags) -> None:
    hour, total, count = hours.hour.tolist(), hours.total.tolist(), hours.count.tolist()
    for i in np.flatnonzero(settled).tolist():
        state = rows.states[i]
        state["h"], state["s"], state["n"] = int(hour[i]), total[i], int(count[i])


def air_hourly_mean(rows: Rows) -> Flags:
    """``rules.AirHourlyMean``: each closed hour's mean against the limit."""
    state = rows.state("h", "s", "n")
    hours = _hours(rows, state)
    over = hours.closed_mean > rows.number("limit", 200.0)
    closes = ~np.isnan(hours.closed_hour)
    settled = hours.in_order & _quiet(state, over, closes & ~over)
    _keep_hours(rows, hours, settled)
    return settled


@lru_cache(maxsize=64)
def _year_hours(year: int) -> tuple[float, float]:
    """The epoch hours at which ``year`` starts and the next one starts (UTC)."""
    return (datetime(year, 1, 1, tzinfo=UTC).timestamp() / HOUR,
            datetime(year + 1, 1, 1, tzinfo=UTC).timestamp() / HOUR)


def air_hours_above_limit(rows: Rows) -> Flags:
    """``rules.AirHoursAboveLimit``: hours above the limit counted within the state's year."""
    limit, allowed = rows.number("limit", 200.0), rows.number("allowed", 18)
    states = rows.states
    state = rows.state("h", "s", "n")
    hours = _hours(rows, state)
    closes = ~np.isnan(hours.closed_hour)
    # Rows whose closed hours all fall in the year being counted (a new year is judged alone).
    bounds = np.array([_year_hours(s["year"]) if s.get("year") else (np.nan, np.nan)
                       for s in states], dtype=np.float64).reshape(len(states), 2)
    same_year = ~(closes & ~((hours.closed_hour >= bounds[:, :1])
                             & (hours.closed_hour < bounds[:, 1:]))).any(axis=1)
    new = closes & (hours.closed_mean > limit)
    for i in np.flatnonzero(new.any(axis=1)).tolist():
        counted = states[i].get("hours") or []
        for k in np.flatnonzero(new[i]).tolist():
            new[i, k] = int(hours.closed_hour[i, k]) not in counted
    counted_now = (np.fromiter((len(s.get("hours") or ()) for s in states), np.int64,
                               len(states))[:, None] + np.cumsum(new, axis=1))
    breach = closes & (counted_now > allowed)
    settled = hours.in_order & same_year & _quiet(state, breach, np.zeros_like(breach))
    _keep_hours(rows, hours, settled)
    for i in np.flatnonzero(settled & new.any(axis=1)).tolist():
        states[i]["hours"].extend(int(h) for h in hours.closed_hour[i][new[i]].tolist())
    return settled


Settle = Callable[[Rows], Flags]
# Kinds judged in batches, by name. Each keeps one state per Datastream (scope "datastream").
SETTLERS: dict[str, Settle] = {
    "threshold": threshold,
    "rate_of_change": rate_of_change,
    "air_hourly_mean": air_hourly_mean,
    "air_hours_above_limit": air_hours_above_limit,
}


def settle(kind: str, parts: list[RuleRows], readings: Readings) -> list[Flags]:
    """Judge the rules of one kind over their rows of ``readings``, all together. Per rule:
    True where a row is settled (state updated, nothing to report), False where it must be
    judged reading by reading."""
    settler = SETTLERS.get(kind)
    if settler is None:
        return [np.zeros(len(part.rows), dtype=bool) for part in parts]
    index = np.concatenate([part.rows for part in parts])
    sizes = [len(part.rows) for part in parts]
    rule_of_row = np.repeat(np.arange(len(parts)), sizes)
    values = readings.values[index]
    if any(part.scale != 1.0 for part in parts):
        values = values * np.asarray([part.scale for part in parts])[rule_of_row][:, None]
    rows = Rows(readings.times[index], values, readings.valid[index],
                readings.whole_hours[index], [s for part in parts for s in part.states],
                [c for part in parts for c in part.contexts], [part.rule for part in parts],
                rule_of_row)
    # NaN marks "no reading" and "no answer": arithmetic on it is expected, not an error.
    with np.errstate(invalid="ignore", divide="ignore"):
        settled = settler(rows)
    return np.split(settled, np.cumsum(sizes)[:-1])
