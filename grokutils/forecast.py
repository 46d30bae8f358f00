"""Forecasting t_grok from recorded spectral-entropy curves (Part III).

From "Spectral Entropy Collapse as an Empirical Signature of Delayed Generalisation in
Grokking" (2026), the paper of Part III of the book; claim numbers are those of the book's
Part III specification:

* claim 2: the collapse onset (:func:`collapse_onset`) and the threshold H̃* with its
  bootstrap interval (:func:`threshold_with_ci`);
* claim 4: the power law t_grok − t = C₁ (H̃_t − H̃*)^γ + C₂ (:func:`fit_power_law`) and
  its leave-one-seed-out forecast of t_grok (:func:`loso_forecast`);
* claim 5 (Table 2): the same fit with the parameter norm as predictor (:func:`pooled_fit`, its ``law.r2``);
* Proposition 6: the logarithmic law of first-order entropy decay (:func:`fit_log_formula`).

Everything here works on arrays of recorded evaluations (numpy / scipy only); the online
counterpart inside a training loop is :class:`grokutils.monitor.SpectralEntropyMonitor`.
Bad input raises :class:`ValueError` saying what was given and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from grokutils import stats

#: Collapse onset δ (Part III, claim 2), *chosen*: the paper's value is lost. Chosen once, not tuned:
#: 2 % of H̃'s range [0, 1], about the half-width of the paper's interval for H̃* (±0.015) plus a
#: margin, so that the evaluation-to-evaluation noise of a 512-sample probe does not trigger it.
ONSET_DELTA = 0.02

#: Collapse onset window in evaluations (Part III, claim 2: "a 5-evaluation rolling window").
ONSET_WINDOW = 5

#: Range of the exponent γ searched by :func:`fit_power_law` (paper: γ ≈ 1.65), and grid size.
GAMMA_BOUNDS = (0.05, 10.0)
GAMMA_GRID = 256

#: Predictors of the Table 2 comparison (claim 5): spectral-entropy gap H̃ − H̃*, absolute
#: parameter norm ‖θ‖, and norm gap ‖θ‖ − mean ‖θ‖ at t_grok.
PREDICTORS = ("entropy", "norm", "norm_gap")

_LOG_OFFSET_RANGE = (1e-6, 1e4)  # H̃* − H̃_∞ searched in this range × the span of the data


# ----------------------------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------------------------


def _series(values, name: str) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {type(values).__name__}.") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values.")
    return array


def _steps(steps, name: str = "steps") -> np.ndarray:
    array = _series(steps, name)
    if (array != np.round(array)).any() or (array < 0).any():
        raise ValueError(f"{name} must be non-negative integers.")
    if (np.diff(array) <= 0).any():
        raise ValueError(f"{name} must be strictly increasing.")
    return array.astype(np.int64)


def _same_length(a: np.ndarray, b: np.ndarray, names: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{names} must have the same length, got {a.size} and {b.size}.")


def _positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite positive number, got {value!r}.")
    return float(value)


def _window(window) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 2:
        raise ValueError(f"window must be an integer ≥ 2 (evaluations), got {window!r}.")
    return int(window)


def _r2(y: np.ndarray, sse: float) -> float:
    sst = float(((y - y.mean()) ** 2).sum())
    return 1.0 - sse / sst


def _fit_points(x: np.ndarray, y: np.ndarray, x_name: str, minimum_distinct: int = 3) -> tuple:
    x, y = _series(x, x_name), _series(y, "remaining")
    _same_length(x, y, f"{x_name} and remaining")
    if x.size < 3:
        raise ValueError(f"a fit needs at least 3 points, got {x.size}.")
    if np.unique(x).size < minimum_distinct:
        raise ValueError(f"{x_name} needs at least {minimum_distinct} distinct values to identify the law, "
                         f"got {np.unique(x).size}.")
    if np.ptp(y) == 0:
        raise ValueError("remaining is constant: R² and the law are undefined.")
    return x, y


# ----------------------------------------------------------------------------------------------
# Claim 2: collapse onset, values at t_grok, threshold
# ----------------------------------------------------------------------------------------------


def check_onset_rule(delta: float, window: int) -> tuple[float, int]:
    """Validated (δ, window) of the collapse-onset rule (Part III, claim 2): δ > 0, window ≥ 2."""
    return _positive(delta, "delta"), _window(window)


def collapse_onset(steps: Sequence[int], entropy: Sequence[float], delta: float = ONSET_DELTA,
                   window: int = ONSET_WINDOW) -> int | None:
    """First evaluation step at which H̃ has fallen by more than ``delta`` over ``window`` evaluations.

    Part III, claim 2: the collapse onset is the first evaluation i with
    H̃[i − window + 1] − H̃[i] > δ (δ = :data:`ONSET_DELTA`, chosen; window =
    :data:`ONSET_WINDOW` = 5). The step returned is evaluation i's, the first one at which an
    online monitor can know (paper: the onset leads t_grok by 1,020 steps on average).
    ``None`` if H̃ never falls that fast (or there are fewer than ``window`` evaluations).
    """
    steps, h = _steps(steps), _series(entropy, "entropy")
    _same_length(steps, h, "steps and entropy")
    delta, window = check_onset_rule(delta, window)
    if h.size < window:
        return None
    drop = h[:h.size - window + 1] - h[window - 1:]
    hits = np.flatnonzero(drop > delta)
    return int(steps[hits[0] + window - 1]) if hits.size else None


def value_at(steps: Sequence[int], values: Sequence[float], step: int) -> float:
    """The recorded value at evaluation step ``step`` (e.g. H̃ at t_grok, Part III, claim 2).

    Raises ``ValueError`` if ``step`` was not an evaluation step.
    """
    steps = _steps(steps)
    values = np.asarray(values, dtype=float)
    if values.shape != steps.shape:
        raise ValueError(f"steps and values must have the same length, got {steps.size} and {values.size}.")
    hits = np.flatnonzero(steps == step)
    if not hits.size:
        span = f"{steps[0]}..{steps[-1]}" if steps.size else "none"
        raise ValueError(f"step {step!r} was not evaluated (evaluated steps: {span}, {steps.size} of them).")
    return float(values[hits[0]])


def threshold_with_ci(values_at_grok: Sequence[float], resamples: int = 10_000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """Threshold H̃* = mean of H̃ at t_grok over seeds and its bootstrap interval (Part III, claim 2).

    Returns ``(threshold, low, high)`` from :func:`grokutils.stats.bootstrap_mean_ci` (10,000
    resamples, 95 %) [paper, addition: H̃* ≈ 0.61, CI ≈ [0.595, 0.624]].
    """
    return stats.bootstrap_mean_ci(values_at_grok, resamples=resamples, level=level, seed=seed)


# ----------------------------------------------------------------------------------------------
# Claim 4: power law; Proposition 6: logarithmic law
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerLaw:
    """remaining = c1 · gap^gamma + c2 (Part III, claim 4: t_grok − t = C₁(H̃_t − H̃*)^γ + C₂).

    ``r2`` is the coefficient of determination on the fitted ``remaining``, ``n`` the number of
    points and ``residuals`` (remaining − fit, in steps) the fit's residuals, from which
    :class:`~grokutils.monitor.SpectralEntropyMonitor` sizes its forecast interval.
    """

    c1: float
    gamma: float
    c2: float
    r2: float
    n: int
    residuals: tuple[float, ...] = field(default=(), repr=False, compare=False)

    def remaining(self, gap):
        """Predicted steps to grokking c1 · gap^gamma + c2 for gap > 0 (float or array)."""
        g = np.asarray(gap, dtype=float)
        if not np.isfinite(g).all() or (g <= 0).any():
            raise ValueError(f"gap must be finite and positive (the law holds above the threshold), got {gap!r}.")
        out = self.c1 * g ** self.gamma + self.c2
        return float(out) if out.ndim == 0 else out


def _linear_fits(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least squares y ≈ slope · x + intercept along the last axis of x: (slope, intercept, SSE)."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean()
    sxx = (xc ** 2).sum(axis=-1)
    safe = np.where(sxx > 0, sxx, 1.0)
    slope = np.where(sxx > 0, (xc * yc).sum(axis=-1) / safe, 0.0)
    intercept = y.mean() - slope * x.mean(axis=-1)
    residual = y - slope[..., None] * x - intercept[..., None]
    return slope, intercept, (residual ** 2).sum(axis=-1)


def _minimise(objective: Callable[[float], float], grid: np.ndarray, values: np.ndarray | None = None) -> float:
    """Global grid search, then bounded Brent refinement between the best point's neighbours. ``values``: the
    objective on the whole grid, where the caller computes it at once (else one call per grid point)."""
    values = np.array([objective(v) for v in grid]) if values is None else np.asarray(values, dtype=float)
    k = int(np.argmin(values))
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    from scipy import optimize  # spares the ~0.5 s that importing scipy.optimize takes to pages that fit nothing

    refined = optimize.minimize_scalar(objective, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-12 * max(1.0, abs(grid[k]))})
    return float(refined.x) if refined.fun <= values[k] else float(grid[k])


def fit_power_law(gap: Sequence[float], remaining: Sequence[float],
                  gamma_bounds: tuple[float, float] = GAMMA_BOUNDS) -> PowerLaw:
    """Least-squares fit of remaining = c1 · gap^γ + c2 (Part III, claim 4; paper γ ≈ 1.65, R² ≈ 0.54).

    For fixed γ the model is linear in (c1, c2), solved in closed form; the residual sum of
    squares is then minimised over γ in ``gamma_bounds`` by a log-spaced grid of
    :data:`GAMMA_GRID` values (against local minima) and a bounded scalar search around the
    best grid point. Gaps are divided by their maximum before exponentiation (c1 is rescaled
    back), so large gaps (the parameter norm of claim 5) do not overflow.

    Needs ≥ 3 points with ≥ 3 distinct finite positive gaps and a non-constant ``remaining``.
    R² is computed on ``remaining``.
    """
    g, y = _fit_points(gap, remaining, "gap")
    if (g <= 0).any():
        raise ValueError(f"gap must be positive (points above the threshold only), got minimum {g.min():g}.")
    lo, hi = gamma_bounds
    if not 0 < lo < hi or not math.isfinite(hi):
        raise ValueError(f"gamma_bounds must satisfy 0 < low < high < inf, got {gamma_bounds!r}.")
    scale = float(g.max())
    u = g / scale

    def sse(gamma: float) -> float:
        return float(_linear_fits(u ** gamma, y)[2])

    grid = np.geomspace(lo, hi, GAMMA_GRID)
    gamma = _minimise(sse, grid, _linear_fits(u ** grid[:, None], y)[2])
    slope, intercept, residual_ss = _linear_fits(u ** gamma, y)
    c1 = float(slope) / scale ** gamma
    residuals = y - (float(slope) * u ** gamma + float(intercept))
    return PowerLaw(c1, gamma, float(intercept), _r2(y, float(residual_ss)), int(g.size),
                    tuple(float(r) for r in residuals))


@dataclass(frozen=True)
class LogFormula:
    """remaining = (1/κ) log((H̃_t − H̃_∞)/(H̃* − H̃_∞)) (Part III, Proposition 6).

    The time to reach H̃* under first-order decay dH̃/dt = −κ (H̃ − H̃_∞). ``r2`` on
    ``remaining``, comparable with :attr:`PowerLaw.r2`.
    """

    kappa: float
    h_inf: float
    threshold: float
    r2: float
    n: int

    def remaining(self, entropy):
        """Predicted steps to grokking from H̃_t (float or array; H̃_t > H̃_∞)."""
        h = np.asarray(entropy, dtype=float)
        if not np.isfinite(h).all() or (h <= self.h_inf).any():
            raise ValueError(f"entropy must be finite and above h_inf = {self.h_inf:g}, got {entropy!r}.")
        out = np.log((h - self.h_inf) / (self.threshold - self.h_inf)) / self.kappa
        return float(out) if out.ndim == 0 else out


def fit_log_formula(entropy: Sequence[float], remaining: Sequence[float], threshold: float,
                    floor: float | None = 0.0) -> LogFormula:
    """Least-squares fit of Proposition 6's law, κ > 0 and floor ≤ H̃_∞ < H̃* < every H̃_t (Part III).

    ``floor`` (default 0: H̃ is a normalised entropy, so its limit H̃_∞ cannot be negative; None
    removes the bound) keeps the fit from sliding to H̃_∞ → −∞, where the law degenerates into a
    straight line in H̃ with κ → 0.

    With s = H̃* − H̃_∞ > 0 fixed, remaining = (1/κ) L_s(H̃) with
    L_s = log((H̃ − H̃* + s)/s) is linear through the origin in 1/κ; the residual sum of squares
    is minimised over log s (grid from 1e-6 to 1e4 × the span max H̃ − H̃*, then a bounded
    search). Every entropy must exceed ``threshold`` (the law describes the approach to H̃*).
    Raises ``ValueError`` if no κ > 0 fits (remaining does not grow with H̃).
    """
    h, y = _fit_points(entropy, remaining, "entropy")
    if not isinstance(threshold, (int, float, np.floating)) or not math.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number, got {threshold!r}.")
    if (h <= threshold).any():
        raise ValueError(f"every entropy must be above the threshold {threshold:g}; got minimum {h.min():g}.")
    span = float(h.max() - threshold)
    above = h - threshold

    def fit(log_s: float) -> tuple[float, float]:
        s = math.exp(log_s)
        basis = np.log1p(above / s)
        slope = float(basis @ y / (basis @ basis))
        slope = max(slope, 0.0)  # κ > 0: 1/κ must be positive
        return slope, float(((y - slope * basis) ** 2).sum())

    lo, hi = (math.log(r * span) for r in _LOG_OFFSET_RANGE)
    if floor is not None:
        if not threshold > floor:
            raise ValueError(f"threshold {threshold:g} must lie above the floor {floor:g} of H̃_∞.")
        hi = min(hi, math.log(threshold - floor))
        lo = min(lo, hi - 1.0)
    log_s = _minimise(lambda v: fit(v)[1], np.linspace(lo, hi, GAMMA_GRID))
    slope, sse = fit(log_s)
    if slope <= 0:
        raise ValueError("no κ > 0 fits: remaining does not grow with the entropy above the threshold.")
    return LogFormula(1.0 / slope, float(threshold) - math.exp(log_s), float(threshold), _r2(y, sse), int(h.size))


# ----------------------------------------------------------------------------------------------
# Runs, pooled calibration, leave-one-seed-out forecast (claims 4 and 5)
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Run:
    """One recorded run of Part III: evaluation steps, H̃, optional parameter norm (claim 1) and
    t_grok (first test accuracy ≥ 0.95; None: no grokking), the input of claims 2, 4 and 5.

    Arrays are validated on construction; ``t_grok`` must be an evaluation step.
    """

    steps: np.ndarray
    entropy: np.ndarray
    t_grok: int | None
    norm: np.ndarray | None = None
    name: str = ""

    def __post_init__(self) -> None:
        steps, entropy = _steps(self.steps), _series(self.entropy, "entropy")
        _same_length(steps, entropy, "steps and entropy")
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "entropy", entropy)
        if self.norm is not None:
            norm = _series(self.norm, "norm")
            _same_length(steps, norm, "steps and norm")
            object.__setattr__(self, "norm", norm)
        if self.t_grok is not None:
            if not (steps == self.t_grok).any():
                raise ValueError(f"run {self.name!r}: t_grok = {self.t_grok!r} is not one of its evaluation steps.")
            object.__setattr__(self, "t_grok", int(self.t_grok))

    @classmethod
    def from_result(cls, result, name: str | None = None) -> Run:
        """A run from a :class:`~grokutils.result.Result` that recorded ``spectral_entropy``."""
        norm = result["weight_norm"] if "weight_norm" in result.history else None
        return cls(result.step_array, result["spectral_entropy"], result.t_grok, norm,
                   name if name is not None else result.config.label())


def as_run(run) -> Run:
    """A :class:`Run` (Part III forecasts) from a Run, a mapping with its fields, or a Result."""
    if isinstance(run, Run):
        return run
    if isinstance(run, Mapping):
        unknown = set(run) - {"steps", "entropy", "t_grok", "norm", "name"}
        if unknown or not {"steps", "entropy", "t_grok"} <= set(run):
            raise ValueError(f"a run mapping needs keys steps, entropy, t_grok (optional norm, name); "
                             f"got {sorted(run)}.")
        return Run(**run)
    if hasattr(run, "history") and hasattr(run, "step_array"):
        return Run.from_result(run)
    raise ValueError(f"a run must be a Run, a mapping or a Result, got {type(run).__name__}.")


def _predictor(run: Run, predictor: str) -> np.ndarray:
    if predictor not in PREDICTORS:
        raise ValueError(f"predictor must be one of {PREDICTORS}, got {predictor!r}.")
    if predictor == "entropy":
        return run.entropy
    if run.norm is None:
        raise ValueError(f"predictor {predictor!r} needs each run's norm; run {run.name!r} has none.")
    return run.norm


def entropy_at_grok(runs: Sequence) -> list[float]:
    """H̃ at t_grok of every run that grokked (Part III, claim 2: the inputs of H̃*)."""
    return [value_at(r.steps, r.entropy, r.t_grok) for r in map(as_run, runs) if r.t_grok is not None]


def predictor_threshold(runs: Sequence, predictor: str = "entropy") -> float:
    """The predictor's value at which grokking is reached (Part III, claims 2 and 5): mean over
    grokked runs of its value at t_grok (H̃* for ``"entropy"``; mean norm for ``"norm_gap"``);
    0 for ``"norm"``, whose power law is in the absolute norm."""
    runs = [as_run(r) for r in runs]
    grokked = [r for r in runs if r.t_grok is not None]
    if not grokked:
        raise ValueError("no run grokked (t_grok is None for all): the threshold is undefined.")
    values = [value_at(r.steps, _predictor(r, predictor), r.t_grok) for r in grokked]
    return 0.0 if predictor == "norm" else float(np.mean(values))


def _points(run: Run, values: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(steps, gaps, remaining) of the evaluations before t_grok with predictor > threshold."""
    keep = (run.steps < run.t_grok) & (values > threshold)
    return run.steps[keep], values[keep] - threshold, (run.t_grok - run.steps[keep]).astype(float)


@dataclass(frozen=True)
class Calibration:
    """A predictor's threshold and the power law fitted above it (Part III, claims 2 and 4)."""

    predictor: str
    threshold: float
    law: PowerLaw


def pooled_fit(runs: Sequence, predictor: str = "entropy") -> Calibration:
    """Threshold and power law pooled over the grokked ``runs`` (Part III, claims 4 and 5).

    The threshold is :func:`predictor_threshold`; the fit uses every evaluation with
    t < t_grok and predictor > threshold, remaining = t_grok − t.
    """
    runs = [as_run(r) for r in runs]
    threshold = predictor_threshold(runs, predictor)
    gaps, remaining = [], []
    for run in (r for r in runs if r.t_grok is not None):
        _, gap, rest = _points(run, _predictor(run, predictor), threshold)
        gaps.append(gap)
        remaining.append(rest)
    return Calibration(predictor, threshold, fit_power_law(np.concatenate(gaps), np.concatenate(remaining)))


def _mean_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


@dataclass(frozen=True, eq=False)
class RunForecast:
    """Leave-one-seed-out forecasts of one held-out run (Part III, claim 4).

    ``steps`` are the held-out evaluations with t < t_grok and predictor > threshold,
    ``predicted`` the t_grok forecast at each (t + law.remaining(gap)); ``onset`` the run's
    collapse onset (from H̃ whatever the predictor) and ``onset_prediction`` the forecast made
    there (None if there is no onset, it is not before t_grok, or the predictor is not above
    the threshold there).
    """

    name: str
    t_grok: int
    threshold: float
    law: PowerLaw
    steps: np.ndarray
    predicted: np.ndarray
    onset: int | None
    onset_prediction: float | None

    @property
    def ape(self) -> float | None:
        """Mean absolute percentage error |predicted − t_grok| / t_grok (a fraction), or None."""
        return float(np.mean(np.abs(self.predicted - self.t_grok)) / self.t_grok) if self.steps.size else None

    @property
    def warning(self) -> float | None:
        """Mean advance warning t_grok − t over the forecasts made, in steps, or None."""
        return float(np.mean(self.t_grok - self.steps)) if self.steps.size else None


@dataclass(frozen=True, eq=False)
class LosoForecast:
    """Summary of :func:`loso_forecast` (Part III, claim 4). Means are over held-out runs (each
    run's own mean first, so that every seed weighs the same); None where no run had a forecast."""

    predictor: str
    runs: tuple[RunForecast, ...]
    not_grokked: tuple[str, ...]

    @property
    def mape(self) -> float | None:
        """Mean absolute percentage error of the forecast t_grok, a fraction (paper ≈ 0.04)."""
        return _mean_or_none([r.ape for r in self.runs])

    @property
    def mean_warning(self) -> float | None:
        """Mean advance warning t_grok − t in steps (paper ≈ 12,370)."""
        return _mean_or_none([r.warning for r in self.runs])


def _forecast_run(run: Run, others: list[Run], predictor: str, delta: float, window: int) -> RunForecast:
    calibration = pooled_fit(others, predictor)
    values = _predictor(run, predictor)
    steps, gaps, _ = _points(run, values, calibration.threshold)
    predicted = steps + calibration.law.remaining(gaps) if steps.size else np.empty(0)
    onset = collapse_onset(run.steps, run.entropy, delta, window)
    onset_prediction = None
    if onset is not None and onset < run.t_grok:
        gap = value_at(run.steps, values, onset) - calibration.threshold
        if gap > 0:
            onset_prediction = onset + calibration.law.remaining(gap)
    return RunForecast(run.name, run.t_grok, calibration.threshold, calibration.law, steps,
                       np.asarray(predicted, dtype=float), onset, onset_prediction)


def loso_forecast(runs: Sequence, predictor: str = "entropy", delta: float = ONSET_DELTA,
                  window: int = ONSET_WINDOW) -> LosoForecast:
    """Leave-one-seed-out forecast of t_grok (Part III, claim 4; Table 2 with ``predictor``).

    For each grokked run held out: the threshold is the mean predictor value at t_grok over the
    *other* grokked runs (H̃* for ``"entropy"``), the power law is fitted on their evaluations
    with t < t_grok and predictor > threshold, and the held-out run's t_grok is forecast at each
    of its own such evaluations as t + law.remaining(predictor − threshold), and at its collapse
    onset. Runs with ``t_grok = None`` are listed in ``not_grokked`` and take no part.
    ``runs``: :class:`Run`, mappings with its fields, or Results. Needs ≥ 2 grokked runs.
    [paper: MAPE ≈ 4 %, mean advance warning ≈ 12,370 steps]
    """
    if predictor not in PREDICTORS:
        raise ValueError(f"predictor must be one of {PREDICTORS}, got {predictor!r}.")
    runs = [as_run(r) for r in runs]
    grokked = [r for r in runs if r.t_grok is not None]
    if len(grokked) < 2:
        raise ValueError(f"leave-one-seed-out needs at least 2 grokked runs, got {len(grokked)} of {len(runs)}.")
    forecasts = tuple(_forecast_run(run, [o for o in grokked if o is not run], predictor, delta, window)
                      for run in grokked)
    return LosoForecast(predictor, forecasts, tuple(r.name for r in runs if r.t_grok is None))


def placebo_ape(forecast: RunForecast, others_t_grok: Sequence[int]) -> float | None:
    """The error of a forecast that reads no signal (Part III's forecast page, beside claims 4 and 5), at the
    evaluations where ``forecast`` was made: at step t,
    the mean t_grok of the other grokked runs, or t itself once that mean has passed (a run forecast at t has not
    grokked yet). Its mean absolute percentage error, as :attr:`RunForecast.ape`; None without forecasts.

    A predictor earns its forecast only where it beats this placebo: forecasts made close to t_grok are good
    whatever the predictor, and seeds that grok at nearly the same step are well forecast by their mean."""
    if not forecast.steps.size:
        return None
    if not others_t_grok:
        raise ValueError("the placebo needs the t_grok of at least one other grokked run.")
    predicted = np.maximum(forecast.steps, float(np.mean(others_t_grok)))
    return float(np.mean(np.abs(predicted - forecast.t_grok)) / forecast.t_grok)


def placebo_apes(forecast: LosoForecast) -> dict[str, float | None]:
    """:func:`placebo_ape` of every held-out run of ``forecast``, by run name (Part III, claim 4's
    leave-one-seed-out scheme: the mean is over the other grokked runs)."""
    return {run.name: placebo_ape(run, [o.t_grok for o in forecast.runs if o is not run]) for run in forecast.runs}
