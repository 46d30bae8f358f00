"""Part IV's theory rows: Proposition 5.2 on exact neural-collapse configurations, and Lemma A.2 along the runs.

Han et al. (2025), Proposition 5.2 (= A.4): under neural collapse NC1–NC4 (Assumption 5.1) the relative
flatness of the last layer is at most λ²k³M⁴e^{−λM²k/(k−1)} / (1 + (k−1)e^{−λM²k/(k−1)})². The book builds
exact NC configurations (:func:`grokutils.metrics.flatness_theory.neural_collapse_configuration`) on a grid of
(k, M, λ) and computes κ three ways (autograd Hessian, closed form, the proof's own algebra). The proof takes
‖φ(x)‖ = M, which NC2 does not give (it fixes ‖μ_c − μ_g‖, not ‖μ_c‖): moving the global mean μ_g away
from 0, orthogonally to the simplex, keeps NC1–NC4 and multiplies κ by 1 + ‖μ_g‖²/M², and the bound fails
once ‖μ_g‖²/M² > k²/(2 + (k−2)e) − 1 (:func:`offset_threshold`). Lemma A.2 (κ ≤ ‖w‖²_F·Tr H) is checked at
every evaluation of the stored Section 5 and 6 runs, whose ``flatness`` callback records both sides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from grokutils.bound_checks import BoundCheck, bound_check, claim_bounds
from grokutils.claims import Claim
from grokutils.metrics import flatness, flatness_theory
from grokutils.part4 import paper
from grokutils.result import Result
from grokutils.verdicts import Verdict

#: Proposition 5.2's grid: numbers of classes k, class-mean distances M and NC3 scales λ (log-spaced over
#: four decades, through the margin λM²k/(k−1) ≈ 1 where the bound turns from polynomial to exponential).
GRID_KS, GRID_MS, GRID_LAMS = (2, 3, 5, 10), (0.5, 1.0, 2.0), tuple(float(x) for x in np.logspace(-2, 2, 9))
#: The counterexample's setting, and the offsets ‖μ_g‖/M it scans (μ_g orthogonal to the simplex).
OFFSET_K, OFFSET_M, OFFSET_LAM = 2, 1.0, 1.0
OFFSETS = tuple(float(x) for x in np.linspace(0.0, 3.0, 31))


def proposition52_grid() -> list[dict]:
    """:func:`~grokutils.metrics.flatness_theory.proposition52_grid` on :data:`GRID_KS` × :data:`GRID_MS` ×
    :data:`GRID_LAMS`, μ_g = 0 (the case the proof covers)."""
    return flatness_theory.proposition52_grid(GRID_KS, GRID_MS, GRID_LAMS)


def offset_threshold(k: int, M: float, lam: float) -> float:
    """The offset ‖μ_g‖/M above which Proposition 5.2 fails for an exact NC configuration:
    √(k²/(2 + (k−2)e) − 1), e = e^{−λM²k/(k−1)} (κ/bound = (1 + ‖μ_g‖²/M²)(2 + (k−2)e)/k²)."""
    e = math.exp(-lam * M * M * k / (k - 1))
    return math.sqrt(k * k / (2 + (k - 2) * e) - 1)


@dataclass(frozen=True)
class OffsetPoint:
    """κ of an exact NC configuration whose global mean sits ``offset`` × M from 0, against the bound."""

    offset: float
    kappa: float
    bound: float

    @property
    def ratio(self) -> float:
        return self.kappa / self.bound


def offset_scan(k: int = OFFSET_K, M: float = OFFSET_M, lam: float = OFFSET_LAM,
                offsets: Sequence[float] = OFFSETS) -> list[OffsetPoint]:
    """κ (closed form, on the built configuration) and the bound along ``offsets`` of ‖μ_g‖/M."""
    bound = flatness_theory.proposition52_bound(k, M, lam)
    points = []
    for offset in offsets:
        cfg = flatness_theory.neural_collapse_configuration(k, M, lam, global_mean_norm=offset * M)
        kappa = flatness_theory.lemma_a2_check(cfg.features, cfg.labels, cfg.weight, cfg.bias)["lhs"]
        points.append(OffsetPoint(offset, kappa, bound))
    return points


def claim_proposition52(grid: Sequence[dict], offsets: Sequence[OffsetPoint]) -> Claim:
    """Proposition 5.2 as stated: "not reproduced" when an exact NC configuration violates it (beyond
    :data:`~grokutils.part4.paper.BOUND_RTOL`), else "uninformative" (a theorem holding), with its slack."""
    ratios = [row["ratio"] for row in grid]
    agree = max(abs(row["kappa_closed_form"] / row["kappa_exact"] - 1) for row in grid if row["kappa_exact"] > 0)
    violated = [p for p in offsets if p.kappa > p.bound * (1 + paper.BOUND_RTOL)]
    measured = (f"μ_g = 0: holds at {sum(r['holds'] for r in grid)} of {len(grid)} grid points (k "
                f"{', '.join(map(str, GRID_KS))}; κ / bound {min(ratios):.3g}–{max(ratios):.3g}; κ's closed form on "
                f"the built configurations equals the proof's algebra to {agree:.0e})")
    if violated:
        measured += (f"; with the global mean moved off 0 (NC1–NC4 still exact; k = {OFFSET_K}, M = {OFFSET_M:g}, "
                     f"λ = {OFFSET_LAM:g}) it fails from ‖μ_g‖ = {violated[0].offset:.1f} M on (κ / bound up to "
                     f"{max(p.ratio for p in violated):.2f}; predicted threshold "
                     f"{offset_threshold(OFFSET_K, OFFSET_M, OFFSET_LAM):.2f} M)")
        return paper.PROPOSITION52.judged(measured, Verdict.NOT_REPRODUCED)
    if not all(r["holds"] for r in grid):
        return paper.PROPOSITION52.judged(measured, Verdict.NOT_REPRODUCED)
    return paper.PROPOSITION52.judged(measured + " (a theorem holding: it cannot fail)", Verdict.UNINFORMATIVE)


#: Lemma A.1's demonstration: an exact NC configuration, and the same with one bias moved by this fraction of
#: the logit scale λM² (NC4 still holds on the training features, the k class means, but not around them).
LEMMA_A1_SETTING, LEMMA_A1_BIAS_SHIFT = (3, 1.0, 2.0), 0.2


def lemma_a1_examples() -> dict[str, dict]:
    """:func:`~grokutils.metrics.flatness_theory.lemma_a1_check` on an exact NC configuration (:data:`LEMMA_A1_SETTING`,
    global mean off 0) and on a copy whose first bias is shifted by :data:`LEMMA_A1_BIAS_SHIFT` × λM²."""
    k, M, lam = LEMMA_A1_SETTING
    cfg = flatness_theory.neural_collapse_configuration(k, M, lam, global_mean_norm=0.5 * M)
    shifted = cfg.bias.clone()
    shifted[0] += LEMMA_A1_BIAS_SHIFT * lam * M * M
    return {name: flatness_theory.lemma_a1_check(cfg.features, cfg.labels, cfg.weight, bias)
            for name, bias in (("exact NC1–NC4", cfg.bias), ("one bias shifted", shifted))}


#: The rescaling counterexample: an exact NC configuration (k, M, λ) and the per-neuron scales c of its features.
RESCALING_SETTING, RESCALING_SCALES = (3, 1.0, 1.0), (1.0, 10.0, 0.1)


def rescaling_counterexample() -> dict[str, dict]:
    """Definition 3.2's trace form κ and the quadratic form wᵀHw
    (:func:`~grokutils.metrics.flatness.relative_flatness_quadratic`) on an exact NC configuration
    (:data:`RESCALING_SETTING`) and on the same function with its features rescaled neuron-wise, h → h ⊙ c,
    W → W / c (:data:`RESCALING_SCALES`): the logits agree, the trace form does not."""
    k, M, lam = RESCALING_SETTING
    cfg = flatness_theory.neural_collapse_configuration(k, M, lam)
    c = torch.tensor(RESCALING_SCALES, dtype=torch.float64)
    built = (cfg.features, cfg.weight)
    rescaled = (cfg.features * c, cfg.weight / c)
    logits = cfg.features @ cfg.weight.T
    return {name: {"trace": flatness.relative_flatness_closed_form(h, cfg.labels, w, cfg.bias),
                   "quadratic": flatness.relative_flatness_quadratic(h, cfg.labels, w, cfg.bias),
                   "logit_change": float((h @ w.T - logits).abs().max())}
            for name, (h, w) in (("as built", built), (f"features × c = {RESCALING_SCALES}", rescaled))}


#: Logit margin λM²k/(k−1) below which the autograd Hessian keeps κ's digits (above it the softmax saturates
#: and 1 − p loses them; the closed form does not).
AUTOGRAD_MARGIN = 20.0


def autograd_agreement(grid: Sequence[dict]) -> tuple[float, float]:
    """Largest relative difference of autograd κ from the exact one, below and above :data:`AUTOGRAD_MARGIN`."""
    def worst(rows):
        return max((abs(r["kappa_autograd"] / r["kappa_exact"] - 1) for r in rows
                    if r["kappa_exact"] > 0 and not math.isnan(r["kappa_autograd"])), default=math.nan)
    return (worst([r for r in grid if r["margin"] < AUTOGRAD_MARGIN]),
            worst([r for r in grid if r["margin"] >= AUTOGRAD_MARGIN]))


def lemma_a2_check(runs: Sequence[Result], name: str) -> BoundCheck:
    """Lemma A.2, κ ≤ ‖w‖²_F·Tr H, at every evaluation of ``runs`` (diverged evaluations left out)."""
    return bound_check(runs, f"κ ≤ ‖w‖²_F·Tr H ({name})", "relative_flatness", "flatness_bound")


def claim_lemma_a2(checks: Sequence[BoundCheck]) -> Claim:
    """Lemma A.2 over the given checks (:func:`lemma_a2_check`)."""
    return claim_bounds(paper.LEMMA_A2, checks)
