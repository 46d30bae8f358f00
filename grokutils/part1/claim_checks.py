"""Part I's claims table: one function per claim, the analysis's numbers judged by the criteria
of :mod:`grokutils.part1.paper` and the shared rules of :mod:`grokutils.verdicts`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from grokutils import cells
from grokutils.claims import Claim, PaperClaim
from grokutils.part1 import paper
from grokutils.part1.balance import balance_claim
from grokutils.part1.analysis import (bound_check, concentration_samples, events, ib_check,
                                      slope_matches, spearman_over_time, time_scale_slopes, tracking)
from grokutils.part1.paper import CONCENTRATION_ALTERNATIVE, CONCENTRATION_SLOPE, TRACKING_CORRELATION
from grokutils.result import Result
from grokutils.stats import bootstrap_loglog_slope, spearman
from grokutils.verdicts import MAJORITY, Verdict, interval_agreement, majority_verdict, share, verdict


def claims(groups: dict[float, list[Result]], reference_decay: float = 0.01) -> list[Claim]:
    """Part I's claims of the weight-decay sweep with measured numbers and verdicts (criteria:
    :mod:`grokutils.part1.paper`)."""
    all_results = [r for rs in groups.values() for r in rs]
    evs = {id(r): events(r) for r in all_results}
    grokking = [r for r in all_results if evs[id(r)].groks]
    return [
        _claim_grokking(groups.get(reference_decay, []), evs, reference_decay),
        _claim_alignment(grokking, evs),
        _claim_weight_decay(groups, evs),
        _claim_bound(all_results),
        _claim_redundancy(grokking),
        _claim_ib_bounds(grokking),
        _claim_prop33(grokking),
        _claim_time_scales(groups),
    ]


def _claim_grokking(results, evs, wd) -> Claim:
    claim = paper.grokking_claim(wd)
    if not results:
        return claim.untestable(f"no run at wd {wd}")
    ev = [evs[id(r)] for r in results]
    at_fit = [e.test_acc_at_fit for e in ev if e.test_acc_at_fit is not None]
    measured = (f"{sum(e.groks for e in ev)} / {len(ev)} runs grok; test acc at t_fit "
                f"{cells.mean(at_fit)}, final {cells.mean([e.final_test_acc for e in ev])}")
    return claim.judged(measured, majority_verdict(share([e.groks for e in ev])))


def _log_distance(a: int, b: int) -> float:
    return abs(math.log(max(a, 1)) - math.log(max(b, 1)))


def _claim_alignment(grokking, evs) -> Claim:
    """RNC1 falls with the rise of test accuracy: t_RNC1 closer (log steps) to t_grok than to t_fit in
    ≥ :data:`MAJORITY` of the grokking runs; how often it comes only after t_grok is reported beside it."""
    falling = [evs[id(r)] for r in grokking if evs[id(r)].t_rnc1 is not None]
    closer = [_log_distance(e.t_rnc1, e.t_grok) < _log_distance(e.t_rnc1, e.t_fit) for e in falling]
    measured = (f"t_RNC1 closer (log steps) to t_grok than to t_fit in {sum(closer)} of {len(closer)} grokking runs; "
                f"t_RNC1 after t_grok in {sum(e.rnc1_after_grok for e in falling)} of them"
                if closer else "no grokking run with a fall of RNC1")
    return paper.ALIGNMENT.judged(measured, majority_verdict(share(closer)))


def _claim_weight_decay(groups, evs) -> Claim:
    pairs = [(wd, evs[id(r)].t_grok, evs[id(r)].t_grok - evs[id(r)].t_fit)
             for wd, rs in groups.items() for r in rs if evs[id(r)].groks]
    if len({wd for wd, _, _ in pairs}) < 3:
        return paper.WEIGHT_DECAY.untestable(f"grokking at fewer than 3 weight decays ({len(pairs)} runs)")
    wds, t_grok, delay = zip(*pairs)
    rho, p = spearman(wds, t_grok)
    rho_delay, _ = spearman(wds, delay)
    slope = bootstrap_loglog_slope({wd: [t for w, t, _ in pairs if w == wd] for wd in set(wds)})
    measured = (f"Spearman(wd, t_grok) = {rho:.2f} (p = {p:.1g}), Spearman(wd, delay) = {rho_delay:.2f}; "
                f"slope of log t_grok vs log wd {slope[0]:.2f} [{slope[1]:.2f}, {slope[2]:.2f}]")
    holds = rho < 0 and p < 0.05 and rho_delay < 0 and slope[2] < 0
    return paper.WEIGHT_DECAY.judged(measured, verdict(holds, rho < 0))


def _claim_bound(results) -> Claim:
    """Theorem 3.2 on held-out data: reported, and "uninformative" (:data:`~grokutils.part1.paper.BY_CONSTRUCTION`)."""
    if not results:
        return paper.MARGIN_BOUND.untestable("no runs")
    checks = [bound_check(r) for r in results]
    holds = float(np.mean([c["holds"] for c in checks]))
    corr = [c["correlation"] for c in checks if not math.isnan(c["correlation"])]
    lowest = min(c["min_bound"] for c in checks)
    measured = (f"bound ≥ test error at {holds:.1%} of checkpoints ({len(results)} runs); "
                f"mean correlation over time with the test error {np.mean(corr):.2f}; "
                f"lowest bound {lowest:.2f} "
                f"({'vacuous, above 1, throughout' if lowest > 1 else 'non-vacuous at times'})"
                if corr else f"bound ≥ test error at {holds:.1%} of checkpoints")
    return paper.MARGIN_BOUND.judged(f"{measured}; {paper.BY_CONSTRUCTION['p1.thm3.2']}", Verdict.UNINFORMATIVE)


def _claim_redundancy(grokking) -> Claim:
    if not grokking:
        return paper.REDUNDANCY.untestable("no grokking run")
    mi = [tracking(r, "mi_redundancy", "rnc1") for r in grokking]
    hsic = [tracking(r, "nhsic_redundancy", "rnc1") for r in grokking]
    agreeing = share([a >= TRACKING_CORRELATION and b >= TRACKING_CORRELATION for a, b in zip(mi, hsic)])
    measured = (f"Spearman with RNC1 after t_fit: MI redundancy {np.nanmean(mi):.2f}, nHSIC redundancy "
                f"{np.nanmean(hsic):.2f} (means over {len(grokking)} grokking runs); both ≥ "
                f"{TRACKING_CORRELATION} in {agreeing:.0%} of runs")
    return paper.REDUNDANCY.judged(measured, majority_verdict(agreeing))


def _claim_ib_bounds(grokking) -> Claim:
    """Theorem 3.4: reported, and "uninformative" (:data:`~grokutils.part1.paper.BY_CONSTRUCTION`)."""
    if not grokking:
        return paper.IB_BOUNDS.untestable("no grokking run")
    checks = [ib_check(r) for r in grokking]
    tracks = [c["bound_tracks_rnc1"] for c in checks]
    violations = float(np.mean([c["violations"] for c in checks]))
    measured = (f"Spearman(bound, RNC1) after t_fit {np.nanmean(tracks):.2f}; estimate above the bound at "
                f"{violations:.1%} of checkpoints; {paper.BY_CONSTRUCTION['p1.thm3.4']}")
    return paper.IB_BOUNDS.judged(measured, Verdict.UNINFORMATIVE)


def _claim_prop33(grokking) -> Claim:
    """Proposition 3.3, its own row: the bound must hold at every checkpoint of every grokking run."""
    if not grokking:
        return paper.PROP33.untestable("no grokking run")
    violated = [ib_check(r)["prop33_violations"] for r in grokking]
    measured = (f"violated at {np.mean(violated):.1%} of checkpoints, in {sum(v > 0 for v in violated)} of "
                f"{len(grokking)} grokking runs (held-out Î(Z;Y) against the bound from the training cross-entropy: "
                f"two different data sets)")
    return paper.PROP33.judged(measured, verdict(max(violated) == 0.0))


def _claim_time_scales(groups, claim: PaperClaim = paper.TIME_SCALES) -> Claim:
    """Theorem 4.3's three slopes: reproduced when each interval holds its prediction and not the
    alternative; partly when some do; uninformative when no interval decides."""
    slopes = time_scale_slopes(groups)
    parts = [f"{event}: {s[0]:.2f} [{s[1]:.2f}, {s[2]:.2f}]" if s else f"{event}: —" for event, s in slopes.items()]
    if all(s is None for s in slopes.values()):
        return claim.untestable("; ".join(parts))
    matches = [slope_matches(event, s) for event, s in slopes.items() if s is not None]
    decided = [m for m in matches if m is not None]
    undecided = len(matches) - len(decided)
    measured = "; ".join(parts) + (f"; {undecided} interval(s) hold both the prediction and its alternative"
                                   if undecided else "")
    if not decided:
        return claim.judged(measured, Verdict.UNINFORMATIVE)
    return claim.judged(measured, verdict(len(decided) == len(slopes) and all(decided), any(decided)))


def theory_claim(groups: dict[float, list[Result]]) -> Claim:
    """Theorem 4.3's slopes in the theorem's own setting (:func:`load_theory`)."""
    return _claim_time_scales(groups, paper.TIME_SCALES_OWN_SETTING)


def concentration_claim(groups: dict[int, list[Result]]) -> Claim:
    """Theorem 4.1: the gap shrinks like n^(−1/2) (slope of log gap vs log n with a bootstrap CI)."""
    gaps = concentration_samples(groups)["gap |V_test − V_train|"]
    usable = {n: [g for g in gs if g > 0] for n, gs in gaps.items()}
    usable = {n: gs for n, gs in usable.items() if gs}
    if len(usable) < 2:
        return paper.CONCENTRATION.untestable(f"gaps at {len(usable)} sizes only")
    slope, low, high = bootstrap_loglog_slope(usable)
    complexity = concentration_samples(groups)["C(h) / (s √n)"]
    gap_values = [g for n in usable for g in usable[n]]
    bound_values = [c for n in usable for c, g in zip(complexity[n], gaps[n]) if g > 0]
    corr = spearman(bound_values, gap_values)[0] if len(gap_values) >= 3 else math.nan
    measured = (f"slope {slope:.2f} [{low:.2f}, {high:.2f}] over n = {sorted(usable)}; "
                f"Spearman(gap, C(h)/(s√n)) = {corr:.2f}")
    agreement = interval_agreement((slope, low, high), CONCENTRATION_SLOPE, CONCENTRATION_ALTERNATIVE)
    if agreement is None:
        return paper.CONCENTRATION.judged(measured + "; the interval holds both −1/2 and 0", Verdict.UNINFORMATIVE)
    holds = agreement
    return paper.CONCENTRATION.judged(measured, verdict(holds, high < 0))


def architecture_claims(results: dict[str, Result], vit_runs: Sequence[Result] | None = None) -> list[Claim]:
    """Appendix C: the CNN and the ViT do not grok; for the CNN, RNC1 falls with test accuracy and
    is already low when the training set is fitted; for the ViT, NC1 tracks test accuracy better than RNC1
    (judged over ``vit_runs``, Figure 8's weight decays and training-set sizes, when given)."""
    claims_out = []
    if "CNN" in results:
        cnn, ev = results["CNN"], events(results["CNN"])
        rho = spearman_over_time(cnn, "rnc1")
        at_fit = None if ev.t_fit is None else float(cnn["rnc1"][cnn.steps.index(ev.t_fit)])
        collapsed = at_fit is not None and at_fit <= 2 * float(cnn["rnc1"][-1])
        measured = (f"groks: {'yes' if ev.groks else 'no'}; Spearman(RNC1, test acc) {rho:.2f}; RNC1 at t_fit "
                    f"{'—' if at_fit is None else f'{at_fit:.3f}'} vs final {float(cnn['rnc1'][-1]):.3f}")
        holds = not ev.groks and rho <= -TRACKING_CORRELATION and collapsed
        claims_out.append(paper.CNN.judged(measured, verdict(holds, not ev.groks) if ev.t_fit is not None
                                           else Verdict.NOT_TESTABLE))
    vits = list(vit_runs) if vit_runs else ([results["ViT"]] if "ViT" in results else [])
    if vits:
        claims_out.append(_claim_vit(vits))
    return claims_out


def chapter_claims(groups: dict[float, list[Result]], concentration: dict[int, list[Result]],
                   theory: dict[float, list[Result]], architectures: dict[str, Result],
                   vit_runs: Sequence[Result] | None = None) -> list[Claim]:
    """Every row of the chapter's claims table, in its order: the weight-decay sweep's claims, Theorem 4.1,
    Theorem 4.3 in its own setting and Appendix A.4's balancedness there, then the appendix networks."""
    return [*claims(groups), concentration_claim(concentration), theory_claim(theory), balance_claim(theory),
            *architecture_claims(architectures, vit_runs)]


def _claim_vit(runs: Sequence[Result]) -> Claim:
    """Figure 8: no ViT run groks, and NC1 tracks test accuracy more closely than RNC1 (larger |Spearman| over
    the run) in a majority of runs; partly when one of the two holds."""
    fitted = [r for r in runs if events(r).t_fit is not None]
    if not fitted:
        return paper.VIT.untestable(f"no ViT run fitted its training set ({len(runs)} runs)")
    grokked = sum(events(r).groks for r in fitted)
    rhos = [(spearman_over_time(r, "nc1"), spearman_over_time(r, "rnc1")) for r in fitted]
    better = [abs(nc1) > abs(rnc1) for nc1, rnc1 in rhos if not (math.isnan(nc1) or math.isnan(rnc1))]
    measured = (f"groks in {grokked}/{len(fitted)} runs; |Spearman| with test accuracy larger for NC1 than RNC1 in "
                f"{sum(better)}/{len(better)} runs (NC1 {np.mean([a for a, _ in rhos]):.2f}, RNC1 "
                f"{np.nanmean([b for _, b in rhos]):.2f} on average)")
    tracks = bool(better) and share(better) >= MAJORITY
    return paper.VIT.judged(measured, verdict(grokked == 0 and tracks, grokked == 0 or tracks))
