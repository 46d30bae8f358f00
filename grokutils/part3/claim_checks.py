"""Part III's claims table: one function per claim, the analysis's numbers judged by the
criteria of :mod:`grokutils.part3.paper` and the shared rules of :mod:`grokutils.verdicts`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from grokutils import cells
from grokutils.claims import Claim, PaperClaim
from grokutils.forecast import ONSET_DELTA, ONSET_WINDOW
from grokutils.part3 import paper
from grokutils.part3.analysis import (PREDICTOR_NAMES, architecture_summary, check_grok_threshold, forecast_summary,
                                      norm_entropy_correlation, phases, precedence, predictor_comparison,
                                      probe_agreement, proposition6, reference_threshold, split_grokked, threshold,
                                      matches_paper, stable)
from grokutils.part3.arms import Comparison, intervention_comparisons
from grokutils.part3.paper import (FOURIER_MARGIN, GAMMA_TOLERANCE, MAPE_TOLERANCE, PAPER_GAMMA, PAPER_R2,
                                   PAPER_TASK_THRESHOLDS, PHASE_II_SPEARMAN, PROBE_CORRELATION, PROBE_TOLERANCE,
                                   PROP6_R2_TOLERANCE, R2_TOLERANCE, SIGNIFICANCE, THRESHOLD_TOLERANCE,
                                   WEAK_CORRELATION)
from grokutils.result import Result
from grokutils.verdicts import MAJORITY, Verdict, share, verdict


def claim_two_phases(results: Iterable[Result]) -> Claim:
    """Claim 1: phase I (norm grows while train accuracy rises), then phase II (H̃ declines
    monotonically) before grokking, in ≥ :data:`MAJORITY` of the grokked runs; norm and H̃ weakly
    correlated (pooled |r| < :data:`WEAK_CORRELATION`). Reproduced: both; partly: one."""
    claim = paper.TWO_PHASES
    results = check_grok_threshold(results)
    if not results:
        return claim.untestable("no runs")
    grokked, _ = split_grokked(results)
    pooled, per_run = norm_entropy_correlation(results)
    known = [r for r in per_run if not math.isnan(r)]
    corr_text = (f"norm–H̃ Pearson r {cells.correlation(pooled)} pooled over all evaluations"
                 + (f", {np.mean(known):.2f} ± {np.std(known):.2f} per run" if known else ""))
    if not grokked:
        return claim.untestable(f"no run grokked (0/{len(results)}); {corr_text}")
    checks = [phases(r) for r in grokked]
    agreeing = share([c.two_phases for c in checks])
    measured = (f"phase I (‖θ‖ at t_fit > at step 0) in {sum(c.phase_one for c in checks)}, phase II (H̃ falls "
                f"from t_fit to t_grok, Spearman ≤ {PHASE_II_SPEARMAN}) in {sum(c.phase_two for c in checks)}, "
                f"both in {sum(c.two_phases for c in checks)} of {len(grokked)} grokked runs "
                f"({cells.grokked_note(len(grokked), len(results))}); {corr_text}")
    weak = not math.isnan(pooled) and abs(pooled) < WEAK_CORRELATION
    return claim.judged(measured, verdict(agreeing >= MAJORITY and weak, agreeing >= MAJORITY or weak))


def claim_threshold(results: Iterable[Result], task: str = "add") -> Claim:
    """Claim 2, the value: H̃* with its 95 % interval. Reproduced: the paper's value is inside the
    interval or within :data:`THRESHOLD_TOLERANCE`; partly: a stable threshold (interval
    half-width ≤ :data:`THRESHOLD_TOLERANCE`) at another value."""
    results = check_grok_threshold(results)
    claim, paper_value = paper.threshold_claim(task)
    estimate = threshold(results)
    grokked = sum(r.t_grok is not None for r in results)
    if estimate is None:
        return claim.untestable(f"{grokked}/{len(results)} runs grokked: an interval needs 2")
    measured = f"H̃* = {cells.interval(estimate.as_tuple())} ({cells.grokked_note(grokked, len(results))})"
    return claim.judged(measured, verdict(matches_paper(estimate, paper_value), stable(estimate)))


def claim_precedence(results: Iterable[Result]) -> Claim:
    """Claim 2, the order: H̃ crosses H̃* at or before t_grok (the 200-step evaluation grid cannot
    order two events within one evaluation) and the collapse onset precedes t_grok, each in ≥
    :data:`MAJORITY` of the grokked runs for "reproduced", one of them for "partly"."""
    results = check_grok_threshold(results)
    claim = paper.PRECEDENCE
    p = precedence(results)
    if p is None:
        grokked = sum(r.t_grok is not None for r in results)
        return claim.untestable(f"{grokked}/{len(results)} runs grokked: H̃* needs 2")
    measured = (f"H̃ ≤ H̃* = {p.threshold:.3f} at or before t_grok in {p.crossed}/{p.grokked} grokked runs "
                f"(strictly before in {p.crossed_strictly}; at or below the interval's upper end in "
                f"{p.crossed_upper}); onset (δ = {ONSET_DELTA}, {ONSET_WINDOW} evaluations) "
                f"before t_grok in {p.onset_before}/{p.grokked} (no onset in {p.no_onset}), lead "
                f"{cells.steps_interval(p.lead) if p.lead else cells.steps(p.leads[0]) if p.leads else '—'} steps; "
                f"{cells.grokked_note(p.grokked, p.runs)}")
    cross_share, onset_share = p.crossed / p.grokked, p.onset_before / p.grokked
    return claim.judged(measured, verdict(cross_share >= MAJORITY and onset_share >= MAJORITY,
                                                max(cross_share, onset_share) >= MAJORITY))


def _claim_comparison(c: Comparison, claim: PaperClaim) -> Claim:
    counts = (f"grokked: baseline {len(c.baseline_t_grok)}/{c.baseline_runs}, "
              f"{c.condition} {len(c.treated_t_grok)}/{c.treated_runs}")
    if not c.baseline_t_grok or c.p_all is None:
        return claim.untestable(f"{counts}: no baseline t_grok to compare with")
    if c.delay is None:
        measured = f"no {c.condition} run grokked within training"
    else:
        measured = (f"delay {c.delay:+,.0f} steps (t_grok {c.treated_mean:,.0f} vs {c.baseline_mean:,.0f}, "
                    f"grokked runs), "
                    f"one-sided Mann–Whitney p = {cells.p_value(c.p)}, rank-biserial {c.rank_biserial:.2f}")
    if not c.all_grokked:
        measured += (f"; all runs, those that did not grok ranked last: p = {cells.p_value(c.p_all)}, "
                     f"rank-biserial {c.rank_biserial_all:.2f}")
    later = c.rank_biserial_all > 0
    return claim.judged(f"{measured}; {counts}", verdict(later and c.p_all < SIGNIFICANCE, later))


def claim_intervention(baseline: Iterable[Result], mixed: Iterable[Result]) -> Claim:
    """Claim 3: mixing delays grokking. Judged on all runs (:attr:`Comparison.p_all`: a run that did
    not grok counts as later than every run that did): reproduced when the mixed runs grok later
    (rank-biserial > 0) with one-sided Mann–Whitney p < :data:`SIGNIFICANCE`; partly when later but
    not significantly. With every run grokked this is the paper's test on t_grok."""
    return _claim_comparison(intervention_comparisons(baseline, mixed)[0], paper.MIXING)


def claim_norm_matched(baseline: Iterable[Result], control: Iterable[Result]) -> Claim:
    """Claim 3's control: mixing with the baseline's parameter norm imposed after every step still
    delays grokking (same criteria as :func:`claim_intervention`)."""
    return _claim_comparison(intervention_comparisons(baseline, control=control)[0], paper.NORM_MATCHED)


def claim_forecast(results: Iterable[Result]) -> Claim:
    """Claim 4: γ within :data:`GAMMA_TOLERANCE` of 1.65, R² ≥ 0.54 − :data:`R2_TOLERANCE` and a
    leave-one-seed-out MAPE ≤ :data:`MAPE_TOLERANCE` for "reproduced"; the forecast (MAPE) or the
    fit (R²) alone for "partly". The advance warning is reported, not judged (it depends on how
    long H̃ stays above H̃*, i.e. on the schedule)."""
    claim = paper.FORECAST
    s = forecast_summary(results)
    if s.calibration is None:
        return claim.untestable(f"{s.grokked}/{s.runs} runs grokked; no fit ({s.error})")
    law = s.calibration.law
    mape = s.loso.mape if s.loso is not None else None
    warning = s.loso.mean_warning if s.loso is not None else None
    measured = (f"γ = {law.gamma:.2f}, R² = {law.r2:.2f} ({law.n} evaluations above "
                f"H̃* = {s.calibration.threshold:.3f}); "
                f"leave-one-seed-out MAPE {cells.percent(mape)}, mean warning {cells.steps(warning)} steps"
                + (f" (not computed: {s.error})" if s.loso is None else "")
                + f"; {cells.grokked_note(s.grokked, s.runs)}")
    fit_ok = law.r2 >= PAPER_R2 - R2_TOLERANCE
    forecast_ok = mape is not None and mape <= MAPE_TOLERANCE
    gamma_ok = abs(law.gamma - PAPER_GAMMA) <= GAMMA_TOLERANCE
    return claim.judged(measured, verdict(gamma_ok and fit_ok and forecast_ok, fit_ok or forecast_ok))


def claim_predictors(results: Iterable[Result]) -> Claim:
    """Claim 5 (Table 2): the H̃ gap has a higher R² than both norm predictors ("reproduced"), than
    one of them ("partly"), or than neither. A predictor whose fit is impossible counts as beaten."""
    claim = paper.PREDICTOR_RANKING
    comparison = predictor_comparison(results)
    r2 = {p: (s.calibration.law.r2 if s.calibration is not None else None) for p, s in comparison.items()}
    if r2["entropy"] is None:
        return claim.untestable(f"no H̃ fit ({comparison['entropy'].error})")
    measured = "R²: " + ", ".join(f"{PREDICTOR_NAMES[p]} {'no fit' if v is None else f'{v:.3f}'}"
                                  for p, v in r2.items())
    beaten = [v is None or r2["entropy"] > v for p, v in r2.items() if p != "entropy"]
    return claim.judged(measured, verdict(all(beaten), any(beaten)))


def claim_proposition6(results: Iterable[Result]) -> Claim:
    """Proposition 6: the logarithmic law of first-order decay explains the remaining time about as
    well as the power law (R² within :data:`PROP6_R2_TOLERANCE`: "reproduced"; positive R²: "partly")."""
    claim = paper.PROPOSITION6
    fit = proposition6(results)
    if fit is None:
        return claim.untestable("no power law can be fitted")
    if fit.log_law is None:
        return claim.judged(f"power law R² {fit.power_law.r2:.3f}; log law: no fit ({fit.error})",
                            Verdict.NOT_REPRODUCED)
    measured = (f"R²: log law {fit.log_law.r2:.3f} (κ = {fit.log_law.kappa:.3g}/step, "
                f"H̃_∞ = {fit.log_law.h_inf:.3f}), "
                f"power law {fit.power_law.r2:.3f}, on {fit.power_law.n} evaluations")
    return claim.judged(measured, verdict(fit.log_law.r2 >= fit.power_law.r2 - PROP6_R2_TOLERANCE,
                                                fit.log_law.r2 > 0))


def claim_tasks(groups: Mapping[str, Sequence[Result]]) -> Claim:
    """Claim 6: every task groks in ≥ :data:`MAJORITY` of its runs and its H̃* matches the paper's
    (see :func:`claim_threshold`): "reproduced". The qualitative pattern alone, modular thresholds
    within :data:`THRESHOLD_TOLERANCE` of each other and S5's above all of them: "partly"."""
    claim = paper.TASKS
    estimates = {task: threshold(results) for task, results in groups.items()}
    known = {task: e for task, e in estimates.items() if e is not None}
    if len(known) < 2:
        return claim.untestable(f"H̃* estimable for {len(known)} task(s): need 2")
    shares = {task: share([r.t_grok is not None for r in check_grok_threshold(rs)]) for task, rs in groups.items()}
    measured = "; ".join(f"{task}: {cells.interval(e.as_tuple()) if e else '—'}, "
                         f"{sum(r.t_grok is not None for r in groups[task])}/{len(groups[task])} grokked"
                         for task, e in estimates.items())
    matches = all(e is not None and task in PAPER_TASK_THRESHOLDS and matches_paper(e, PAPER_TASK_THRESHOLDS[task])
                  for task, e in estimates.items())
    holds = matches and all(s >= MAJORITY for s in shares.values())
    modular = [e.value for task, e in known.items() if task != "s5"]
    pattern = bool(modular) and max(modular) - min(modular) <= THRESHOLD_TOLERANCE
    if "s5" in known and modular:
        pattern = pattern and known["s5"].value > max(modular)
    return claim.judged(measured, verdict(holds, pattern))


def claim_not_sufficient(mlp: Iterable[Result], transformer: Iterable[Result]) -> Claim:
    """Claim 7: the MLP fits, its H̃ falls below H̃* and it does not grok, in ≥ :data:`MAJORITY` of
    its runs, while ≥ :data:`MAJORITY` of the transformer runs grok and the transformer's final
    Fourier alignment exceeds the MLP's by :data:`FOURIER_MARGIN` and has grown since t_fit:
    "reproduced". The MLP part alone (collapse without grokking): "partly"."""
    claim = paper.NOT_SUFFICIENT
    mlp, transformer = check_grok_threshold(mlp), check_grok_threshold(transformer)
    if not mlp or not transformer:
        return claim.untestable("needs MLP and transformer runs")
    reference, source = reference_threshold(transformer)
    m = architecture_summary(mlp, reference, "MLP")
    t = architecture_summary(transformer, reference, "transformer")
    fourier_known = m.fourier_final is not None and t.fourier_final is not None
    fourier_ok = (fourier_known and t.fourier_final >= m.fourier_final + FOURIER_MARGIN
                  and t.fourier_at_fit is not None and t.fourier_final > t.fourier_at_fit)
    fourier_text = (f"final Fourier alignment MLP {m.fourier_final:.2f}, transformer {t.fourier_final:.2f} "
                    f"(at t_fit {'—' if t.fourier_at_fit is None else f'{t.fourier_at_fit:.2f}'})"
                    if fourier_known else "Fourier alignment not recorded")
    measured = (f"MLP: fitted {m.fitted}/{m.runs} (t_fit {cells.mean_sd(list(m.t_fit))}), H̃ ≤ {reference:.3f} "
                f"({source}) in {m.below_threshold}/{m.runs}, final H̃ {m.final_entropy:.3f}, grokked "
                f"{m.grokked}/{m.runs}, final test acc {m.final_test_acc:.3f} (chance {m.chance:.3f}); "
                f"transformer grokked {t.grokked}/{t.runs}; {fourier_text}")
    mlp_share = m.collapsed_without_grokking / m.runs
    holds = mlp_share >= MAJORITY and t.grokked / t.runs >= MAJORITY and fourier_ok
    return claim.judged(measured, verdict(holds, mlp_share >= MAJORITY))


def claim_probe(results: Iterable[Result]) -> Claim:
    """Claim 8: |mean difference| ≤ :data:`PROBE_TOLERANCE` and (with ≥ 3 grokked runs) Pearson r
    over seeds ≥ :data:`PROBE_CORRELATION`: "reproduced"; one of the two: "partly"."""
    claim = paper.PROBES
    results = check_grok_threshold(results)
    if not results:
        return claim.untestable("no runs")
    a = probe_agreement(results)
    if not a.train:
        return claim.untestable(f"no run grokked (0/{a.runs})")
    r_text = "— (fewer than 3 grokked runs)" if a.r_at_grok is None else cells.correlation(a.r_at_grok)
    measured = (f"at t_grok: train probe {np.mean(a.train):.3f}, test probe {np.mean(a.test):.3f}, difference "
                f"{cells.interval(a.difference) if a.difference else f'{a.mean_difference:+.3f}'}, "
                f"Pearson r over seeds {r_text}; r over all evaluations {cells.correlation(a.r_trajectories)}; "
                f"{cells.grokked_note(len(a.train), a.runs)}")
    close = abs(a.mean_difference) <= PROBE_TOLERANCE
    correlated = a.r_at_grok is not None and not math.isnan(a.r_at_grok) and a.r_at_grok >= PROBE_CORRELATION
    if a.r_at_grok is None:  # too few runs to judge the correlation: the difference decides
        return claim.judged(measured, verdict(close))
    return claim.judged(measured, verdict(close and correlated, close or correlated))


def claims(main: Sequence[Result], mixed: Sequence[Result] | None = None, control: Sequence[Result] | None = None,
           tasks: Mapping[str, Sequence[Result]] | None = None, mlp: Sequence[Result] | None = None) -> list[Claim]:
    """Part III's claims with measured numbers and verdicts (criteria: :mod:`grokutils.part3.paper`).

    ``main``: the baseline runs of the main task (addition; claims 1, 2, 4, 5, 8, Proposition 6,
    and the baseline of claim 3 and the transformer of claim 7); ``mixed``/``control``: the mixing
    intervention and its norm-matched control; ``tasks``: runs per task for Table 3; ``mlp``: the MLP
    runs of claim 7. Claims whose runs are not given are listed as "not testable here".
    """
    main = check_grok_threshold(main)
    task = main[0].config.task if main else "add"
    not_given = "runs not given"
    out = [claim_two_phases(main), claim_threshold(main, task if task in PAPER_TASK_THRESHOLDS else "add"),
           claim_precedence(main)]
    out.append(claim_intervention(main, mixed) if mixed is not None else paper.MIXING.untestable(not_given))
    out.append(claim_norm_matched(main, control) if control is not None else
               paper.NORM_MATCHED.untestable(not_given))
    out += [claim_forecast(main), claim_predictors(main), claim_proposition6(main)]
    out.append(claim_tasks(tasks) if tasks is not None else paper.TASKS.untestable(not_given))
    out.append(claim_not_sufficient(mlp, main) if mlp is not None else paper.NOT_SUFFICIENT.untestable(not_given))
    if all("spectral_entropy_test" in r.history for r in main):
        out.append(claim_probe(main))
    else:
        out.append(paper.PROBES.untestable("spectral_entropy_test not recorded"))
    return out
