"""Small statistics the chapters' verdicts rest on: rank correlation, log-log slopes with
bootstrap intervals over seeds, and the step at which a curve falls.

Every claim table of the book computes its numbers with these functions, so that a
verdict never depends on a number typed into a notebook.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats as scipy_stats

#: Bootstrap resamples behind every interval, and their seed (fixed: a rerun gives the same interval).
BOOTSTRAP_SAMPLES, BOOTSTRAP_SEED = 2000, 0


def spearman(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """Spearman rank correlation and its two-sided p-value (needs ≥ 3 pairs without NaN)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    if keep.sum() < 3:
        raise ValueError(f"Spearman correlation needs at least 3 complete pairs; got {int(keep.sum())}.")
    rho, p = scipy_stats.spearmanr(x[keep], y[keep])
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
    replacement. Returns ``(slope, low, high)``.
    """
    clean = {x: [float(v) for v in ys if v is not None and not math.isnan(float(v))] for x, ys in samples.items()}
    clean = {x: ys for x, ys in clean.items() if ys}
    xs = [x for x, ys in clean.items() for _ in ys]
    ys = [v for values in clean.values() for v in values]
    slope = loglog_slope(xs, ys)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = []
    for _ in range(BOOTSTRAP_SAMPLES):
        resampled = {x: rng.choice(values, size=len(values)) for x, values in clean.items()}
        draws.append(loglog_slope([x for x, v in resampled.items() for _ in v],
                                  [y for v in resampled.values() for y in v]))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return slope, float(low), float(high)


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
