"""Small statistics the chapters' verdicts rest on: rank correlation, log-log slopes with
bootstrap intervals over seeds, and the step at which a curve falls.

Every claim table of the book computes its numbers with these functions, so that a
verdict never depends on a number typed into a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

#: Bootstrap resamples behind every interval, and their seed (fixed: a rerun gives the same interval).
BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED = 2000, 0


def _scipy_stats():
    """``scipy.stats``, loaded by the first test that needs it."""
    from scipy import stats  # spares the ~1 s that importing scipy.stats takes to every page that runs no test

    return stats


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Spearman rank correlation and its two-sided p-value (needs ≥ 3 pairs without NaN)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        raise ValueError(f"Spearman correlation needs at least 3 complete pairs; got {int(keep.sum())}.")
    rho, p = _scipy_stats().spearmanr(x[keep], y[keep])
    return float(rho), float(p)


def pearson(x: Sequence[float], y: Sequence[float]) -> float:
    """Pearson correlation of two equally long series (NaN pairs dropped; needs ≥ 3 pairs)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        raise ValueError(f"Pearson correlation needs at least 3 complete pairs; got {int(keep.sum())}.")
    if np.std(x[keep]) == 0 or np.std(y[keep]) == 0:
        return math.nan
    return float(np.corrcoef(x[keep], y[keep])[0, 1])


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of log y against log x (positive values only; needs ≥ 2 distinct x)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("log-log slopes need positive x and y.")
    if len(np.unique(x)) < 2:
        raise ValueError("a slope needs at least 2 distinct x values.")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def bootstrap_loglog_slope(samples: Mapping[float, Sequence[float]], level: float = 0.95
                           ) -> tuple[float, float, float]:
    """Slope of log y vs log x over all (x, y) pairs and a bootstrap interval over seeds.

    ``samples`` maps each x (e.g. a weight decay) to the y of its seeds (e.g. t_grok), missing
    values (None / NaN) dropped. Each resample draws, for every x, its seeds with
    replacement. Returns ``(slope, low, high)``. With one value per x (a deterministic run per
    setting, e.g. Theorem 4.3's full-batch GD) there are no seeds to resample: the interval is the
    least-squares slope's t-interval instead (NaN bounds with only two points), never a point.
    """
    clean = {x: [float(v) for v in ys if v is not None and not math.isnan(float(v))] for x, ys in samples.items()}
    clean = {x: ys for x, ys in clean.items() if ys}
    xs = [x for x, ys in clean.items() for _ in ys]
    ys = [v for values in clean.values() for v in values]
    slope = loglog_slope(xs, ys)
    if all(len(values) == 1 for values in clean.values()):
        return slope, *_ols_slope_interval(np.log(xs), np.log(ys), level)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    log_y = np.empty((BOOTSTRAP_SAMPLES, len(ys)))
    for row in log_y:  # the x of every pair stay; each x's seeds are drawn with replacement
        row[:] = np.log(np.concatenate([rng.choice(values, size=len(values)) for values in clean.values()]))
    log_x = np.log(np.asarray(xs, dtype=float)) - np.log(np.asarray(xs, dtype=float)).mean()
    draws = (log_y - log_y.mean(axis=1, keepdims=True)) @ log_x / (log_x @ log_x)  # each resample's OLS slope
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return slope, float(low), float(high)


def _ols_slope_interval(x: np.ndarray, y: np.ndarray, level: float) -> tuple[float, float]:
    """The ``level`` t-interval of the least-squares slope of ``y`` on ``x`` (NaN with < 3 points)."""
    if len(x) < 3:
        return math.nan, math.nan
    fit = _scipy_stats().linregress(x, y)
    half = _scipy_stats().t.ppf(0.5 + level / 2, len(x) - 2) * fit.stderr
    return float(fit.slope - half), float(fit.slope + half)


def fall_step(steps: Sequence[int], values: Sequence[float], fraction: float) -> int | None:
    """First step after the curve's peak at which it is ≤ ``fraction`` × its peak value.

    Used for t_RNC1 (Part I, Theorem 4.3): the step RNC1 has fallen to a fixed fraction of
    its maximum. ``None`` if it never does.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}.")
    values = np.asarray(values, dtype=float)
    peak = int(np.nanargmax(values))
    below = np.nonzero(values[peak:] <= fraction * values[peak])[0]
    return int(steps[peak + below[0]]) if below.size else None


# ----------------------------------------------------------------------------------------------
# Part III: bootstrap interval of a mean, one-sided Mann-Whitney test and its effect size
# ----------------------------------------------------------------------------------------------


def _finite_sample(values: Sequence[float], name: str, minimum: int) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of numbers, got {values!r}.") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}.")
    if array.size < minimum:
        raise ValueError(f"{name} needs at least {minimum} values, got {array.size}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values (runs that did not grok must be "
                         f"handled before the test, not passed as NaN): {array.tolist()}.")
    return array


def bootstrap_mean_ci(values: Sequence[float], resamples: int = 10_000, level: float = 0.95,
                      seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` and its percentile-bootstrap interval: ``(mean, low, high)``.

    Part III, claim 2 ("Spectral Entropy Collapse as an Empirical Signature of Delayed
    Generalisation in Grokking", 2026): the threshold H̃* is the mean of H̃ at t_grok over
    seeds, with a 95 % interval from 10,000 bootstrap resamples [paper: 0.61, ≈ [0.595, 0.624]].
    Each resample draws len(values) values with replacement; the interval is the
    ((1 − level)/2, (1 + level)/2) percentiles of the resampled means. The same ``seed`` gives
    the same interval. Needs at least 2 finite values.
    """
    array = _finite_sample(values, "values", 2)
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 1:
        raise ValueError(f"resamples must be a positive integer, got {resamples!r}.")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}.")
    rng = np.random.default_rng(seed)
    means = array[rng.integers(0, array.size, size=(int(resamples), array.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(array.mean()), float(low), float(high)


#: Largest pooled sample for which :func:`mann_whitney_greater` enumerates the exact permutation
#: distribution (every seed-level comparison of the book is far below it); larger ones use scipy's
#: normal approximation with tie correction.
EXACT_PERMUTATION_MAX = 60


def mann_whitney_greater(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """One-sided Mann–Whitney U test that ``a`` tends to be larger than ``b``: ``(U, p)``.

    Part III, claim 3 (Table 1): grokking delay with the representation-mixing intervention
    (``a``) against the baseline (``b``) [paper: +5,020 steps, p = 0.044]. U is the statistic of
    ``a``: the number of pairs (a_i, b_j) with a_i > b_j, ties counting ½. The p-value is the
    exact permutation tail P(U* ≥ U) over every relabelling of the pooled values, ties
    included (mid-ranks), whenever the pooled sample has at most :data:`EXACT_PERMUTATION_MAX`
    values: with 3 runs against 3 it can never fall below 1/C(6, 3) = 0.05, which the normal
    approximation scipy uses under ties would break. Larger samples use that approximation.
    """
    a, b = _finite_sample(a, "a", 1), _finite_sample(b, "b", 1)
    u = float(sum(((x > b).sum() + 0.5 * (x == b).sum()) for x in a))
    if a.size + b.size > EXACT_PERMUTATION_MAX:
        return u, float(_scipy_stats().mannwhitneyu(a, b, alternative="greater").pvalue)
    return u, _exact_upper_tail(a, b)


def _exact_upper_tail(a: np.ndarray, b: np.ndarray) -> float:
    """P(rank sum of a random n_a-subset ≥ that of ``a``), by counting subsets per doubled mid-rank
    sum (integers, so the count is exact up to float64 rounding of counts ≤ C(60, 30))."""
    doubled = np.rint(2 * _scipy_stats().rankdata(np.concatenate([a, b]))).astype(int)
    observed, size = int(doubled[: a.size].sum()), a.size
    ways = np.zeros((size + 1, int(doubled.sum()) + 1))
    ways[0, 0] = 1.0
    for rank in doubled:
        ways[1:, rank:] += ways[:-1, :-rank].copy()
    return float(ways[size, observed:].sum() / ways[size].sum())


def rank_biserial(a: Sequence[float], b: Sequence[float]) -> float:
    """Rank-biserial correlation 2U/(n_a n_b) − 1 of ``a`` over ``b`` (Part III, claim 3).

    The effect size that goes with :func:`mann_whitney_greater`: +1 when every a exceeds
    every b, −1 when every b exceeds every a, 0 for complete overlap.
    """
    u, _ = mann_whitney_greater(a, b)
    return 2 * u / (len(a) * len(b)) - 1


def wilcoxon_less(a: Sequence[float], b: Sequence[float]) -> float:
    """One-sided Wilcoxon signed-rank p-value that paired values ``a`` are smaller than ``b`` (exact for
    small samples; 1.0 when every pair is equal). Part III's Table 2: is one predictor's
    leave-one-seed-out error lower than another's, seed by seed?"""
    x, y = _finite_sample(a, "a", 2), _finite_sample(b, "b", 2)
    if x.shape != y.shape:
        raise ValueError(f"wilcoxon_less needs paired samples of one length, got {x.size} and {y.size}.")
    if np.all(x == y):
        return 1.0
    return float(_scipy_stats().wilcoxon(x, y, alternative="less").pvalue)


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of ``pvalues`` for testing them all at once (Holm 1979): the k-th smallest
    of m is multiplied by m − k + 1, and the adjusted values are made non-decreasing in that order, capped at 1.
    A family-wise error rate of α holds when every adjusted p below α is called significant. ``None`` entries
    (no test) stay ``None`` and do not count in m."""
    tested = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    for p, _ in tested:
        if not 0 <= p <= 1 or math.isnan(p):
            raise ValueError(f"holm: p-values must lie in [0, 1], got {p!r}.")
    adjusted: list[float | None] = [None] * len(pvalues)
    running = 0.0
    for k, (p, i) in enumerate(sorted(tested)):
        running = max(running, min(1.0, (len(tested) - k) * p))
        adjusted[i] = running
    return adjusted
