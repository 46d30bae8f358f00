"""Part III analysis: stored runs in, small dataclasses of numbers out, one per claim.

Definitions (the book's Part III specification): t_grok is :attr:`Result.t_grok`, the first
evaluation with test accuracy ≥ :data:`~grokutils.part3.paper.GROK_THRESHOLD` = 0.95 (every
result's ``config.grok_threshold`` must be that). The paper calls a run that reaches it "grokked";
the book's two predicates (:mod:`grokutils.grokking`) agree on every stored Part III run (each that
reaches 0.95 also generalises late, a stored-result test checks it), so the counts below say
"grokked". Runs that do not reach it are counted in every claim and table and left out of every
t_grok statistic. The
collapse onset, the threshold with its bootstrap interval, the power law and the
leave-one-seed-out forecast come from :mod:`grokutils.forecast`. The intervention's arms
(claim 3) are in :mod:`grokutils.part3.arms`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from grokutils import forecast, stats
from grokutils.forecast import ONSET_DELTA, ONSET_WINDOW, PREDICTORS
from grokutils.grokking import generalises_late, reaches_threshold
from grokutils.part3.paper import (GAMMA_RESAMPLES, GROK_THRESHOLD, PAPER_THRESHOLD_ADD, PHASE_II_SPEARMAN, RESAMPLES,
                                   TASK_GROUPS, THRESHOLD_TOLERANCE)
from grokutils.result import Result
from grokutils.verdicts import contains, stable_across_seeds


def check_grok_threshold(results: Iterable[Result]) -> list[Result]:
    """The results as a list; ``ValueError`` if one defines t_grok with another threshold than
    :data:`GROK_THRESHOLD` (Part III's "test accuracy ≥ 0.95")."""
    results = list(results)
    bad = [r.config.label() for r in results if r.config.grok_threshold != GROK_THRESHOLD]
    if bad:
        raise ValueError(f"Part III defines t_grok with test accuracy ≥ {GROK_THRESHOLD}; these runs use another "
                         f"grok_threshold: {bad}.")
    return results


def split_grokked(results: Iterable[Result]) -> tuple[list[Result], list[Result]]:
    """(runs that reached the threshold, runs that did not; :func:`grokutils.grokking.reaches_threshold`),
    each in the given order."""
    results = check_grok_threshold(results)
    return [r for r in results if reaches_threshold(r)], [r for r in results if not reaches_threshold(r)]


def mean_ci(values: Sequence[float]) -> tuple[float, float, float] | None:
    """Mean and 95 % bootstrap interval (:data:`RESAMPLES`), or None with fewer than 2 values."""
    return stats.bootstrap_mean_ci(values, resamples=RESAMPLES) if len(values) >= 2 else None


def value_at(result: Result, metric: str, step: int) -> float:
    return forecast.value_at(result.step_array, result[metric], step)


@dataclass(frozen=True)
class RunEvents:
    """The Part III events of one run (steps; ``None`` when the event does not happen).

    ``t_fit``/``t_grok`` are :attr:`Result.t_fit`/:attr:`Result.t_grok`; ``onset`` is
    :func:`grokutils.forecast.collapse_onset` of H̃ (δ = :data:`~grokutils.forecast.ONSET_DELTA`,
    5-evaluation window); ``entropy_at_grok`` is H̃ at t_grok.
    """

    label: str
    t_fit: int | None
    t_grok: int | None
    onset: int | None
    entropy_at_grok: float | None
    final_entropy: float
    final_test_acc: float
    groks: bool = False  # generalises late (:func:`grokutils.grokking.generalises_late`)

    @property
    def onset_lead(self) -> int | None:
        """t_grok − onset when the onset comes strictly before t_grok, else None."""
        if self.t_grok is None or self.onset is None or self.onset >= self.t_grok:
            return None
        return self.t_grok - self.onset


def run_events(result: Result, delta: float = ONSET_DELTA, window: int = ONSET_WINDOW) -> RunEvents:
    """t_fit, t_grok, collapse onset, H̃ at t_grok, final H̃ and final test accuracy of one run (claim 2)."""
    check_grok_threshold([result])
    entropy = result["spectral_entropy"]
    t_grok = result.t_grok
    return RunEvents(result.config.label(), result.t_fit, t_grok,
                     forecast.collapse_onset(result.step_array, entropy, delta, window),
                     None if t_grok is None else value_at(result, "spectral_entropy", t_grok),
                     float(entropy[-1]), float(result["test_acc"][-1]), generalises_late(result))


def crossing_step(result: Result, threshold_value: float) -> int | None:
    """First evaluation step at which H̃ ≤ ``threshold_value`` (claim 2: H̃*), or None."""
    hits = np.flatnonzero(result["spectral_entropy"] <= threshold_value)
    return int(result.steps[hits[0]]) if hits.size else None


@dataclass(frozen=True)
class Phases:
    """Claim 1 on one run. ``norm_growth`` = ‖θ‖ at t_fit / ‖θ‖ at step 0 (phase I: > 1);
    ``entropy_trend`` = Spearman(step, H̃) over the evaluations from t_fit to t_grok (None with
    fewer than 3 of them); ``entropy_drop`` = H̃(t_fit) − H̃(t_grok); ``norm_entropy_r`` = Pearson r
    between ‖θ‖ and H̃ over all evaluations (NaN when one is constant). Fields need t_fit
    (and t_grok for the entropy ones), else None."""

    norm_growth: float | None
    entropy_trend: float | None
    entropy_drop: float | None
    norm_entropy_r: float

    @property
    def phase_one(self) -> bool:
        return self.norm_growth is not None and self.norm_growth > 1.0

    @property
    def phase_two(self) -> bool:
        if self.entropy_drop is None or self.entropy_drop <= 0:
            return False
        return self.entropy_trend is None or self.entropy_trend <= PHASE_II_SPEARMAN

    @property
    def two_phases(self) -> bool:
        """Phase I (norm grows while the training set is fitted), then phase II (H̃ falls until t_grok)."""
        return self.phase_one and self.phase_two


def phases(result: Result) -> Phases:
    """Claim 1's measurements on one run (see :class:`Phases`)."""
    check_grok_threshold([result])
    steps, norm, entropy = result.step_array, result["weight_norm"], result["spectral_entropy"]
    t_fit, t_grok = result.t_fit, result.t_grok
    r = stats.pearson(norm, entropy) if len(steps) >= 3 else math.nan
    growth = trend = drop = None
    if t_fit is not None:
        growth = float(value_at(result, "weight_norm", t_fit) / norm[0])
        if t_grok is not None:
            window = (steps >= t_fit) & (steps <= t_grok)
            if window.sum() >= 3:
                trend = stats.spearman(steps[window], entropy[window])[0]
            drop = float(value_at(result, "spectral_entropy", t_fit) - value_at(result, "spectral_entropy", t_grok))
    return Phases(growth, trend, drop, r)


def norm_entropy_correlation(results: Iterable[Result]) -> tuple[float, list[float]]:
    """Claim 1: Pearson r between ‖θ‖ and H̃ pooled over every evaluation of every run, and the
    per-run values (all runs, grokked or not: the relation is about the whole trajectory)."""
    results = check_grok_threshold(results)
    if not results:
        raise ValueError("norm_entropy_correlation needs at least one run.")
    pooled = stats.pearson(np.concatenate([r["weight_norm"] for r in results]),
                           np.concatenate([r["spectral_entropy"] for r in results]))
    return pooled, [phases(r).norm_entropy_r for r in results]


@dataclass(frozen=True)
class ThresholdEstimate:
    """H̃* = mean of H̃ at t_grok over the grokked runs, with its 95 % bootstrap interval (claim 2)."""

    value: float
    low: float
    high: float
    values: tuple[float, ...]
    runs: int

    @property
    def grokked(self) -> int:
        return len(self.values)

    def as_tuple(self) -> tuple[float, float, float]:
        return self.value, self.low, self.high


def threshold(results: Iterable[Result]) -> ThresholdEstimate | None:
    """H̃* of ``results`` with :func:`grokutils.forecast.threshold_with_ci` (10,000 resamples);
    None when fewer than 2 runs grokked (no interval)."""
    results = check_grok_threshold(results)
    values = forecast.entropy_at_grok(results)
    if len(values) < 2:
        return None
    value, low, high = forecast.threshold_with_ci(values, resamples=RESAMPLES)
    return ThresholdEstimate(value, low, high, tuple(values), len(results))


def matches_paper(estimate: ThresholdEstimate, paper: float) -> bool:
    """The paper's H̃* lies in the measured 95 % interval (:func:`grokutils.verdicts.contains`)."""
    return contains(estimate.as_tuple(), paper)


def stable(estimate: ThresholdEstimate) -> bool:
    """H̃ at t_grok agrees over seeds (:func:`grokutils.verdicts.stable_across_seeds`)."""
    return stable_across_seeds(estimate.values, THRESHOLD_TOLERANCE)


@dataclass(frozen=True)
class Precedence:
    """Claim 2, the order of events over the grokked runs: H̃ reaches H̃* at or before t_grok
    (``crossed``; strictly before: ``crossed_strictly``), the collapse onset comes strictly before
    t_grok (``onset_before``), and the onset's lead with its 95 % bootstrap interval.

    H̃* being the mean of H̃ at t_grok, a run whose H̃ at t_grok lies above the mean reaches H̃* only
    after t_grok; ``crossed_upper`` counts the runs whose H̃ is at or below the interval's upper end
    by t_grok (None when H̃* was given without an interval)."""

    threshold: float
    grokked: int
    runs: int
    crossed: int
    crossed_strictly: int
    crossed_upper: int | None
    onset_before: int
    no_onset: int
    leads: tuple[int, ...]
    lead: tuple[float, float, float] | None


def _crossed_by_grok(runs: Sequence[Result], level: float, strictly: bool = False) -> int:
    steps = [crossing_step(r, level) for r in runs]
    return sum(c is not None and (c < r.t_grok if strictly else c <= r.t_grok) for c, r in zip(steps, runs))


def precedence(results: Iterable[Result], threshold_value: float | None = None) -> Precedence | None:
    """Claim 2's counts (see :class:`Precedence`); H̃* defaults to :func:`threshold` of ``results``.
    None when no threshold can be estimated (fewer than 2 grokked runs and none given)."""
    results = check_grok_threshold(results)
    upper = None
    if threshold_value is None:
        estimate = threshold(results)
        if estimate is None:
            return None
        threshold_value, upper = estimate.value, estimate.high
    grokked, _ = split_grokked(results)
    evs = [run_events(r) for r in grokked]
    leads = tuple(e.onset_lead for e in evs if e.onset_lead is not None)
    return Precedence(threshold_value, len(grokked), len(results), _crossed_by_grok(grokked, threshold_value),
                      _crossed_by_grok(grokked, threshold_value, strictly=True),
                      None if upper is None else _crossed_by_grok(grokked, upper),
                      len(leads), sum(e.onset is None for e in evs), leads, mean_ci([float(v) for v in leads]))


@dataclass(frozen=True)
class ForecastSummary:
    """Claim 4: the pooled power law (``calibration``) and the leave-one-seed-out forecast
    (``loso``) of the grokked runs; ``error`` says why one of them could not be computed."""

    predictor: str
    grokked: int
    runs: int
    calibration: forecast.Calibration | None
    loso: forecast.LosoForecast | None
    error: str | None = None


def forecast_summary(results: Iterable[Result], predictor: str = "entropy") -> ForecastSummary:
    """:func:`grokutils.forecast.pooled_fit` and :func:`grokutils.forecast.loso_forecast` of the
    runs with ``predictor`` (claims 4 and 5); runs that did not grok take no part."""
    results = check_grok_threshold(results)
    grokked = sum(r.t_grok is not None for r in results)
    calibration = loso = None
    errors = []
    try:
        calibration = forecast.pooled_fit(results, predictor)
    except ValueError as error:
        errors.append(f"fit: {error}")
    try:
        loso = forecast.loso_forecast(results, predictor)
    except ValueError as error:
        errors.append(f"leave-one-seed-out: {error}")
    return ForecastSummary(predictor, grokked, len(results), calibration, loso, "; ".join(errors) or None)


#: How the tables name each predictor of :data:`grokutils.forecast.PREDICTORS`.
PREDICTOR_NAMES = {"entropy": "H̃ gap H̃_t − H̃*", "norm": "absolute norm ‖θ‖", "norm_gap": "norm gap ‖θ‖ − ‖θ‖*"}


def predictor_comparison(results: Iterable[Result]) -> dict[str, ForecastSummary]:
    """Table 2 (claim 5): :func:`forecast_summary` for each predictor of
    :data:`grokutils.forecast.PREDICTORS` (H̃ gap, absolute norm, norm gap)."""
    results = check_grok_threshold(results)
    return {predictor: forecast_summary(results, predictor) for predictor in PREDICTORS}


@dataclass(frozen=True)
class Proposition6:
    """Proposition 6's logarithmic law and the power law fitted to the same points (claim 4's
    evaluations above H̃*): their R², κ, H̃_∞ and γ; ``error`` when the log law cannot be fitted."""

    threshold: float
    power_law: forecast.PowerLaw
    log_law: forecast.LogFormula | None
    error: str | None = None


def proposition6(results: Iterable[Result]) -> Proposition6 | None:
    """Fit t_grok − t = (1/κ) log((H̃_t − H̃_∞)/(H̃* − H̃_∞)) (:func:`grokutils.forecast.fit_log_formula`)
    and the power law to the pooled evaluations of the grokked runs with t < t_grok and H̃ > H̃*
    (the selection of :func:`grokutils.forecast.pooled_fit`). None when no power law can be fitted."""
    results = check_grok_threshold(results)
    try:
        calibration = forecast.pooled_fit(results)
    except ValueError:
        return None
    h, remaining = [], []
    for run in (forecast.as_run(r) for r in results if r.t_grok is not None):
        _, gap, rest = forecast._points(run, run.entropy, calibration.threshold)  # the pooled fit's points
        h.append(gap + calibration.threshold)
        remaining.append(rest)
    try:
        log_law = forecast.fit_log_formula(np.concatenate(h), np.concatenate(remaining), calibration.threshold)
        error = None
    except ValueError as exc:
        log_law, error = None, str(exc)
    return Proposition6(calibration.threshold, calibration.law, log_law, error)


def group_by_task(results: Iterable[Result]) -> dict[str, list[Result]]:
    """Results keyed by ``config.task`` in the order of Table 3 (add, sub, mul, div, s5), by seed."""
    order = list(TASK_GROUPS)
    groups: dict[str, list[Result]] = {}
    for result in sorted(results, key=lambda r: (order.index(r.config.task) if r.config.task in order else len(order),
                                                 r.config.task, r.config.seed)):
        groups.setdefault(result.config.task, []).append(result)
    return groups


@dataclass(frozen=True)
class ArchitectureSummary:
    """Claim 7 for one architecture's runs: fitting, grokking, final test accuracy (and chance),
    final and lowest H̃, how many runs fall below ``threshold`` (H̃*), and the mean Fourier alignment
    at step 0, at t_fit and at the end (None when ``fourier_alignment`` was not recorded)."""

    name: str
    runs: int
    fitted: int
    t_fit: tuple[int, ...]
    grokked: int
    final_test_acc: float
    chance: float
    final_entropy: float
    min_entropy: float
    below_threshold: int
    collapsed_without_grokking: int
    fourier_initial: float | None
    fourier_at_fit: float | None
    fourier_final: float | None


def _fourier(results: Sequence[Result]) -> tuple[float | None, float | None, float | None]:
    if not results or any("fourier_alignment" not in r.history for r in results):
        return None, None, None
    at_fit = [value_at(r, "fourier_alignment", r.t_fit) for r in results if r.t_fit is not None]
    return (float(np.mean([r["fourier_alignment"][0] for r in results])),
            float(np.mean(at_fit)) if at_fit else None,
            float(np.mean([r["fourier_alignment"][-1] for r in results])))


def architecture_summary(results: Iterable[Result], threshold_value: float, name: str = "") -> ArchitectureSummary:
    """:class:`ArchitectureSummary` of runs of one architecture against the threshold H̃*."""
    results = check_grok_threshold(results)
    if not results:
        raise ValueError(f"architecture_summary needs runs ({name or 'unnamed'} has none).")
    below = [bool((r["spectral_entropy"] <= threshold_value).any()) for r in results]
    classes = 120 if results[0].config.task == "s5" else results[0].config.p  # modular tasks: p classes
    return ArchitectureSummary(
        name or results[0].config.model, len(results), sum(r.t_fit is not None for r in results),
        tuple(r.t_fit for r in results if r.t_fit is not None), sum(r.t_grok is not None for r in results),
        float(np.mean([r["test_acc"][-1] for r in results])), 1.0 / classes,
        float(np.mean([r["spectral_entropy"][-1] for r in results])),
        float(np.mean([r["spectral_entropy"].min() for r in results])), sum(below),
        sum(b and r.t_fit is not None and r.t_grok is None for b, r in zip(below, results)), *_fourier(results))


def reference_threshold(transformer: Sequence[Result]) -> tuple[float, str]:
    estimate = threshold(transformer)
    if estimate is not None:
        return estimate.value, "H̃* of the transformer runs"
    return PAPER_THRESHOLD_ADD, "the paper's H̃* (fewer than 2 transformer runs grokked)"


@dataclass(frozen=True)
class ProbeAgreement:
    """Claim 8 over the grokked runs: H̃ of the train probe and of the test probe at t_grok, their
    mean difference (train − test) with a 95 % bootstrap interval (None with < 2 runs), the Pearson
    r over seeds (None with < 3 runs, NaN when one side is constant) and the Pearson r over all
    evaluations of all runs (trajectories)."""

    train: tuple[float, ...]
    test: tuple[float, ...]
    difference: tuple[float, float, float] | None
    r_at_grok: float | None
    r_trajectories: float
    runs: int

    @property
    def mean_difference(self) -> float | None:
        return float(np.mean(np.subtract(self.train, self.test))) if self.train else None


def probe_agreement(results: Iterable[Result]) -> ProbeAgreement:
    """Train-probe vs test-probe H̃ (``spectral_entropy`` vs ``spectral_entropy_test``; claim 8)."""
    results = check_grok_threshold(results)
    if not results:
        raise ValueError("probe_agreement needs at least one run.")
    grokked, _ = split_grokked(results)
    train = tuple(value_at(r, "spectral_entropy", r.t_grok) for r in grokked)
    test = tuple(value_at(r, "spectral_entropy_test", r.t_grok) for r in grokked)
    difference = mean_ci(list(np.subtract(train, test)))
    r_grok = stats.pearson(train, test) if len(train) >= 3 else None
    r_all = stats.pearson(np.concatenate([r["spectral_entropy"] for r in results]),
                          np.concatenate([r["spectral_entropy_test"] for r in results]))
    return ProbeAgreement(train, test, difference, r_grok, r_all, len(results))


def gamma_interval(results: Iterable[Result], resamples: int = GAMMA_RESAMPLES,
                   seed: int = 0) -> tuple[float, float, float] | None:
    """Claim 4's exponent γ of the pooled power law with a 95 % percentile interval from resampling the
    grokked runs (seeds) with replacement; None when no law can be fitted. Resamples whose fit fails
    (too few distinct runs) are skipped."""
    grokked, _ = split_grokked(results)
    try:
        gamma = forecast.pooled_fit(grokked).law.gamma
    except ValueError:
        return None
    rng = np.random.default_rng(seed)
    gammas = []
    for _ in range(resamples):
        sample = [grokked[i] for i in rng.integers(len(grokked), size=len(grokked))]
        try:
            gammas.append(forecast.pooled_fit(sample).law.gamma)
        except ValueError:
            continue
    if len(gammas) < 2:
        return None
    low, high = np.percentile(gammas, [2.5, 97.5])
    return gamma, float(low), float(high)


def loso_separation(comparison: dict[str, ForecastSummary], predictor: str,
                    reference: str = "entropy") -> float | None:
    """One-sided Wilcoxon p that ``reference``'s leave-one-seed-out error is lower than ``predictor``'s,
    paired by held-out seed (claim 5: out-of-sample errors must separate the predictors); None when
    either has no forecast or fewer than 2 seeds forecast by both."""
    a, b = comparison[reference].loso, comparison[predictor].loso
    if a is None or b is None:
        return None
    mine = {r.name: r.ape for r in a.runs if r.ape is not None}
    theirs = {r.name: r.ape for r in b.runs if r.ape is not None}
    shared = sorted(set(mine) & set(theirs))
    return stats.wilcoxon_less([mine[s] for s in shared], [theirs[s] for s in shared]) if len(shared) >= 2 else None
