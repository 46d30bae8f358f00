"""Part I, Appendix A.4: weight balancedness in Theorem 4.3's own setting (Proposition A.6, Corollary A.7,
Proposition A.8), from the ``balancedness`` metric of :mod:`grokutils.metrics.balance`.

Proposition A.8 (after Jacot et al. 2025, Theorem B.2) says gradient descent with weight decay makes the
layers approximately balanced within O(1/(ηλ)) steps, and Corollary A.7 turns balance plus interpolation into
a small RNC1: the route by which λ sets t_RNC1. Measured per run: t_balance, the first step after its peak at
which the head pair's imbalance ‖W_Lᵀ W_L − W_(L−1) W_(L−1)ᵀ‖_F is at most :data:`BALANCE_FALL_FRACTION` of
that peak (the rule of t_RNC1, fixed before the runs), against λ and against t_RNC1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grokutils import cells
from grokutils.claims import Claim
from grokutils.metrics.balance import decay_half_life
from grokutils.part1 import paper
from grokutils.part1.analysis import events
from grokutils.report import Markdown, markdown_table
from grokutils.result import Result
from grokutils.stats import bootstrap_loglog_slope, fall_step
from grokutils.verdicts import MAJORITY, Verdict, interval_agreement, share, verdict

#: t_balance: first step after its peak at which the imbalance is at most this fraction of the peak.
BALANCE_FALL_FRACTION = 0.5
#: Proposition A.8's slope of log t_balance against log λ, and the slope it argues against.
BALANCE_SLOPE, BALANCE_ALTERNATIVE = -1.0, 0.0


@dataclass(frozen=True)
class Balance:
    """One run: when its head pair balanced, what weight decay alone predicts, and its imbalance over training."""

    t_balance: int | None
    decay_half_life: float
    t_rnc1: int | None
    relative_start: float
    relative_end: float

    @property
    def balanced_first(self) -> bool | None:
        """t_balance ≤ t_RNC1 (None unless both happen)."""
        if self.t_balance is None or self.t_rnc1 is None:
            return None
        return self.t_balance <= self.t_rnc1


def _check_recorded(result: Result) -> None:
    if "imbalance" not in result.history:
        raise ValueError(f"{result.config.label()} did not record the balancedness metric (its config's metrics are "
                         f"{result.config.metrics}); the runs of grokutils.presets.collapse_theory do.")


def balance(result: Result) -> Balance:
    """The :class:`Balance` of one run that recorded ``balancedness``."""
    _check_recorded(result)
    relative = result["imbalance_relative"]
    return Balance(fall_step(result.steps, result["imbalance"], BALANCE_FALL_FRACTION),
                   decay_half_life(result.config.lr, result.config.weight_decay), events(result).t_rnc1,
                   float(relative[0]), float(relative[-1]))


def balance_slope(groups: dict[float, list[Result]]) -> tuple[float, float, float] | None:
    """Slope of log t_balance against log λ with its 95 % bootstrap interval over seeds (None with < 2 λ)."""
    usable = {lam: [b.t_balance for b in map(balance, runs) if b.t_balance] for lam, runs in groups.items()}
    usable = {lam: ts for lam, ts in usable.items() if ts}
    return bootstrap_loglog_slope(usable) if len(usable) >= 2 else None


def balance_table(groups: dict[float, list[Result]]) -> Markdown:
    """Per λ: t_balance (mean ± sd over seeds), weight decay's half-life alone, t_RNC1, balanced before RNC1 fell,
    and the relative imbalance at the start and the end."""
    rows = []
    for lam, runs in groups.items():
        b = [balance(r) for r in runs]
        order = [x.balanced_first for x in b if x.balanced_first is not None]
        rows.append((f"{lam:g}", cells.mean_sd([x.t_balance for x in b]), f"{b[0].decay_half_life:,.0f}",
                     cells.mean_sd([x.t_rnc1 for x in b]), f"{sum(order)}/{len(order)}",
                     cells.mean([x.relative_start for x in b]), cells.mean([x.relative_end for x in b])))
    return markdown_table(("λ", "t_balance", "half-life of weight decay alone", "t_RNC1", "balanced first",
                           "relative imbalance at start", "at end"), rows)


def balance_claim(groups: dict[float, list[Result]]) -> Claim:
    """Proposition A.8 and Corollary A.7: reproduced when the slope's interval holds −1 and not 0 *and* a
    majority of runs balance no later than RNC1 falls; partly when one holds; uninformative when the slope's
    interval holds both and the order fails; not reproduced otherwise."""
    runs = [r for rs in groups.values() for r in rs]
    if not runs:
        return paper.BALANCEDNESS.untestable("no run")
    slope = balance_slope(groups)
    order = [b.balanced_first for b in map(balance, runs) if b.balanced_first is not None]
    slope_text = "—" if slope is None else f"{slope[0]:.2f} [{slope[1]:.2f}, {slope[2]:.2f}]"
    measured = (f"slope of log t_balance vs log λ {slope_text}; balanced no later than RNC1 fell in "
                f"{sum(order)}/{len(order)} runs")
    if slope is None and not order:
        return paper.BALANCEDNESS.untestable(measured)
    slope_holds = interval_agreement(slope, BALANCE_SLOPE, BALANCE_ALTERNATIVE) if slope else None
    order_holds = bool(order) and share(order) >= MAJORITY
    if slope_holds is None and not order_holds:
        return paper.BALANCEDNESS.judged(measured + "; the slope's interval holds both −1 and 0", Verdict.UNINFORMATIVE)
    return paper.BALANCEDNESS.judged(measured, verdict(bool(slope_holds) and order_holds,
                                                       bool(slope_holds) or order_holds))


def imbalance_curves(groups: dict[float, list[Result]]) -> dict[float, list[tuple[np.ndarray, np.ndarray]]]:
    """(steps, relative imbalance of the head pair) of every run, by λ: the page's figure."""
    for runs in groups.values():
        for r in runs:
            _check_recorded(r)
    return {lam: [(r.step_array, r["imbalance_relative"]) for r in runs] for lam, runs in groups.items()}
