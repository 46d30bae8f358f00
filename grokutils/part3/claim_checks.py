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
                                      gamma_interval, loso_separation, matches_paper, norm_entropy_correlation, phases,
                                      precedence, predictor_comparison, probe_agreement, proposition6,
                                      reference_threshold, run_events, split_grokked, stable, threshold, value_at)
from grokutils.part3.arms import Comparison, intervention_comparisons
from grokutils.part3.paper import (FOURIER_MARGIN, LINEAR_GAMMA, MAPE_TOLERANCE, PAPER_GAMMA, PAPER_R2_CI,
                                   PAPER_TASK_THRESHOLDS, PHASE_II_SPEARMAN, PROBE_CORRELATION, PROBE_TOLERANCE,
                                   PROP6_R2_TOLERANCE, THRESHOLD_TOLERANCE, WEAK_CORRELATION)
from grokutils.result import Result
from grokutils.verdicts import (MAJORITY, Verdict, effect_verdict, fires_without_grokking, interval_agreement,
                                seed_spread, share, significant, verdict)


def claim_two_phases(results: Iterable[Result], controls: Sequence[Result] = ()) -> Claim:
    """Claim 1: phase I (norm grows while train accuracy rises), then phase II (H̃ declines
    monotonically) before grokking, in ≥ :data:`MAJORITY` of the grokked runs; norm and H̃ weakly
    correlated (pooled |r| < :data:`WEAK_CORRELATION`). Reproduced: both; partly: one. Phase I is
    uninformative when it holds as often in ``controls``, runs that fit their training set and never
    grok (:func:`grokutils.verdicts.fires_without_grokking`); the sequence is then judged on phase II."""
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
    fitted_controls = [phases(r) for r in controls if r.t_fit is not None]
    phase_one_blind = fires_without_grokking([c.phase_one for c in fitted_controls])
    control_text = (f"; phase I also in {sum(c.phase_one for c in fitted_controls)}/{len(fitted_controls)} runs "
                    f"that fit and never grok: uninformative" if phase_one_blind else "")
    measured = (f"phase I (‖θ‖ at t_fit > at step 0) in {sum(c.phase_one for c in checks)}, phase II (H̃ falls "
                f"from t_fit to t_grok, Spearman ≤ {PHASE_II_SPEARMAN}) in {sum(c.phase_two for c in checks)}, "
                f"both in {sum(c.two_phases for c in checks)} of {len(grokked)} grokked runs "
                f"({cells.grokked_note(len(grokked), len(results))}){control_text}; {corr_text}")
    weak = not math.isnan(pooled) and abs(pooled) < WEAK_CORRELATION
    sequence = share([c.phase_two if phase_one_blind else c.two_phases for c in checks]) >= MAJORITY
    return claim.judged(measured, verdict(sequence and weak, sequence or weak))


def claim_threshold(results: Iterable[Result], task: str = "add") -> Claim:
    """Claim 2, the value: H̃* with its 95 % interval. Reproduced: the interval contains the paper's
    value; partly: a stable threshold at another value (H̃ at t_grok varies over seeds by a sample
    sd ≤ :data:`THRESHOLD_TOLERANCE`)."""
    results = check_grok_threshold(results)
    claim, paper_value = paper.threshold_claim(task)
    estimate = threshold(results)
    grokked = sum(r.t_grok is not None for r in results)
    if estimate is None:
        return claim.untestable(f"{grokked}/{len(results)} runs grokked: an interval needs 2")
    measured = (f"H̃* = {cells.interval(estimate.as_tuple())}, seed sd {seed_spread(estimate.values):.3f} "
                f"({cells.grokked_note(grokked, len(results))})")
    return claim.judged(measured, verdict(matches_paper(estimate, paper_value), stable(estimate)))


def claim_precedence(results: Iterable[Result], controls: Sequence[Result] = ()) -> Claim:
    """Claim 2, the order: H̃ crosses H̃* at or before t_grok (the 200-step evaluation grid cannot
    order two events within one evaluation) and the collapse onset precedes t_grok, each in ≥
    :data:`MAJORITY` of the grokked runs for "reproduced", one of them for "partly". The onset is
    uninformative when it fires as often in ``controls``, runs that never grok; the crossing alone
    then gives at most "partly"."""
    claim = paper.PRECEDENCE
    results = check_grok_threshold(results)
    p = precedence(results)
    if p is None:
        grokked = sum(r.t_grok is not None for r in results)
        return claim.untestable(f"{grokked}/{len(results)} runs grokked: H̃* needs 2")
    control_onsets = [run_events(r).onset is not None for r in controls]
    onset_blind = fires_without_grokking(control_onsets)
    measured = (f"H̃ ≤ H̃* = {p.threshold:.3f} at or before t_grok in {p.crossed}/{p.grokked} grokked runs "
                f"(strictly before in {p.crossed_strictly}; at or below the interval's upper end in "
                f"{p.crossed_upper}); onset (δ = {ONSET_DELTA}, {ONSET_WINDOW} evaluations) "
                f"before t_grok in {p.onset_before}/{p.grokked} (no onset in {p.no_onset}), lead "
                f"{cells.steps_interval(p.lead) if p.lead else cells.steps(p.leads[0]) if p.leads else '—'} steps; "
                f"{cells.grokked_note(p.grokked, p.runs)}")
    if onset_blind:
        measured += (f"; the onset also fires in {sum(control_onsets)}/{len(control_onsets)} runs that never "
                     f"grok: uninformative")
    crossed = p.crossed / p.grokked >= MAJORITY
    if onset_blind:
        return claim.judged(measured, verdict(False, crossed))
    onset = p.onset_before / p.grokked >= MAJORITY
    return claim.judged(measured, verdict(crossed and onset, crossed or onset))


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
    in_full = significant(c.p) or not c.treated_t_grok  # no treated run grokked: the all-runs test is the only one
    return claim.judged(f"{measured}; {counts}", effect_verdict(c.p_all, in_full))


def claim_intervention(baseline: Iterable[Result], mixed: Iterable[Result]) -> Claim:
    """Claim 3: mixing delays grokking (:func:`grokutils.verdicts.effect_verdict`): judged first on all
    runs (:attr:`Comparison.p_all`, a run that did not grok ranked after every run that did), one-sided
    Mann–Whitney p < :data:`~grokutils.verdicts.SIGNIFICANCE` in the paper's direction; a delay that is
    not significant is "not reproduced", whatever its sign. Reproduced when the grokked runs alone show
    it significantly too (the paper's test on t_grok), else partly."""
    return _claim_comparison(intervention_comparisons(baseline, mixed)[0], paper.MIXING)


def claim_norm_matched(baseline: Iterable[Result], control: Iterable[Result]) -> Claim:
    """Claim 3's control: mixing with the baseline's parameter norm imposed after every step still
    delays grokking (same criteria as :func:`claim_intervention`)."""
    return _claim_comparison(intervention_comparisons(baseline, control=control)[0], paper.NORM_MATCHED)


def claim_forecast(results: Iterable[Result]) -> Claim:
    """Claim 4: γ's bootstrap interval over seeds contains 1.65 and not 1 (the paper's super-linear law
    against a linear one), R² reaches the lower end of the
    paper's interval and the leave-one-seed-out MAPE ≤ :data:`MAPE_TOLERANCE` for "reproduced"; the
    forecast (MAPE) or the fit (R²) alone for "partly". The advance warning is reported, not judged (it
    depends on how long H̃ stays above H̃*, i.e. on the schedule)."""
    claim = paper.FORECAST
    results = check_grok_threshold(results)
    s = forecast_summary(results)
    if s.calibration is None:
        return claim.untestable(f"{s.grokked}/{s.runs} runs grokked; no fit ({s.error})")
    law = s.calibration.law
    mape = s.loso.mape if s.loso is not None else None
    warning = s.loso.mean_warning if s.loso is not None else None
    gamma = gamma_interval(results)
    measured = (f"γ = {cells.interval(gamma, 2) if gamma else f'{law.gamma:.2f}'}, R² = {law.r2:.2f} "
                f"({law.n} evaluations above H̃* = {s.calibration.threshold:.3f}); "
                f"leave-one-seed-out MAPE {cells.percent(mape)}, mean warning {cells.steps(warning)} steps"
                + (f" (not computed: {s.error})" if s.loso is None else "")
                + f"; {cells.grokked_note(s.grokked, s.runs)}")
    fit_ok = law.r2 >= PAPER_R2_CI[0]
    forecast_ok = mape is not None and mape <= MAPE_TOLERANCE
    gamma_agreement = interval_agreement(gamma, PAPER_GAMMA, LINEAR_GAMMA)
    gamma_ok = gamma_agreement is True
    if gamma_agreement is None:
        measured += f"; γ's interval also holds {LINEAR_GAMMA:g} (a linear law): it does not decide"
    return claim.judged(measured, verdict(gamma_ok and fit_ok and forecast_ok, fit_ok or forecast_ok))


def claim_predictors(results: Iterable[Result]) -> Claim:
    """Claim 5 (Table 2): the H̃ gap predicts t_grok better than both norm predictors. Reproduced when
    its leave-one-seed-out error is lower than each norm predictor's seed by seed (one-sided Wilcoxon
    signed-rank p < :data:`~grokutils.verdicts.SIGNIFICANCE`, :func:`loso_separation`) *and* its R²
    higher; the in-sample R² alone (or the out-of-sample error against one of them) gives at most
    "partly". A predictor whose fit or forecast is impossible counts as beaten."""
    claim = paper.PREDICTOR_RANKING
    comparison = predictor_comparison(results)
    r2 = {p: (s.calibration.law.r2 if s.calibration is not None else None) for p, s in comparison.items()}
    mape = {p: (s.loso.mape if s.loso is not None else None) for p, s in comparison.items()}
    if r2["entropy"] is None:
        return claim.untestable(f"no H̃ fit ({comparison['entropy'].error})")
    measured = ("R²: " + ", ".join(f"{PREDICTOR_NAMES[p]} {'no fit' if v is None else f'{v:.3f}'}"
                                   for p, v in r2.items())
                + "; leave-one-seed-out MAPE: " + ", ".join(f"{PREDICTOR_NAMES[p]} {cells.percent(v)}"
                                                            for p, v in mape.items()))
    others = [p for p in comparison if p != "entropy"]
    separation = {p: loso_separation(comparison, p) for p in others}
    measured += "; H̃ gap's error lower, seed by seed (one-sided Wilcoxon): " + ", ".join(
        f"than {PREDICTOR_NAMES[p]} p = {cells.p_value(v)}" for p, v in separation.items())
    r2_beats = [r2[p] is None or r2["entropy"] > r2[p] for p in others]
    loso_beats = [comparison[p].loso is None or significant(separation[p]) for p in others]
    return claim.judged(measured, verdict(all(r2_beats) and all(loso_beats), all(r2_beats) or any(loso_beats)))


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


def claim_tasks(groups: Mapping[str, Sequence[Result]]) -> list[Claim]:
    """Claim 6 (Table 3), one row per task other than the main one (whose threshold is claim 2's row),
    then the pattern across the modular tasks.

    A task's row: reproduced when ≥ :data:`MAJORITY` of its runs grok and its H̃* interval contains the
    paper's; partly when they grok at a stable threshold of another value (seed sd ≤
    :data:`THRESHOLD_TOLERANCE`); a task that never groks is "not reproduced", never folded into the
    others. The pattern row: the modular tasks' thresholds agree when they differ by at most
    :data:`THRESHOLD_TOLERANCE` (the paper's 0.589–0.605 is one threshold to its authors).
    """
    rows = []
    for task, results in groups.items():
        if task == "add" or task not in PAPER_TASK_THRESHOLDS:
            continue
        rows.append(_task_row(task, check_grok_threshold(results)))
    rows.append(_modular_pattern(groups))
    return rows


def _task_row(task: str, results: list[Result]) -> Claim:
    claim = paper.task_claim(task)
    grokked, _ = split_grokked(results)
    estimate = threshold(results)
    note = f"{len(grokked)}/{len(results)} grokked"
    if not grokked:
        final = max(float(r["test_acc"][-1]) for r in results)
        return claim.judged(f"{note}: no run reaches test accuracy {paper.GROK_THRESHOLD} (best final {final:.3f})",
                            Verdict.NOT_REPRODUCED)
    if estimate is None:
        return claim.judged(f"{note}; H̃ at t_grok {threshold_values_text(grokked)}: an interval needs 2",
                            verdict(False, False))
    groks = len(grokked) / len(results) >= MAJORITY
    measured = (f"{note}, t_grok {cells.mean_sd([r.t_grok for r in grokked])}; H̃* = "
                f"{cells.interval(estimate.as_tuple())}, seed sd {seed_spread(estimate.values):.3f}")
    return claim.judged(measured, verdict(groks and matches_paper(estimate, PAPER_TASK_THRESHOLDS[task]),
                                          groks and stable(estimate)))


def threshold_values_text(grokked: Sequence[Result]) -> str:
    return ", ".join(f"{value_at(r, 'spectral_entropy', r.t_grok):.3f}" for r in grokked)


def _modular_pattern(groups: Mapping[str, Sequence[Result]]) -> Claim:
    claim = paper.TASKS
    estimates = {task: threshold(results) for task, results in groups.items() if task != "s5"}
    known = {task: e for task, e in estimates.items() if e is not None}
    if len(known) < 2:
        return claim.untestable(f"H̃* estimable for {len(known)} modular task(s): need 2")
    values = [e.value for e in known.values()]
    spread = max(values) - min(values)
    measured = "; ".join(f"{task}: {cells.interval(e.as_tuple())}" for task, e in known.items())
    missing = [task for task, e in estimates.items() if e is None]
    measured += f"; largest difference {spread:.3f}" + (f"; no threshold for {', '.join(missing)}" if missing else "")
    agree = spread <= THRESHOLD_TOLERANCE
    return claim.judged(measured, verdict(agree and not missing, agree))


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
    """Claim 8: the 95 % interval of the mean train − test difference of H̃ at t_grok lies within
    ± :data:`PROBE_TOLERANCE` (equivalence) and (with ≥ 3 grokked runs) Pearson r over seeds ≥
    :data:`PROBE_CORRELATION`: "reproduced"; one of the two: "partly"."""
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
    interval = a.difference or (a.mean_difference, a.mean_difference, a.mean_difference)
    close = -PROBE_TOLERANCE <= interval[1] and interval[2] <= PROBE_TOLERANCE
    correlated = a.r_at_grok is not None and not math.isnan(a.r_at_grok) and a.r_at_grok >= PROBE_CORRELATION
    if a.r_at_grok is None:  # too few runs to judge the correlation: the difference decides
        return claim.judged(measured, verdict(close))
    return claim.judged(measured, verdict(close and correlated, close or correlated))


def claims(main: Sequence[Result], mixed: Sequence[Result] | None = None, control: Sequence[Result] | None = None,
           tasks: Mapping[str, Sequence[Result]] | None = None, mlp: Sequence[Result] | None = None) -> list[Claim]:
    """Part III's claims with measured numbers and verdicts (criteria: :mod:`grokutils.part3.paper`,
    rules: :mod:`grokutils.verdicts`).

    ``main``: the baseline runs of the main task (addition; claims 1, 2, 4, 5, 8, Proposition 6,
    and the baseline of claim 3 and the transformer of claim 7); ``mixed``/``control``: the mixing
    intervention and its norm-matched control; ``tasks``: runs per task for Table 3, whose runs that
    never grok are also the controls of claims 1 and 2 (does a signal fire without grokking?);
    ``mlp``: the MLP runs of claim 7. Claims whose runs are not given are listed as "not testable here".
    """
    main = check_grok_threshold(main)
    task = main[0].config.task if main else "add"
    not_given = "runs not given"
    controls = [r for results in (tasks or {}).values() for r in results if r.t_grok is None]
    out = [claim_two_phases(main, controls),
           claim_threshold(main, task if task in PAPER_TASK_THRESHOLDS else "add"), claim_precedence(main, controls)]
    out.append(claim_intervention(main, mixed) if mixed is not None else paper.MIXING.untestable(not_given))
    out.append(claim_norm_matched(main, control) if control is not None else
               paper.NORM_MATCHED.untestable(not_given))
    out += [claim_forecast(main), claim_predictors(main), claim_proposition6(main)]
    out += claim_tasks(tasks) if tasks is not None else [paper.TASKS.untestable(not_given)]
    out.append(claim_not_sufficient(mlp, main) if mlp is not None else paper.NOT_SUFFICIENT.untestable(not_given))
    if all("spectral_entropy_test" in r.history for r in main):
        out.append(claim_probe(main))
    else:
        out.append(paper.PROBES.untestable("spectral_entropy_test not recorded"))
    return out
