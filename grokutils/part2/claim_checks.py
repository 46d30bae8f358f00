"""Part II's claims table: one function per claim of Tan & Huang (2023), each a row with a computed verdict.

The criteria are the constants of :mod:`grokutils.part2.paper`, fixed before the paper runs ended; the rules
are the shared ones of :mod:`grokutils.verdicts` (significance before direction, majorities of seeds,
"uninformative" for checks that cannot fail or that fire without grokking). Theorem rows (Lemma 3.1,
Theorem 3.2, Section 5) are judged where their measurements are stored (the theory pages).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from grokutils import cells, stats
from grokutils.claims import Claim, PaperClaim
from grokutils.part2 import analysis, paper
from grokutils.result import Result
from grokutils.verdicts import (MAJORITY, SIGNIFICANCE, Verdict, effect_verdict, excludes_zero,
                                fires_without_grokking, majority_verdict, rank_test_can_reject, share,
                                signed_rank_test_can_reject, significant, verdict)


def _share_text(flags: Sequence[bool], what: str) -> str:
    return f"{sum(flags)}/{len(flags)} seeds {what}"


def _no_grokking(claim: PaperClaim, runs: Sequence[Result]) -> Claim:
    """A setting in which no seed groks is its own row, "not reproduced" (rule 5)."""
    return claim.judged(f"no seed groks (0/{len(runs)})", Verdict.NOT_REPRODUCED)


def claim_norm(task: str, runs: Sequence[Result], controls: Sequence[Result]) -> Claim:
    """Figure 1: in the grokking seeds the weight norm falls by ≥ :data:`~grokutils.part2.paper.NORM_FALL`
    from a peak before t_grok; "uninformative" if the same fall shows in at least half of the wd = 0
    controls that never grok."""
    claim, grokked = paper.NORM[task], analysis.grokking_runs(runs)
    if not grokked:
        return _no_grokking(claim, runs)
    falls = [analysis.norm_fall(r) for r in grokked]
    flags = [f.fires for f in falls]
    quiet = [r for r in controls if r.t_grok is None]
    fired = [analysis.norm_fall(r).fires for r in quiet]
    measured = (f"{_share_text(flags, 'fall from a peak before t_grok')}; mean fall to t_grok "
                f"{cells.percent(sum(f.fall for f in falls) / len(falls))}; wd-0 controls without grokking: "
                f"{sum(fired)}/{len(fired)} show the same fall")
    if fires_without_grokking(fired):
        return claim.judged(measured + " (it does not tell grokking apart)", Verdict.UNINFORMATIVE)
    return claim.judged(measured, majority_verdict(share(flags)))


def claim_perturbation(task: str, runs: Sequence[Result]) -> Claim:
    """Figure 2 (a, b): the mean over seeds of log(error at the end / at t_fit) has a 95 % bootstrap interval
    below zero (rule 1)."""
    claim = paper.PERTURBATION[task]
    changes = [c for c in (analysis.perturbation_change(r) for r in runs) if not math.isnan(c)]
    if len(changes) < 2:
        return claim.untestable(f"{len(changes)} of {len(runs)} seeds fit their training set")
    estimate = stats.bootstrap_mean_ci(changes, paper.RESAMPLES)
    ratio = tuple(math.exp(v) for v in estimate)
    measured = (f"error at the end / at t_fit: ×{ratio[0]:.3g} [{ratio[1]:.3g}, {ratio[2]:.3g}] (geometric mean "
                f"over {len(changes)} seeds, 95 % CI)")
    return claim.judged(measured, verdict(excludes_zero(estimate) and estimate[2] < 0))


def claim_sharpness(task: str, runs: Sequence[Result]) -> Claim:
    """Figure 2 (c, d): in a majority of seeds the Spearman correlation of step and sharpness from t_fit on is
    at most :data:`~grokutils.part2.paper.SHARPNESS_SPEARMAN`; the whole-run correlation is reported beside."""
    claim = paper.SHARPNESS[task]
    trends = [analysis.sharpness_trend(r) for r in runs]
    flags = [t <= paper.SHARPNESS_SPEARMAN for t in trends if not math.isnan(t)]
    if not flags:
        return claim.untestable("no seed has three evaluations after its fit")
    whole = [analysis.sharpness_trend_whole_run(r) for r in runs]
    measured = (f"Spearman ρ(step, sharpness) after the fit: {cells.mean_sd(trends, 2)} "
                f"({_share_text(flags, f'≤ {paper.SHARPNESS_SPEARMAN}')}); whole run {cells.mean_sd(whole, 2)}")
    return claim.judged(measured, majority_verdict(share(flags)))


def _comparison_text(c: analysis.ArmComparison) -> str:
    grokked = sum(t is not None for t in c.treated_t_grok), sum(t is not None for t in c.standard_t_grok)
    return (f"t_grok {cells.steps(c.treated_mean)} ({grokked[0]}/{c.runs} grokked) against "
            f"{cells.steps(c.standard_mean)} ({grokked[1]}/{c.runs}); one-sided Mann–Whitney p = "
            f"{cells.p_value(c.p_value)}")


def claim_degrok(task: str, arms: Mapping[str, Sequence[Result]]) -> Claim:
    """Figure 4: the perturbed arm groks earlier than the standard arm (one-sided Mann–Whitney, rule 1)."""
    comparison = analysis.compare_arms(arms["standard"], arms["perturbed"], "perturbed")
    return paper.DEGROK[task].judged(_comparison_text(comparison), effect_verdict(comparison.p_value))


def claim_abelian_degrok(arms: Mapping[str, Sequence[Result]]) -> Claim:
    """Figure 6: the abelian regulariser groks earlier than standard training (rule 1) and than the
    perturbation strategy (both: reproduced; standard only: partly)."""
    against_standard = analysis.compare_arms(arms["standard"], arms["abelian"], "abelian")
    against_perturbed = analysis.compare_arms(arms["perturbed"], arms["abelian"], "abelian")
    measured = (f"against standard: {_comparison_text(against_standard)}; against perturbed: p = "
                f"{cells.p_value(against_perturbed.p_value)}")
    return paper.ABELIAN_DEGROK.judged(measured, effect_verdict(against_standard.p_value,
                                                                significant(against_perturbed.p_value)))


def claim_abelian_standard(standard: Sequence[Result]) -> Claim:
    """Figure 5 (a): in a majority of grokking seeds t_abelian lies in the later half of the fit-to-grok span."""
    grokked = analysis.grokking_runs(standard)
    if not grokked:
        return _no_grokking(paper.ABELIAN_STANDARD, standard)
    positions = [analysis.abelian_position(r) for r in grokked]
    flags = [p >= paper.LATE_POSITION for p in positions]
    measured = (f"t_abelian at {cells.mean_sd(positions, 2)} of the way from t_fit to t_grok "
                f"({_share_text(flags, f'≥ {paper.LATE_POSITION}')})")
    return paper.ABELIAN_STANDARD.judged(measured, majority_verdict(share(flags)))


def claim_abelian_perturbed(standard: Sequence[Result], perturbed: Sequence[Result]) -> Claim:
    """Figure 5 (b): in a majority of seeds the perturbed run becomes commutative within
    :data:`~grokutils.part2.paper.EARLY_POSITION` of the same seed's standard fit-to-grok span after its fit."""
    positions = [analysis.abelian_position(p, span_of=s) for s, p in zip(standard, perturbed)]
    judged = [p for p in positions if not math.isnan(p)]
    if not judged:
        return paper.ABELIAN_PERTURBED.untestable("no seed has a standard fit-to-grok span to compare with")
    flags = [p <= paper.EARLY_POSITION for p in judged]
    measured = (f"t_abelian − t_fit = {cells.mean_sd(judged, 2)} of the standard seed's fit-to-grok span "
                f"({_share_text(flags, f'≤ {paper.EARLY_POSITION}')})")
    return paper.ABELIAN_PERTURBED.judged(measured, majority_verdict(share(flags)))


def claim_logit_distance(standard: Sequence[Result], perturbed: Sequence[Result]) -> Claim:
    """Figure 7: standard training's logit distance stays near 0 after grokking, and perturbed training's
    varies more than the same seed's standard one (majorities of seeds; both: reproduced, one: partly)."""
    pairs = [(analysis.logit_distance(s), analysis.logit_distance(p)) for s, p in zip(standard, perturbed)]
    pairs = [(s, p) for s, p in pairs if not (math.isnan(s.at_fit) or math.isnan(p.at_fit))]
    if not pairs:
        return paper.LOGIT_DISTANCE.untestable("no seed groks in both arms")
    at_zero = [s.stays_at_zero for s, _ in pairs]
    chaotic = [p.cv_after_grok > s.cv_after_grok for s, p in pairs]
    measured = (f"standard: {_share_text(at_zero, f'stay ≤ {paper.LOGIT_ZERO:g} × their value at t_fit')}; "
                f"perturbed more variable after t_grok in {sum(chaotic)}/{len(chaotic)} (CV "
                f"{cells.mean_sd([p.cv_after_grok for _, p in pairs], 2)} against "
                f"{cells.mean_sd([s.cv_after_grok for s, _ in pairs], 2)})")
    both = [majority_verdict(share(at_zero)), majority_verdict(share(chaotic))]
    return paper.LOGIT_DISTANCE.judged(measured, verdict(all(v == Verdict.REPRODUCED for v in both),
                                                         Verdict.REPRODUCED in both))


def claim_timely(claim: PaperClaim, runs: Sequence[Result], signal: str, than: str = "weight_norm") -> Claim:
    """Figures 8, 9, 13: ``signal``'s half-change comes nearer t_grok than ``than``'s
    (:func:`grokutils.part2.analysis.lag`), seed by seed. A difference the paper predicts, so rule 1: the paired
    |lag|s must differ in its direction (one-sided exact Wilcoxon signed-rank, p < 0.05; "not testable here" with
    fewer than five grokking seeds), and "reproduced" needs the majority of seeds as well."""
    grokked = analysis.grokking_runs(runs)
    if not grokked:
        return _no_grokking(claim, runs)
    flags = [analysis.more_timely(r, signal, than) for r in grokked]
    lags = {name: [analysis.lag(r, name) for r in grokked] for name in (signal, than)}
    measured = (f"lag of the half-change behind t_grok: {signal} {cells.mean_sd(lags[signal])} steps, {than} "
                f"{cells.mean_sd(lags[than])} ({_share_text(flags, f'nearer t_grok for {signal}')})")
    if not signed_rank_test_can_reject(len(grokked)):
        return claim.untestable(f"{measured}; {len(grokked)} grokking seeds: a one-sided signed-rank test cannot "
                                f"reach p < {SIGNIFICANCE}")
    p = stats.wilcoxon_less(np.abs(lags[signal]), np.abs(lags[than]))
    return claim.judged(f"{measured}; paired p = {cells.p_value(p)}",
                        effect_verdict(p, in_full=share(flags) >= MAJORITY))


def claim_mid_ed(task: str, runs: Sequence[Result], controls: Sequence[Result]) -> Claim:
    """Figures 10, 11: |MID| and |ED| at t_fit are smaller in the grokking runs than in the wd = 0 controls that
    never grok (one-sided Mann–Whitney, rule 1): both, reproduced; one, partly."""
    claim, grokked = paper.MID_ED[task], analysis.grokking_runs(runs)
    quiet = [r for r in controls if r.t_grok is None and r.t_fit is not None]
    if not grokked:
        return _no_grokking(claim, runs)
    if not quiet:
        return claim.untestable(f"no wd-0 control fits without grokking ({len(controls)} controls)")
    if not rank_test_can_reject(len(quiet), len(grokked)):
        return claim.untestable(f"{len(quiet)} controls against {len(grokked)} grokking runs: a one-sided rank "
                                f"test cannot reach p < {SIGNIFICANCE}")
    parts, separated = [], []
    for metric in ("mid", "ed"):
        grok = [analysis.value_at_fit(r, metric) for r in grokked]
        other = [analysis.value_at_fit(r, metric) for r in quiet]
        p = stats.mann_whitney_greater(other, grok)[1]
        separated.append(p < SIGNIFICANCE)
        parts.append(f"|{metric.upper()}| at t_fit {cells.mean_sd(grok, 3)} (grokking, {len(grok)}) against "
                     f"{cells.mean_sd(other, 3)} (controls, {len(other)}), p = {cells.p_value(p)}")
    return claim.judged("; ".join(parts), verdict(all(separated), any(separated)))


def claim_alpha(runs: Sequence[Result]) -> Claim:
    """Figure 12: in a majority of MNIST seeds every (α, split) series of PMI and of PE correlates with the α = 1
    training-set series at ≥ :data:`~grokutils.part2.paper.ALPHA_AGREEMENT` (Spearman over evaluations)."""
    lowest = [min(analysis.alpha_agreement(r, "pmi"), analysis.alpha_agreement(r, "pe")) for r in runs]
    flags = [value >= paper.ALPHA_AGREEMENT for value in lowest]
    measured = (f"lowest Spearman ρ against the α = 1 training series: {cells.mean_sd(lowest, 2)} "
                f"({_share_text(flags, f'≥ {paper.ALPHA_AGREEMENT}')})")
    return paper.ALPHA.judged(measured, majority_verdict(share(flags)))


def claims(standard: Mapping[str, Sequence[Result]], arms: Mapping[str, Mapping[str, Sequence[Result]]],
           controls: Mapping[str, Sequence[Result]]) -> list[Claim]:
    """The claims table from stored runs (the theorem rows are on their own pages)."""
    rows = []
    for task, runs in standard.items():
        rows += [claim_norm(task, runs, controls[task]), claim_perturbation(task, runs),
                 claim_sharpness(task, runs)]
    for task, by_arm in arms.items():
        rows.append(claim_degrok(task, by_arm))
    add = arms["add"]
    rows += [claim_abelian_standard(add["standard"]), claim_abelian_perturbed(add["standard"], add["perturbed"]),
             claim_abelian_degrok(add), claim_logit_distance(add["standard"], add["perturbed"])]
    for task, runs in standard.items():
        rows += [claim_timely(paper.PMI[task], runs, "pmi"), claim_timely(paper.PE[task], runs, "pe"),
                 claim_mid_ed(task, runs, controls[task])]
    rows += [claim_alpha(standard["mnist"]), claim_timely(paper.LABEL_PMI, standard["mnist"], "pmi", "label_pmi")]
    return rows
