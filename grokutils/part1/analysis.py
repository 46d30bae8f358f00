"""Part I analysis: event times and the per-run checks of Theorems 3.2, 3.4 and 4.3 and
Proposition 3.3, as numbers (the claims table judges them in :mod:`grokutils.part1.claim_checks`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from grokutils.part1.paper import RNC1_FALL_FRACTION, SLOPE_ALTERNATIVES, SLOPE_PREDICTIONS
from grokutils.grokking import is_late, memorisation_ceiling, test_accuracy_at_fit
from grokutils.result import Result
from grokutils.verdicts import interval_agreement
from grokutils.stats import bootstrap_loglog_slope, fall_step, spearman


@dataclass(frozen=True)
class Events:
    """The event times of one run (steps; ``None`` when the event never happens)."""

    t_fit: int | None
    t_grok: int | None
    t_rnc1: int | None
    test_acc_at_fit: float | None
    final_test_acc: float
    memorisation_ceiling: float = 1.0

    @property
    def groks(self) -> bool:
        """The run generalises late (:func:`grokutils.grokking.generalises_late`)."""
        return is_late(self.t_fit, self.t_grok, self.test_acc_at_fit, self.memorisation_ceiling)

    @property
    def rnc1_after_grok(self) -> bool:
        """RNC1 falls only after test accuracy has reached the threshold."""
        return self.t_rnc1 is not None and self.t_grok is not None and self.t_rnc1 > self.t_grok


def events(result: Result) -> Events:
    """t_fit (train acc ≥ 0.99), t_grok (test acc ≥ the config's threshold), t_RNC1 (see
    :data:`RNC1_FALL_FRACTION`), the test accuracy at t_fit and at the end."""
    return Events(result.t_fit, result.t_grok, fall_step(result.steps, result["rnc1"], RNC1_FALL_FRACTION),
                  test_accuracy_at_fit(result), float(result["test_acc"][-1]), memorisation_ceiling(result.config))


def _after_fit(result: Result) -> np.ndarray:
    """Boolean mask of the evaluation steps at or after t_fit (all steps if never fitted)."""
    steps = result.step_array
    return steps >= (result.t_fit or 0)


def tracking(result: Result, metric: str, reference: str) -> float:
    """Spearman correlation over the evaluation steps after t_fit between two recorded series."""
    mask = _after_fit(result)
    if mask.sum() < 3:
        return math.nan
    return spearman(result[metric][mask], result[reference][mask])[0]


def bound_check(result: Result) -> dict:
    """Theorem 3.2 on held-out data: the share of checkpoints where the bound is at least the
    test error, and the Pearson correlation over time between bound and test error."""
    bound, error = result["margin_bound_test"], 1.0 - result["test_acc"]
    holds = float(np.mean(bound >= error))
    corr = float(np.corrcoef(bound, error)[0, 1]) if np.std(bound) > 0 and np.std(error) > 0 else math.nan
    return {"holds": holds, "correlation": corr, "min_gap": float(np.min(bound - error)),
            "min_bound": float(np.min(bound))}


def ib_check(result: Result) -> dict:
    """Theorem 3.4 and Proposition 3.3 on one run.

    ``bound_tracks_rnc1``: Spearman correlation (after t_fit) of the log-det bound with RNC1;
    ``violations``: share of checkpoints where the estimated Î(Z;X) − Î(Z;Y) exceeds the
    log-det bound; ``prop33_violations``: share where Î(Z;Y) < H(Y) − E[CE].
    """
    return {
        "bound_tracks_rnc1": tracking(result, "ib_bound_logdet", "rnc1"),
        "violations": float(np.mean(result["mi_redundancy"] > result["ib_bound_logdet"])),
        "prop33_violations": float(np.mean(result["mi_zy"] < result["ib_lower_bound"])),
    }


def time_scale_slopes(groups: dict[float, list[Result]]) -> dict[str, tuple[float, float, float] | None]:
    """Theorem 4.3: slope of log t vs log λ for t_fit, t_RNC1 and t_grok with a 95 % bootstrap
    interval over seeds, or the least-squares interval with one run per λ
    (:func:`grokutils.stats.bootstrap_loglog_slope`; ``None`` where fewer than 2 λ have the event)."""
    out = {}
    for name in SLOPE_PREDICTIONS:
        samples = {wd: [getattr(events(r), name) for r in rs] for wd, rs in groups.items()}
        usable = {wd: [v for v in vs if v] for wd, vs in samples.items()}
        usable = {wd: vs for wd, vs in usable.items() if vs}
        out[name] = bootstrap_loglog_slope(usable) if len(usable) >= 2 else None
    return out


def slope_matches(name: str, slope: tuple[float, float, float] | None) -> bool | None:
    """Theorem 4.3's prediction for ``name`` lies in the measured slope's interval and its alternative does
    not (:func:`grokutils.verdicts.interval_agreement`); None when the interval contains both."""
    return interval_agreement(slope, SLOPE_PREDICTIONS[name], SLOPE_ALTERNATIVES[name])


def event_samples(groups: dict[float, list[Result]], name: str) -> dict[float, list[int]]:
    """{weight decay: [event time of each seed that has it]} for ``name`` in t_fit, t_rnc1, t_grok."""
    return {wd: [t for t in (getattr(events(r), name) for r in rs) if t] for wd, rs in groups.items()}


def concentration_samples(groups: dict[int, list[Result]]) -> dict[str, dict[int, list[float]]]:
    """Final-step values per n: the gap |V_test − V_train| and the complexity term C(h)/(s √n)."""
    return {
        "gap |V_test − V_train|": {n: [float(r["within_gap"][-1]) for r in rs] for n, rs in groups.items()},
        "C(h) / (s √n)": {n: [float(r["complexity_over_scale"][-1]) / math.sqrt(n) for r in rs]
                          for n, rs in groups.items()},
    }


def spearman_over_time(result: Result, metric: str, reference: str = "test_acc") -> float:
    values, ref = result[metric], result[reference]
    if np.std(values) == 0 or np.std(ref) == 0:
        return math.nan
    return spearman(values, ref)[0]
