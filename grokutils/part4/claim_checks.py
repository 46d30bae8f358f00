"""Part IV's claims table: one function per claim of Han et al. (2025), each a row with a computed verdict.

Criteria: the constants of :mod:`grokutils.part4.paper`, fixed before any Part IV run; rules: the shared ones
of :mod:`grokutils.verdicts`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from grokutils import cells, stats
from grokutils.claims import Claim, PaperClaim
from grokutils.grokking import generalises_late
from grokutils.part4 import analysis, paper
from grokutils.presets import NCC_WEIGHT
from grokutils.result import Result
from grokutils.verdicts import (SIGNIFICANCE, Verdict, majority_verdict, rank_test_can_reject, share, significant,
                                verdict)


def _grokking(claim, runs: Sequence[Result]) -> list[Result] | Claim:
    grokked = [r for r in runs if generalises_late(r)]
    return grokked or claim.judged(f"no seed groks (0/{len(runs)})", Verdict.NOT_REPRODUCED)


def _untestable(claim, measured: str, n_a: int, n_b: int) -> Claim | None:
    """The claim as "not testable here" when its rank test of ``n_a`` runs against ``n_b`` cannot reject."""
    if rank_test_can_reject(n_a, n_b):
        return None
    return claim.untestable(f"{measured}; with {n_a} runs against {n_b} a one-sided rank test cannot reach "
                            f"p < {SIGNIFICANCE}")


def claim_ncc_memorisation(runs: Sequence[Result]) -> Claim:
    """Figure 1: in a majority of grokking seeds NCC's half-fall position is below
    :data:`~grokutils.part4.paper.NCC_POSITION`."""
    grokked = _grokking(paper.NCC_MEMORISATION, runs)
    if isinstance(grokked, Claim):
        return grokked
    positions = [analysis.position(r, analysis.half_fall_step(r, "ncc")) for r in grokked]
    flags = [p < paper.NCC_POSITION for p in positions]
    measured = (f"NCC's half-fall at {cells.mean_sd(positions, 2)} of the way from t_fit to t_grok "
                f"({sum(flags)}/{len(flags)} seeds < {paper.NCC_POSITION})")
    return paper.NCC_MEMORISATION.judged(measured, majority_verdict(share(flags)))


def claim_kappa_grokking(runs: Sequence[Result]) -> Claim:
    """Figure 1: in a majority of grokking seeds κ's half-fall position is within
    ± :data:`~grokutils.part4.paper.KAPPA_WINDOW` of t_grok."""
    grokked = _grokking(paper.KAPPA_GROKKING, runs)
    if isinstance(grokked, Claim):
        return grokked
    positions = [analysis.position(r, analysis.half_fall_step(r, "relative_flatness")) for r in grokked]
    flags = [abs(p - 1) <= paper.KAPPA_WINDOW for p in positions]
    measured = (f"κ's half-fall at {cells.mean_sd(positions, 2)} of the way from t_fit to t_grok "
                f"({sum(flags)}/{len(flags)} seeds within ± {paper.KAPPA_WINDOW} of t_grok)")
    return paper.KAPPA_GROKKING.judged(measured, majority_verdict(share(flags)))


def claim_ncc_regulariser(baseline: Sequence[Result], regularised: Sequence[Result],
                          claim: PaperClaim = paper.NCC_REGULARISER) -> Claim:
    """Section 5: NCC ends higher (one-sided Mann–Whitney, rule 1) while the final test accuracy and κ are
    equivalent to the baseline's (intervals within the margins). All three: reproduced; the rise and one
    equivalence: partly."""
    analysis.check_paired(baseline, regularised, "NCC-regularised")
    rise_p = stats.mann_whitney_greater([analysis.final(r, "ncc") for r in regularised],
                                        [analysis.final(r, "ncc") for r in baseline])[1]
    accuracy = analysis.paired_difference(baseline, regularised, "test_acc", resamples=paper.RESAMPLES)
    kappa = analysis.paired_difference(baseline, regularised, "relative_flatness", log=True,
                                       resamples=paper.RESAMPLES)
    same_accuracy = analysis.within(accuracy, paper.ACCURACY_MARGIN)
    same_kappa = analysis.within(kappa, math.log(paper.KAPPA_RATIO))
    measured = (f"NCC higher at the end: p = {cells.p_value(rise_p)}; final test accuracy difference "
                f"{cells.signed_interval(accuracy)} (equivalent within ± {paper.ACCURACY_MARGIN}: "
                f"{'yes' if same_accuracy else 'no'}); κ ratio ×{math.exp(kappa[0]):.3g} (equivalent within "
                f"×/÷ {paper.KAPPA_RATIO}: {'yes' if same_kappa else 'no'})")
    rises = significant(rise_p)
    untestable = _untestable(claim, measured, len(regularised), len(baseline))
    return untestable or claim.judged(measured, verdict(rises and same_accuracy and same_kappa,
                                                          rises and (same_accuracy or same_kappa)))


def claim_ncc_ablation(baseline: Sequence[Result], largest: Sequence[Result],
                       claim: PaperClaim = paper.NCC_ABLATION) -> Claim:
    """Appendix B: at the largest λ the runs diverge (majority) or end significantly less accurate (rule 1)."""
    analysis.check_paired(baseline, largest, "largest-λ")
    diverged = [analysis.diverged(r) for r in largest]
    finite = [r for r in largest if not analysis.diverged(r)]
    p = (stats.mann_whitney_greater([analysis.final(r, "test_acc") for r in baseline],
                                    [analysis.final(r, "test_acc") for r in finite])[1] if finite else None)
    measured = (f"{sum(diverged)}/{len(largest)} diverge; final test accuracy below the baseline's: "
                f"p = {cells.p_value(p)}")
    if share(diverged) < 0.5 and (untestable := _untestable(claim, measured, len(baseline), len(finite))):
        return untestable
    return claim.judged(measured, verdict(share(diverged) >= 0.5 or significant(p)))


def claim_flatness_regulariser(baseline: Sequence[Result], regularised: Sequence[Result], unplug: int,
                               claim: PaperClaim = paper.FLATNESS_REGULARISER) -> Claim:
    """Section 6: accuracy at the unplug step below the baseline's (rule 1); after unplugging the runs grok and
    κ falls (majorities); the final accuracy below the baseline's (rule 1). All: reproduced; the delay and the
    rise after unplugging: partly."""
    analysis.check_paired(baseline, regularised, "flatness-regularised")
    at_unplug = stats.mann_whitney_greater([analysis.value_at(r, "test_acc", unplug) for r in baseline],
                                           [analysis.value_at(r, "test_acc", unplug) for r in regularised])[1]
    groks_after = [r.t_grok is not None and r.t_grok > unplug for r in regularised]
    kappa_falls = [analysis.final(r, "relative_flatness") < analysis.value_at(r, "relative_flatness", unplug)
                   for r in regularised]
    below_p = stats.mann_whitney_greater([analysis.final(r, "test_acc") for r in baseline],
                                         [analysis.final(r, "test_acc") for r in regularised])[1]
    measured = (f"test accuracy at the unplug step below the baseline's: p = {cells.p_value(at_unplug)}; "
                f"grok after unplugging: {sum(groks_after)}/{len(regularised)}; κ falls after it: "
                f"{sum(kappa_falls)}/{len(regularised)}; final accuracy below the baseline's: "
                f"p = {cells.p_value(below_p)}")
    delayed = significant(at_unplug) and majority_verdict(share(groks_after)) == Verdict.REPRODUCED
    every = delayed and majority_verdict(share(kappa_falls)) == Verdict.REPRODUCED and significant(below_p)
    untestable = _untestable(claim, measured, len(baseline), len(regularised))
    return untestable or claim.judged(measured, verdict(every, delayed))


def claim_representativeness(runs: Sequence[Result], metric: str) -> Claim:
    """Appendix D: in a majority of grokking seeds ``metric`` ends at most
    :data:`~grokutils.part4.paper.REPRESENTATIVENESS_FRACTION` of its largest value."""
    grokked = _grokking(paper.REPRESENTATIVENESS, runs)
    if isinstance(grokked, Claim):
        return grokked
    ratios = [analysis.final(r, metric) / max(float(r[metric].max()), 1e-300) for r in grokked]
    flags = [ratio <= paper.REPRESENTATIVENESS_FRACTION for ratio in ratios]
    measured = (f"final / largest: {cells.mean_sd(ratios, 3)} ({sum(flags)}/{len(flags)} seeds ≤ "
                f"{paper.REPRESENTATIVENESS_FRACTION})")
    return paper.REPRESENTATIVENESS.judged(measured, majority_verdict(share(flags)))


def claims(figure1: Sequence[Result], ncc_arms: Mapping[str, Sequence[Result]],
           flatness_arms: Mapping[str, Sequence[Result]], unplug: int,
           modular_ncc: Mapping[str, Sequence[Result]] | None = None,
           modular_flatness: Mapping[str, Sequence[Result]] | None = None) -> list[Claim]:
    """The chapter's claims table from stored runs: Figure 1 (``figure1``: the chosen setting's seeds) with
    Appendix D's representativeness, Section 5 and its ablation (``ncc_arms``: ``{"baseline", "λ = …"}``), and
    Section 6 (``flatness_arms``: ``{"baseline", "regularised"}``, unplugged at ``unplug``). The theory rows are
    :mod:`grokutils.part4.theory`'s. With ``modular_ncc`` and ``modular_flatness`` (the same arms on x + y mod 97,
    unplugged at their own step) the three causal claims again on that task."""
    rows = [claim_ncc_memorisation(figure1), claim_kappa_grokking(figure1),
            claim_representativeness(figure1, "representativeness"), *_ncc_claims(ncc_arms),
            claim_flatness_regulariser(flatness_arms["baseline"], flatness_arms["regularised"], unplug)]
    if modular_ncc is not None:
        rows += _ncc_claims(modular_ncc, paper.NCC_REGULARISER_MODULAR, paper.NCC_ABLATION_MODULAR)
    if modular_flatness is not None:
        regularised = modular_flatness["regularised"]
        rows.append(claim_flatness_regulariser(modular_flatness["baseline"], regularised,
                                               regularised[0].config.unplug_step, paper.FLATNESS_REGULARISER_MODULAR))
    return rows


def _ncc_claims(arms: Mapping[str, Sequence[Result]], regulariser: PaperClaim = paper.NCC_REGULARISER,
                ablation: PaperClaim = paper.NCC_ABLATION) -> list[Claim]:
    """Section 5's two rows: λ = 1e-3 against the baseline, and the largest λ of the arms."""
    largest = max((arm for arm in arms if arm != "baseline"), key=lambda arm: float(arm.split("= ")[1]))
    return [claim_ncc_regulariser(arms["baseline"], arms[f"λ = {NCC_WEIGHT:g}"], regulariser),
            claim_ncc_ablation(arms["baseline"], arms[largest], ablation)]
