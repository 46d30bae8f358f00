"""Part II's measurements: runs in, numbers out (the criteria are in :mod:`grokutils.part2.paper`).

Each function reads one stored run (or the arms of one task) and returns plain numbers or a small frozen
dataclass; :mod:`grokutils.part2.claim_checks` turns them into verdicts and :mod:`grokutils.part2.tables`
into tables. Series are read by name from the run's history: ``weight_norm``, ``perturbation_error``,
``sharpness``, ``pmi``, ``pe``, ``mid``, ``ed``, ``abelian_train``, ``logit_distance_train``, ``label_pmi``,
``train_pmi_a1`` … (:mod:`grokutils.metrics.robustness`, :mod:`grokutils.metrics.information_ablation`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grokutils import signal_monitor, stats
from grokutils.grokking import generalises_late
from grokutils.metrics.information_ablation import ABLATION_ALPHAS, alpha_key
from grokutils.part2 import paper
from grokutils.result import Result


def _index(result: Result, step: int) -> int:
    """Position of evaluation ``step`` in the run's history."""
    return int(np.searchsorted(result.step_array, step))


def after_fit(result: Result, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of ``metric`` from t_fit to the last evaluation (empty before a fit)."""
    if result.t_fit is None:
        return np.array([], dtype=int), np.array([])
    start = _index(result, result.t_fit)
    return result.step_array[start:], result[metric][start:]


# ----------------------------------------------------------------------------------------------
# Figures 1 and 2: weight norm, perturbation error, sharpness
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NormFall:
    """Figure 1 in one run: the largest weight norm before ``end`` (t_grok, or the last evaluation of a run
    that does not grok), where it was, and the norm at ``end``."""

    end: int
    peak_step: int
    peak: float
    at_end: float

    @property
    def fall(self) -> float:
        """Relative fall from the peak to ``end``."""
        return 1 - self.at_end / self.peak

    @property
    def fires(self) -> bool:
        """The norm falls by :data:`~grokutils.part2.paper.NORM_FALL` and the fall starts before ``end``."""
        return self.peak_step < self.end and self.fall >= paper.NORM_FALL


def norm_fall(result: Result) -> NormFall:
    """:class:`NormFall` up to t_grok (a run that does not reach it: up to its last evaluation)."""
    end = result.t_grok if result.t_grok is not None else int(result.step_array[-1])
    stop = _index(result, end) + 1
    norms = result["weight_norm"][:stop]
    peak = int(np.argmax(norms))
    return NormFall(end, int(result.step_array[peak]), float(norms[peak]), float(norms[-1]))


def perturbation_change(result: Result) -> float:
    """Figure 2 (a, b): log(perturbation error at the last evaluation / at t_fit); NaN before a fit."""
    _, values = after_fit(result, "perturbation_error")
    return float(np.log(values[-1] / values[0])) if values.size else math.nan


def sharpness_trend(result: Result) -> float:
    """Figure 2 (c, d): Spearman correlation of step and sharpness from t_fit on (NaN with < 3 evaluations)."""
    steps, values = after_fit(result, "sharpness")
    return stats.spearman(steps, values)[0] if steps.size >= 3 else math.nan


def sharpness_trend_whole_run(result: Result) -> float:
    """The same correlation over every evaluation (reported beside the verdict)."""
    return stats.spearman(result.step_array, result["sharpness"])[0]


# ----------------------------------------------------------------------------------------------
# Figures 4–7: the degrokking arms
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArmComparison:
    """t_grok of a treated arm against the standard arm: seeds, grokked counts, means of the grokked runs,
    and the one-sided Mann–Whitney p-value that standard training groks later (a seed that never reaches
    the threshold counts at the end of training)."""

    treated: str
    runs: int
    standard_t_grok: tuple[int | None, ...]
    treated_t_grok: tuple[int | None, ...]
    p_value: float | None

    @staticmethod
    def _mean(values) -> float:
        grokked = [v for v in values if v is not None]
        return float(np.mean(grokked)) if grokked else math.nan

    @property
    def standard_mean(self) -> float:
        return self._mean(self.standard_t_grok)

    @property
    def treated_mean(self) -> float:
        return self._mean(self.treated_t_grok)


def _censored(runs: Sequence[Result], end: int) -> list[int]:
    return [r.t_grok if r.t_grok is not None else end for r in runs]


def compare_arms(standard: Sequence[Result], treated: Sequence[Result], name: str) -> ArmComparison:
    """Figures 4 and 6: :class:`ArmComparison` of ``treated`` against ``standard`` (same seeds, same budget)."""
    if [r.config.seed for r in standard] != [r.config.seed for r in treated]:
        raise ValueError(f"the {name} arm must have the standard arm's seeds in order; got "
                         f"{[r.config.seed for r in treated]} and {[r.config.seed for r in standard]}.")
    end = max(int(r.step_array[-1]) for r in [*standard, *treated]) + 1
    p = stats.mann_whitney_greater(_censored(standard, end), _censored(treated, end))[1] if standard else None
    return ArmComparison(name, len(standard), tuple(r.t_grok for r in standard), tuple(r.t_grok for r in treated), p)


def abelian_time(result: Result) -> int | None:
    """Figure 5: the first evaluation at or after t_fit whose abelian test on the training pairs reaches
    :data:`~grokutils.part2.paper.ABELIAN_LEVEL` (None without a fit, or if none does).

    Not before t_fit: an untrained network answers (almost) every pair with the same class, so it is
    trivially commutative at step 0 (the stored a + b runs score 0.98–1.00 there) and falls to about 0.35
    as it starts to fit; the question of Figure 5 is when the fitted network becomes commutative."""
    if result.t_fit is None:
        return None
    start = _index(result, result.t_fit)
    reached = np.nonzero(result["abelian_train"][start:] >= paper.ABELIAN_LEVEL)[0]
    return int(result.step_array[start + reached[0]]) if reached.size else None


def abelian_position(result: Result, span_of: Result | None = None) -> float:
    """(t_abelian − t_fit) / (t_grok − t_fit), the span taken from ``span_of`` (default: the run itself);
    ``inf`` if the training set never becomes commutative, NaN without a fit-to-grok span."""
    span_of = span_of or result
    if result.t_fit is None or span_of.t_fit is None or span_of.t_grok is None or span_of.t_grok <= span_of.t_fit:
        return math.nan
    t_abelian = abelian_time(result)
    if t_abelian is None:
        return math.inf
    return (t_abelian - result.t_fit) / (span_of.t_grok - span_of.t_fit)


def swap_split_at(result: Result, step: int | None = None) -> tuple[float, float]:
    """Test accuracy at evaluation ``step`` (default: the last) on the test pairs whose swap was trained on,
    and on the others (NaN, NaN for a step the run did not reach)."""
    if step is None:
        return float(result["test_acc_swap_seen"][-1]), float(result["test_acc_swap_unseen"][-1])
    i = _index(result, step)
    if i >= len(result.steps):
        return math.nan, math.nan
    return float(result["test_acc_swap_seen"][i]), float(result["test_acc_swap_unseen"][i])


@dataclass(frozen=True)
class LogitDistance:
    """Figure 7 in one run: the logit distance at t_fit, its largest value after t_grok, and its coefficient
    of variation after t_grok (NaN where the run does not fit or grok)."""

    at_fit: float
    max_after_grok: float
    cv_after_grok: float

    @property
    def stays_at_zero(self) -> bool:
        return self.max_after_grok <= paper.LOGIT_ZERO * self.at_fit


def logit_distance(result: Result) -> LogitDistance:
    """:class:`LogitDistance` of ``logit_distance_train``."""
    if result.t_fit is None or result.t_grok is None:
        return LogitDistance(math.nan, math.nan, math.nan)
    series = result["logit_distance_train"]
    after = series[_index(result, result.t_grok):]
    mean = float(after.mean())
    cv = float(after.std() / mean) if mean > 0 else 0.0
    return LogitDistance(float(series[_index(result, result.t_fit)]), float(after.max()), cv)


# ----------------------------------------------------------------------------------------------
# Figures 8–13: the information signals
# ----------------------------------------------------------------------------------------------


def half_change_step(result: Result, metric: str) -> int | None:
    """The first evaluation at or after t_fit at which ``metric`` has covered
    :data:`~grokutils.part2.paper.HALF_CHANGE` of its change from t_fit to the last evaluation (None before a
    fit; t_fit itself for a series that does not change): the book's one transition rule,
    :func:`grokutils.signal_monitor.half_change_step`, on a stored run."""
    return signal_monitor.half_change_step(result.step_array, result[metric], result.t_fit)


def lag(result: Result, metric: str) -> float:
    """t_half(metric) − t_grok in steps (NaN if the run does not reach t_grok or does not fit)."""
    t_half = half_change_step(result, metric)
    return float(t_half - result.t_grok) if t_half is not None and result.t_grok is not None else math.nan


def more_timely(result: Result, metric: str, than: str) -> bool:
    """``metric``'s transition is nearer t_grok than ``than``'s (:func:`lag`, absolute)."""
    return abs(lag(result, metric)) < abs(lag(result, than))


def value_at_fit(result: Result, metric: str) -> float:
    """|metric| at t_fit (Figures 10, 11: MID and ED before the fit); NaN without a fit."""
    return abs(float(result[metric][_index(result, result.t_fit)])) if result.t_fit is not None else math.nan


def alpha_agreement(result: Result, signal: str) -> float:
    """Figure 12: the smallest Spearman correlation over evaluations between the α = 1 training-set series of
    ``signal`` (``"pmi"`` or ``"pe"``) and every other (α, split) series."""
    reference = result[f"train_{alpha_key(signal, 1.0)}"]
    others = [f"{split}_{alpha_key(signal, a)}" for split in ("train", "test") for a in ABLATION_ALPHAS
              if (split, a) != ("train", 1.0)]
    return min(stats.spearman(reference, result[name])[0] for name in others)


def grokking_runs(results: Sequence[Result]) -> list[Result]:
    """The runs that grok (generalise late, :func:`grokutils.grokking.generalises_late`)."""
    return [r for r in results if generalises_late(r)]
