"""Part III's appendix and practical sections on stored runs: Lemma 4's effective-rank collapse, §10's
budget saving from stopping after the H̃* crossing, Table 5's diagnostics, and the effective rank that
compares networks whose representations have different dimensions (claim 7).

Measurements added by the verdict review, after the runs: they are reported beside the claims table,
never in it. Lemma 2 and Proposition 3 concern the SGD dynamics of the covariance and need gradients
at every step, which a stored result does not hold; the book does not check them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from grokutils import stats
from grokutils.config import Config
from grokutils.part3.analysis import check_grok_threshold, run_events, split_grokked, threshold
from grokutils.result import Result

#: §10: training stops this many steps after H̃ first reaches H̃*.
STOP_AFTER_CROSSING = 1_000
#: §10: the paper's saving of the budget (its ≤ 50,000 steps).
PAPER_BUDGET_SAVING = 0.86
PAPER_BUDGET = 50_000


def representation_dim(config: Config) -> int:
    """Dimension d of the probe representation whose H̃ is normalised by log d: the transformer's
    d_model, the MLP's last hidden width."""
    return config.widths[-1] if config.model == "mlp" else config.d_model


def effective_rank(result: Result) -> np.ndarray:
    """exp(H) = d^H̃ at every evaluation (the spec: effective rank = exp(H̃ log d)): a dimension count
    that compares networks whose H̃ are normalised by different d."""
    return representation_dim(result.config) ** np.asarray(result["spectral_entropy"], dtype=float)


@dataclass(frozen=True)
class RankDecay:
    """Lemma 4 on one run: log effective rank against step over the collapse phase (onset to t_grok),
    fitted by a line. ``rate`` is the exponential decay per 1,000 steps, ``r2`` the line's R² (1: a clean
    exponential decay), ``halvings`` how many times the effective rank halves in the window."""

    label: str
    start: int
    end: int
    points: int
    rate: float
    r2: float
    halvings: float


def rank_decay(result: Result) -> RankDecay | None:
    """:class:`RankDecay` of a grokked run with a collapse onset before t_grok and ≥ 3 evaluations in
    between; None otherwise."""
    events = run_events(result)
    if events.t_grok is None or events.onset is None or events.onset >= events.t_grok:
        return None
    steps = result.step_array
    window = (steps >= events.onset) & (steps <= events.t_grok)
    if window.sum() < 3:
        return None
    log_rank = np.log(effective_rank(result)[window])
    slope, intercept = np.polyfit(steps[window], log_rank, 1)
    fitted = slope * steps[window] + intercept
    total = float(((log_rank - log_rank.mean()) ** 2).sum())
    r2 = 1.0 - float(((log_rank - fitted) ** 2).sum()) / total if total > 0 else math.nan
    return RankDecay(result.config.label(), events.onset, events.t_grok, int(window.sum()), float(-1000 * slope), r2,
                     float((log_rank[0] - log_rank[-1]) / math.log(2)))


@dataclass(frozen=True)
class EarlyStop:
    """§10 on one grokked run: stop :data:`STOP_AFTER_CROSSING` steps after H̃ first reaches the threshold
    (estimated from the *other* seeds, as a practitioner would), and compare with training on."""

    label: str
    threshold: float
    crossing: int | None
    stop: int | None
    test_acc_at_stop: float | None
    final_test_acc: float
    t_grok: int

    def saving(self, budget: int) -> float | None:
        """Share of ``budget`` steps not trained (None when the run never crossed)."""
        return None if self.stop is None else 1.0 - min(self.stop, budget) / budget


def early_stops(results: Iterable[Result]) -> list[EarlyStop]:
    """:class:`EarlyStop` of every grokked run, with the leave-one-seed-out H̃* (≥ 3 grokked runs)."""
    grokked, _ = split_grokked(check_grok_threshold(results))
    out = []
    for held in grokked:
        others = threshold([r for r in grokked if r is not held])
        if others is None:
            continue
        hits = np.flatnonzero(np.asarray(held["spectral_entropy"]) <= others.value)
        crossing = int(held.steps[hits[0]]) if hits.size else None
        stop = None if crossing is None else crossing + STOP_AFTER_CROSSING
        at_stop = None if stop is None else float(np.interp(stop, held.step_array, held["test_acc"]))
        out.append(EarlyStop(held.config.label(), others.value, crossing, stop, at_stop,
                             float(held["test_acc"][-1]), held.t_grok))
    return out


#: Table 5's signals, in the order the paper lists them, as the book reads them at the end of a run.
DIAGNOSES = ("phase I: norm expanding", "collapse without generalisation", "no collapse",
             "grokked after its collapse", "other")


def diagnose(result: Result, threshold_value: float) -> str:
    """Table 5 (Appendix D.2) at the end of a run: which signal it shows. "collapse without
    generalisation": H̃ reached the threshold (or has a collapse onset) while test accuracy stays below
    the grokking threshold; "no collapse": no onset; "phase I": the norm still rising at the end."""
    events = run_events(result)
    norm = np.asarray(result["weight_norm"], dtype=float)
    collapsed = events.onset is not None or float(np.min(result["spectral_entropy"])) <= threshold_value
    if events.t_grok is not None:
        return DIAGNOSES[3] if collapsed else DIAGNOSES[4]
    if len(norm) >= 2 and norm[-1] > norm[len(norm) // 2]:
        return DIAGNOSES[0]
    return DIAGNOSES[1] if collapsed else DIAGNOSES[2]


def diagnoses(groups: dict[str, Sequence[Result]], threshold_value: float) -> dict[str, dict[str, int]]:
    """Counts of :func:`diagnose` per task."""
    return {task: {d: sum(diagnose(r, threshold_value) == d for r in runs) for d in DIAGNOSES}
            for task, runs in groups.items()}


def rank_decay_summary(results: Iterable[Result]) -> tuple[int, int, float | None, tuple[float, float, float] | None]:
    """(runs with a decay window, runs, median R² of the exponential fit, mean rate per 1,000 steps with
    its 95 % bootstrap interval)."""
    results = list(results)
    decays = [d for d in map(rank_decay, results) if d is not None]
    if not decays:
        return 0, len(results), None, None
    rates = [d.rate for d in decays]
    interval = stats.bootstrap_mean_ci(rates) if len(rates) >= 2 else None
    return len(decays), len(results), float(np.median([d.r2 for d in decays])), interval
