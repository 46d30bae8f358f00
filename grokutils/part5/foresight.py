"""Does Part V's leaderboard forecast grokking, or describe it in hindsight? Exploratory checks, reported beside
the fixed rules of :mod:`grokutils.part5.paper` and never in them (``book/conventions.md``).

The fixed transition rule compares an indicator's value at t_fit with its *final* value, and every grokking run
stops a fixed number of steps after t_grok (:data:`grokutils.presets.part5.STOP_AFTER_GROK`); the controls run
their whole budget. So every transition is read after grokking, and it sits near t_grok whatever the indicator
measures. Four checks show what that does to the board:

- **Placebo** (:data:`PLACEBO`): the step count as an "indicator". It knows nothing of the network. If it
  forecasts t_grok better than the fit does under the fixed rules, "better than the fit" holds by construction
  on this grid: the test is uninformative (rule 4 of the conventions), whatever it says of a real indicator.
- **Foresight** (:func:`foresight_board`): each grokking run's histories cut at
  t_fit + ρ × the median delay (t_grok − t_fit) of its task's other seeds (:data:`HORIZONS`), and the fixed rule
  applied to what is known by then. A run that groks before its cut gets no forecast: a forecast made after
  the event is none. The fit needs no cut: it is known at t_fit.
- **Matched controls** (:func:`matched_false_alarms`): each control cut at its task's median grokking-run
  length, and an alarm counted only when the indicator moves the way it moves in that task's grokking runs.
- **Many tests at once**: Holm's adjustment (:func:`grokutils.stats.holm`) of the board's "better than the fit"
  p-values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grokutils.part5 import paper
from grokutils.part5.leaderboard import (Forecast, Grid, Row, _median_interval, forecasts, grokking_runs,
                                         indicator_keys, quiet_controls, transition, wilcoxon_better)
from grokutils.result import Result
from grokutils.signal_monitor import transition_step
from grokutils.stats import holm

#: The placebo "indicator": the step count itself.
PLACEBO = "step count (placebo)"
#: Fractions ρ of the other seeds' median delay at which :func:`foresight_board` cuts a run's histories.
HORIZONS = (0.5, 0.75)


def placebo_transition(run: Result, runs: Sequence[Result] = ()) -> int | None:
    """The fixed rule (:func:`~grokutils.signal_monitor.transition_step`) applied to the step count of ``run``."""
    return transition_step(run.steps, [float(s) for s in run.steps], run.t_fit)


def cut_step(run: Result, runs: Sequence[Result], horizon: float) -> float | None:
    """t_fit + ``horizon`` × the median t_grok − t_fit of the other grokking ``runs`` of the task; None without
    one."""
    delays = [o.t_grok - o.t_fit for o in runs if o is not run]
    return None if not delays or run.t_fit is None else run.t_fit + horizon * float(np.median(delays))


def _before(run: Result, values: Sequence[float], cut: float) -> tuple[list[int], list[float]]:
    kept = [i for i, step in enumerate(run.steps) if step <= cut]
    return [run.steps[i] for i in kept], [values[i] for i in kept]


def foresight_transition(key: str, horizon: float):
    """A ``transition_of`` for :func:`~grokutils.part5.leaderboard.forecasts`: ``key``'s transition under the
    fixed rule on the history up to the run's cut (:func:`cut_step`); None when the run groks before its cut."""
    def of(run: Result, runs: Sequence[Result]) -> int | None:
        if key == paper.FIT:
            return run.t_fit
        cut = cut_step(run, runs, horizon)
        if cut is None or cut >= run.t_grok:
            return None
        values = [float(s) for s in run.steps] if key == PLACEBO else run.history.get(key)
        if values is None:
            return None
        return transition_step(*_before(run, values, cut), run.t_fit)

    return of


@dataclass(frozen=True)
class ForecastCheck:
    """One indicator's forecasts under a check: how many runs got one, the median error with its 95 % interval,
    and the one-sided paired Wilcoxon p that it beats the fit (None for the fit), raw and Holm-adjusted."""

    key: str
    forecasts: int
    runs: int
    error: tuple[float, float, float]
    p_better: float | None
    p_holm: float | None = None


def _check(key: str, own: Sequence[Forecast], reference: Sequence[Forecast]) -> ForecastCheck:
    errors = [f.error for f in own]
    p = None if key == paper.FIT else wilcoxon_better(errors, [f.error for f in reference])
    return ForecastCheck(key, sum(f.forecast is not None for f in own), len(own), _median_interval(errors), p)


def placebo_check(grid: Grid) -> ForecastCheck:
    """The step count under the fixed rules, against the fit."""
    return _check(PLACEBO, forecasts(grid, PLACEBO, placebo_transition), forecasts(grid, paper.FIT))


def better_than_fit_is_informative(grid: Grid) -> bool:
    """False when the placebo beats the fit at the board's level: then "better than the fit" holds by
    construction on this grid."""
    placebo = placebo_check(grid)
    return placebo.p_better is None or placebo.p_better >= paper.BETTER_THAN_FIT


def with_holm(checks: Sequence[ForecastCheck]) -> list[ForecastCheck]:
    """``checks`` with Holm-adjusted p-values over all of them that were tested."""
    adjusted = holm([c.p_better for c in checks])
    return [ForecastCheck(c.key, c.forecasts, c.runs, c.error, c.p_better, p) for c, p in zip(checks, adjusted)]


def board_holm(rows: Sequence[Row]) -> dict[str, float | None]:
    """The fixed board's "better than the fit" p-values, Holm-adjusted over the board."""
    return dict(zip([r.key for r in rows], holm([r.better_than_fit for r in rows])))


def foresight_board(grid: Grid, horizon: float) -> list[ForecastCheck]:
    """Every indicator and the placebo forecasting from histories cut at ``horizon`` (:func:`cut_step`), against
    the fit's own forecast, with Holm's adjustment; best first (ties: name)."""
    reference = forecasts(grid, paper.FIT)
    keys = [paper.FIT, *indicator_keys(grid), PLACEBO]
    checks = with_holm([_check(k, forecasts(grid, k, foresight_transition(k, horizon)), reference) for k in keys])
    return sorted(checks, key=lambda c: (math.inf if math.isnan(c.error[0]) else c.error[0], c.key))


def _direction(steps: Sequence[int], values: Sequence[float], t_fit: int) -> int:
    """The sign of the change from the value at t_fit to the last value (0 when they are equal)."""
    series = [(s, v) for s, v in zip(steps, values) if s >= t_fit and v is not None and math.isfinite(v)]
    return 0 if len(series) < 2 else int(np.sign(series[-1][1] - series[0][1]))


@dataclass(frozen=True)
class MatchedAlarms:
    """One indicator's false alarms: under the fixed rule, in controls cut at the task's median grokking-run
    length, and in those only in the direction of the task's grokking runs."""

    key: str
    controls: int
    fixed: int
    matched_window: int
    matched_direction: int


def _grokking_direction(runs: Sequence[Result], key: str) -> int:
    """The direction most of ``runs`` move ``key`` in, among those where it transitions (0: no majority)."""
    return int(np.sign(sum(_direction(r.steps, r[key], r.t_fit) for r in runs if transition(r, key) is not None)))


def matched_false_alarms(grid: Grid, key: str) -> MatchedAlarms:
    """:class:`MatchedAlarms` of ``key`` over every task's quiet controls (the fit "transitions" in every one)."""
    controls = fixed = window = direction = 0
    for arms in grid.values():
        runs = grokking_runs(arms["grokking"])
        if not runs:
            continue
        quiet = quiet_controls(arms["control"])
        controls += len(quiet)
        fixed += sum(transition(control, key) is not None for control in quiet)
        if key == paper.FIT:
            window, direction = window + len(quiet), direction + len(quiet)
            continue
        length = float(np.median([r.steps[-1] for r in runs]))
        usual = _grokking_direction(runs, key)
        for control in (c for c in quiet if key in c.history):
            steps, values = _before(control, control[key], length)
            moved = transition_step(steps, values, control.t_fit) is not None
            window += moved
            direction += moved and usual != 0 and _direction(steps, values, control.t_fit) == usual
    return MatchedAlarms(key, controls, fixed, window, direction)
