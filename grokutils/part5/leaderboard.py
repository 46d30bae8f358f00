"""Part V's leaderboard: every indicator on the same runs, under the rules of :mod:`grokutils.part5.paper`.

Runs in, numbers out: for each indicator and run its transition (:func:`grokutils.signal_monitor.transition_step`),
lead and position; in each control whether it transitions (a false alarm); for each grokking run the
leave-one-seed-out forecast of t_grok and its error; per indicator one :class:`Row` of the leaderboard.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from grokutils import stats
from grokutils.grokking import generalises_late
from grokutils.indicators import INDICATORS
from grokutils.part5 import paper
from grokutils.result import Result
from grokutils.signal_monitor import transition_step

Grid = Mapping[str, Mapping[str, Sequence[Result]]]


def indicator_keys(grid: Grid) -> list[str]:
    """The indicator values recorded in the grid's runs, in the registry's order (``pmi``, ``pe``, ... for the
    matrix-information indicator)."""
    recorded = {key for arms in grid.values() for runs in arms.values() for r in runs for key in r.history}
    return [key for indicator in INDICATORS.values() for key in indicator.keys if key in recorded]


def indicator_of(key: str) -> str:
    """The name of the indicator that records value ``key`` (its ``cost_<name>`` key)."""
    for indicator in INDICATORS.values():
        if key in indicator.keys:
            return indicator.name
    raise ValueError(f"{key!r} is recorded by no indicator of grokutils.indicators.")


def transition(result: Result, key: str) -> int | None:
    """The run's transition step of indicator value ``key`` (:data:`~grokutils.part5.paper.FIT`: t_fit itself);
    None without a fit, without the value, or without a transition."""
    if key == paper.FIT:
        return result.t_fit
    if result.t_fit is None or key not in result.history:
        return None
    return transition_step(result.steps, result[key], result.t_fit)


def grokking_runs(runs: Sequence[Result]) -> list[Result]:
    """The runs that grok: fit first, generalise later (the book's one definition)."""
    return [r for r in runs if r.t_fit is not None and r.t_grok is not None and generalises_late(r)]


def quiet_controls(runs: Sequence[Result]) -> list[Result]:
    """The controls that are controls: they fit and never reach the test threshold."""
    return [r for r in runs if r.t_fit is not None and r.t_grok is None]


def position(result: Result, step: int | None) -> float:
    """(step − t_fit) / (t_grok − t_fit): 0 at the fit, 1 at grokking; NaN without a step."""
    if step is None or result.t_grok is None or result.t_fit is None or result.t_grok == result.t_fit:
        return math.nan
    return (step - result.t_fit) / (result.t_grok - result.t_fit)


@dataclass(frozen=True)
class Forecast:
    """The leave-one-seed-out forecast of one run's t_grok from one indicator (None: no forecast)."""

    task: str
    seed: int
    t_grok: int
    forecast: float | None

    @property
    def error(self) -> float:
        """|forecast − t_grok| / t_grok; infinite without a forecast."""
        return math.inf if self.forecast is None else abs(self.forecast - self.t_grok) / self.t_grok


#: How a forecast finds a run's transition: ``(run, its task's grokking runs) -> step or None``.
TransitionOf = Callable[[Result, Sequence[Result]], "int | None"]


def forecasts(grid: Grid, key: str, transition_of: TransitionOf | None = None) -> list[Forecast]:
    """Every grokking run's forecast from ``key``: its transition plus the median lead (t_grok − transition) of
    its task's other grokking seeds in which ``key`` transitions. ``transition_of`` replaces :func:`transition`
    (the exploratory checks of :mod:`grokutils.part5.foresight` cut the histories first)."""
    out = []
    for task, arms in grid.items():
        runs = grokking_runs(arms["grokking"])
        steps = {id(r): transition(r, key) if transition_of is None else transition_of(r, runs) for r in runs}
        for r in runs:
            leads = [o.t_grok - steps[id(o)] for o in runs if o is not r and steps[id(o)] is not None]
            own = steps[id(r)]
            guess = None if own is None or not leads else own + float(np.median(leads))
            out.append(Forecast(task, r.config.seed, r.t_grok, guess))
    return out


@dataclass(frozen=True)
class Row:
    """One indicator on the leaderboard."""

    key: str
    runs: int
    transitions: int
    position: tuple[float, float, float]
    controls: int
    false_alarms: int
    error: tuple[float, float, float]
    better_than_fit: float | None
    cost: float

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.controls if self.controls else math.nan


def _median_interval(values: Sequence[float]) -> tuple[float, float, float]:
    """Median and its percentile-bootstrap interval (:data:`~grokutils.part5.paper.LEVEL`); infinite values
    (no forecast) count as the largest."""
    array = np.asarray(values, dtype=float)
    if not array.size:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(paper.RESAMPLE_SEED)
    medians = np.median(array[rng.integers(0, array.size, size=(paper.RESAMPLES, array.size))], axis=1)
    tail = (1 - paper.LEVEL) / 2 * 100
    low, high = np.percentile(medians, [tail, 100 - tail], method="inverted_cdf")  # no inf − inf
    return float(np.median(array)), float(low), float(high)


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    known = [v for v in values if not math.isnan(v)]
    if not known:
        return math.nan, math.nan, math.nan
    q1, median, q3 = np.percentile(known, [25, 50, 75])
    return float(median), float(q1), float(q3)


def wilcoxon_better(errors: Sequence[float], reference: Sequence[float]) -> float | None:
    """One-sided paired Wilcoxon p that ``errors`` are lower than ``reference`` (infinite errors ranked last)."""
    both = np.asarray([errors, reference], dtype=float)
    if both.shape[1] < 2:
        return None
    finite = both[np.isfinite(both)]
    cap = (finite.max() if finite.size else 1.0) * 10 + 1
    both[~np.isfinite(both)] = cap
    return stats.wilcoxon_less(both[0], both[1])


def _cost(grid: Grid, key: str) -> float:
    if key == paper.FIT:
        return 0.0
    name = f"cost_{indicator_of(key)}"
    seconds = [v for arms in grid.values() for runs in arms.values() for r in runs
               for v in r.history.get(name, ()) if v is not None and not math.isnan(v)]
    return float(np.median(seconds)) if seconds else math.nan


def row(grid: Grid, key: str, reference: Sequence[Forecast] | None = None) -> Row:
    """The leaderboard's row of ``key`` (``reference``: the fit's forecasts, for "better than the fit")."""
    runs = [r for arms in grid.values() for r in grokking_runs(arms["grokking"])]
    controls = [r for arms in grid.values() for r in quiet_controls(arms["control"])]
    steps = [transition(r, key) for r in runs]
    errors = [f.error for f in forecasts(grid, key)]
    better = None
    if reference is not None and key != paper.FIT:
        better = wilcoxon_better(errors, [f.error for f in reference])
    return Row(key, len(runs), sum(s is not None for s in steps),
               _quartiles([position(r, s) for r, s in zip(runs, steps)]), len(controls),
               sum(transition(r, key) is not None for r in controls), _median_interval(errors), better,
               _cost(grid, key))


def leaderboard(grid: Grid) -> list[Row]:
    """Every recorded indicator and the fit, ranked by median forecast error (ties: false-alarm rate)."""
    reference = forecasts(grid, paper.FIT)
    rows = [row(grid, key, reference) for key in [paper.FIT, *indicator_keys(grid)]]
    def worst_if_nan(value: float) -> float:
        return math.inf if math.isnan(value) else value

    return sorted(rows, key=lambda r: (worst_if_nan(r.error[0]), worst_if_nan(r.false_alarm_rate), r.key))
