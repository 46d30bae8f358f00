"""Part IV's measurements: runs in, numbers out (the criteria are in :mod:`grokutils.part4.paper`).

Series read by name: ``ncc``, ``ncc_mean``, ``relative_flatness``, ``flatness_bound``, ``angle_deviation``
(:func:`grokutils.metrics.flatness.flatness_metrics`), ``test_acc``, ``train_loss`` and a representativeness
series whose name the caller gives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from grokutils import stats
from grokutils.result import Result


def half_fall_step(result: Result, metric: str) -> int | None:
    """The first evaluation after ``metric``'s largest value at which it has covered half of its fall from that
    value to its final value (None if it ends at its largest value)."""
    values = result[metric]
    peak = int(np.nanargmax(values))
    fall = values[peak] - values[-1]
    if not fall > 0:
        return None
    below = np.nonzero(values[peak:] <= values[peak] - 0.5 * fall)[0]
    return int(result.step_array[peak + below[0]])


def half_rise_step(result: Result, metric: str = "test_acc") -> int | None:
    """The first evaluation after ``metric``'s smallest value at which it has covered half of its rise from that
    value to its final value (None if it ends at its smallest value): for test accuracy, the middle of the
    rise that t_grok (its threshold crossing) ends."""
    values = result[metric]
    low = int(np.nanargmin(values))
    rise = values[-1] - values[low]
    if not rise > 0:
        return None
    above = np.nonzero(values[low:] >= values[low] + 0.5 * rise)[0]
    return int(result.step_array[low + above[0]])


def position(result: Result, step: int | None) -> float:
    """(step − t_fit) / (t_grok − t_fit); NaN without a fit-to-grok span or a step."""
    if step is None or result.t_fit is None or result.t_grok is None or result.t_grok <= result.t_fit:
        return math.nan
    return (step - result.t_fit) / (result.t_grok - result.t_fit)


def final(result: Result, metric: str) -> float:
    """The last recorded value of ``metric``."""
    return float(result[metric][-1])


def value_at(result: Result, metric: str, step: int) -> float:
    """``metric`` at the last evaluation at or before ``step``."""
    index = int(np.searchsorted(result.step_array, step, side="right")) - 1
    return float(result[metric][max(index, 0)])


def check_paired(baseline: Sequence[Result], treated: Sequence[Result], name: str) -> None:
    """The two arms hold the same seeds in the same order."""
    seeds = [r.config.seed for r in baseline], [r.config.seed for r in treated]
    if seeds[0] != seeds[1] or not seeds[0]:
        raise ValueError(f"the {name} runs must have the baseline's seeds in order; got {seeds[1]} and {seeds[0]}.")


def paired_difference(baseline: Sequence[Result], treated: Sequence[Result], metric: str,
                      log: bool = False, resamples: int = 10_000) -> tuple[float, float, float]:
    """Mean over seeds of treated − baseline of ``metric``'s final value (of the log ratio with ``log``) and its
    95 % bootstrap interval."""
    check_paired(baseline, treated, "treated")
    if log:
        diffs = [math.log(ratio) for ratio in seed_ratios(baseline, treated, metric)]
    else:
        diffs = [final(t, metric) - final(b, metric) for b, t in zip(baseline, treated)]
    if len(diffs) < 2:
        return (diffs[0], math.nan, math.nan) if diffs else (math.nan, math.nan, math.nan)
    return stats.bootstrap_mean_ci(diffs, resamples)


def within(interval: tuple[float, float, float], margin: float) -> bool:
    """An equivalence: the interval lies inside ± ``margin``."""
    return not math.isnan(interval[1]) and -margin <= interval[1] and interval[2] <= margin


def diverged(result: Result) -> bool:
    """The run's training loss became non-finite (or the run stopped with it)."""
    return not bool(np.isfinite(result["train_loss"]).all())


def strongest_arm(arms: Mapping[str, Sequence[Result]]) -> str:
    """The regularised arm with the largest weight (arms named ``"λ = <weight>"`` beside ``"baseline"``):
    Appendix B's "λ too large" arm of the ablation."""
    weights = {arm: float(arm.split("= ")[1]) for arm in arms if arm != "baseline"}
    if not weights:
        raise ValueError(f"strongest_arm: no regularised arm among {sorted(arms)}; expected names 'λ = <weight>'.")
    return max(weights, key=weights.get)



def seed_ratios(baseline: Sequence[Result], treated: Sequence[Result], metric: str,
                at_grok: bool = False) -> list[float]:
    """treated / baseline of ``metric`` per seed (the arms paired by seed): final values, or with ``at_grok`` each
    run's value at its own t_grok, leaving out the seeds where either run did not grok."""
    check_paired(baseline, treated, "treated")
    if not at_grok:
        return [final(t, metric) / final(b, metric) for b, t in zip(baseline, treated)]
    return [value_at(t, metric, t.t_grok) / value_at(b, metric, b.t_grok) for b, t in zip(baseline, treated)
            if b.t_grok is not None and t.t_grok is not None]


def ratio_interval(baseline: Sequence[Result], treated: Sequence[Result], metric: str,
                   at_grok: bool = False) -> dict[str, float]:
    """:func:`seed_ratios` summarised: ``{"ratio", "low", "high"}`` (the exponential of the mean log ratio and of its
    95 % bootstrap interval; NaN interval below two seeds), ``{"least", "most"}`` (the seeds' smallest and largest
    ratio), ``"higher"`` (seeds whose ratio exceeds 1) and ``"seeds"``."""
    logs = [math.log(ratio) for ratio in seed_ratios(baseline, treated, metric, at_grok)]
    if not logs:
        return dict.fromkeys(("ratio", "low", "high", "least", "most"), math.nan) | {"higher": 0, "seeds": 0}
    mean, low, high = stats.bootstrap_mean_ci(logs) if len(logs) > 1 else (logs[0], math.nan, math.nan)
    return {"ratio": math.exp(mean), "low": math.exp(low), "high": math.exp(high), "least": math.exp(min(logs)),
            "most": math.exp(max(logs)), "higher": sum(v > 0 for v in logs), "seeds": len(logs)}


def trains_as_stored(rerun: Result, stored: Result) -> bool:
    """Whether ``rerun`` (a configuration re-run with more metrics) trained exactly as ``stored``: the same
    evaluation steps and, bit for bit, every series both recorded except the wall time."""
    if rerun.steps != stored.steps:
        return False
    shared = (set(rerun.history) & set(stored.history)) - {"wall_time"}
    return bool(shared) and all(np.array_equal(np.asarray(rerun.history[k], dtype=float),
                                               np.asarray(stored.history[k], dtype=float), equal_nan=True)
                                for k in shared)
