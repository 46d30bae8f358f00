"""Part III, claim 3 (Table 1): the representation-mixing arms and the norm-matched control
against the baseline: their t_grok compared, and whether mixing held the entropy up."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from grokutils import stats
from grokutils.part3.analysis import check_grok_threshold, mean_ci, value_at
from grokutils.result import Result


@dataclass(frozen=True)
class Comparison:
    """t_grok of a treated condition against the baseline (claim 3, Table 1).

    As in the paper's Table 1, the means, ``delay`` (difference of the means), the one-sided
    Mann–Whitney test that the treated runs grok later (``u``, ``p``), the rank-biserial
    correlation and Cohen's d use the grokked runs only (None where an arm has none).
    ``p_all`` and ``rank_biserial_all`` repeat the test on *all* runs, a run that did not grok
    ranked after every grokked run (its t_grok censored after the end of training, all such runs
    tied): leaving out the runs that never grokked would favour the arm that fails more. They
    equal ``p`` and ``rank_biserial`` when every run grokked; None when an arm is empty.
    """

    condition: str
    baseline_runs: int
    baseline_t_grok: tuple[int, ...]
    treated_runs: int
    treated_t_grok: tuple[int, ...]
    u: float | None
    p: float | None
    rank_biserial: float | None
    cohen_d: float | None
    p_all: float | None
    rank_biserial_all: float | None

    @property
    def baseline_mean(self) -> float | None:
        return float(np.mean(self.baseline_t_grok)) if self.baseline_t_grok else None

    @property
    def treated_mean(self) -> float | None:
        return float(np.mean(self.treated_t_grok)) if self.treated_t_grok else None

    @property
    def delay(self) -> float | None:
        if self.baseline_mean is None or self.treated_mean is None:
            return None
        return self.treated_mean - self.baseline_mean

    @property
    def all_grokked(self) -> bool:
        return len(self.baseline_t_grok) == self.baseline_runs and len(self.treated_t_grok) == self.treated_runs


def _cohen_d(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = math.sqrt(((len(a) - 1) * np.var(a, ddof=1) + (len(b) - 1) * np.var(b, ddof=1)) / (len(a) + len(b) - 2))
    return None if pooled == 0 else float((np.mean(a) - np.mean(b)) / pooled)


def compare_t_grok(baseline: Iterable[Result], treated: Iterable[Result], condition: str) -> Comparison:
    """Claim 3: t_grok of ``treated`` runs against ``baseline`` runs (see :class:`Comparison`)."""
    baseline, treated = check_grok_threshold(baseline), check_grok_threshold(treated)
    base = [r.t_grok for r in baseline if r.t_grok is not None]
    treat = [r.t_grok for r in treated if r.t_grok is not None]
    u = p = rb = p_all = rb_all = None
    if base and treat:
        u, p = stats.mann_whitney_greater(treat, base)
        rb = stats.rank_biserial(treat, base)
    if baseline and treated:
        end = max(r.steps[-1] for r in [*baseline, *treated]) + 1

        def censored(runs: list[Result]) -> list[int]:
            return [r.t_grok if r.t_grok is not None else end for r in runs]

        p_all = stats.mann_whitney_greater(censored(treated), censored(baseline))[1]
        rb_all = stats.rank_biserial(censored(treated), censored(baseline))
    return Comparison(condition, len(baseline), tuple(base), len(treated), tuple(treat), u, p, rb,
                      _cohen_d(treat, base), p_all, rb_all)


def check_condition(results: list[Result], mixing: bool, norm_matched: bool, role: str) -> None:
    bad = [r.config.label() for r in results
           if (r.config.mixing_alpha > 0) != mixing or bool(r.config.norm_matched) != norm_matched]
    if bad:
        want = ("mixing_alpha > 0" if mixing else "mixing_alpha = 0") + f", norm_matched = {norm_matched}"
        raise ValueError(f"the {role} runs must have {want}; these do not: {bad}.")


def intervention_comparisons(baseline: Iterable[Result], mixed: Iterable[Result] | None = None,
                             control: Iterable[Result] | None = None) -> list[Comparison]:
    """Table 1's comparisons: representation mixing and the norm-matched control against the
    baseline (the runs are checked: baseline without mixing, ``mixed`` with mixing and without
    norm matching, ``control`` with both)."""
    baseline = check_grok_threshold(baseline)
    check_condition(baseline, False, False, "baseline")
    out = []
    for runs, condition, norm_matched in ((mixed, "mixing", False), (control, "norm-matched mixing", True)):
        if runs is not None:
            runs = check_grok_threshold(runs)
            check_condition(runs, True, norm_matched, condition)
            out.append(compare_t_grok(baseline, runs, condition))
    return out


@dataclass(frozen=True)
class EntropyShift:
    """Did the intervention keep H̃ higher? The check that mixing manipulated what it targets.

    For each seed present in both arms, ``differences`` holds the mean of H̃(treated) − H̃(baseline)
    over their shared evaluations from the later t_fit to the earlier t_grok (a run that did not
    grok: its last step) — the window in which the paper's mechanism says mixing must hold the
    entropy up. ``estimate`` is their mean with a 95 % bootstrap interval over seeds (None with
    fewer than two seeds).
    """

    condition: str
    seeds: tuple[int, ...]
    differences: tuple[float, ...]
    estimate: tuple[float, float, float] | None


def _window_mean_difference(treated: Result, baseline: Result) -> float | None:
    if treated.t_fit is None or baseline.t_fit is None:
        return None
    start = max(treated.t_fit, baseline.t_fit)
    end = min(r.t_grok if r.t_grok is not None else r.steps[-1] for r in (treated, baseline))
    shared = sorted(set(treated.steps) & set(baseline.steps))
    window = [s for s in shared if start <= s <= end]
    if not window:
        return None
    return float(np.mean([value_at(treated, "spectral_entropy", s) - value_at(baseline, "spectral_entropy", s)
                          for s in window]))


def entropy_shift(baseline: Iterable[Result], treated: Iterable[Result], condition: str) -> EntropyShift:
    """The manipulation check of claim 3 (see :class:`EntropyShift`): runs are paired by seed."""
    by_seed = {r.config.seed: r for r in check_grok_threshold(baseline)}
    pairs = [(r.config.seed, _window_mean_difference(r, by_seed[r.config.seed]))
             for r in check_grok_threshold(treated) if r.config.seed in by_seed]
    pairs = [(seed, d) for seed, d in pairs if d is not None]
    differences = [d for _, d in pairs]
    return EntropyShift(condition, tuple(seed for seed, _ in pairs), tuple(differences), mean_ci(differences))


def same_seeds(baseline: Iterable[Result], runs: Iterable[Result]) -> list[Result]:
    """The ``baseline`` runs whose seeds are among those of ``runs`` (an arm on a subset of seeds is
    compared with the baseline runs of its own seeds)."""
    seeds = {r.config.seed for r in runs}
    return [r for r in check_grok_threshold(baseline) if r.config.seed in seeds]
