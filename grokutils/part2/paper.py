"""Part II, the paper's side: its claims as stated, and the criteria of every verdict.

Tan & Huang, "Grokking through a robustness viewpoint" (2023; seed 002; the book's spec restores the math
the extraction lost). The paper reports curves, not numbers, so each claim is stated by its shape. The
constants below are the criteria behind every verdict, fixed before any Part II paper run ended and never
tuned afterwards; the verdicts themselves follow the shared rules of :mod:`grokutils.verdicts`.

Conventions of every Part II analysis: t_fit is the first evaluation with train accuracy ≥ 0.99 (the
book's, :attr:`grokutils.result.Result.t_fit`; the paper's "100 %"), t_grok the first with test accuracy at
the run's threshold (0.85 on MNIST, 0.95 on modular addition), and a run *groks* when it generalises late
(:func:`grokutils.grokking.generalises_late`). The wd = 0 runs of ``presets.robustness_controls`` are the
non-grokking controls.
"""

from __future__ import annotations

from grokutils import bound_checks, signal_monitor
from grokutils.claims import PaperClaim

#: The two setups, as the pages name them.
TASK_NAMES = {"mnist": "MNIST (1,000 images)", "add": "a + b mod 113"}

# ----------------------------------------------------------------------------------------------
# Verdict criteria (fixed before any Part II paper run ended)
# ----------------------------------------------------------------------------------------------

#: Bootstrap resamples behind Part II's intervals.
RESAMPLES = 10_000
#: Figure 1: the weight norm "falls sharply" through grokking when the norm at t_grok is at least this
#: fraction below its largest value before t_grok, and the fall "starts before" test accuracy rises when
#: that largest value comes before t_grok. The same test on the wd = 0 controls (their last evaluation in
#: place of t_grok) decides whether it can tell grokking apart (rule 4: "uninformative" if it fires there).
NORM_FALL = 0.10
#: Figure 2 (a, b): the perturbation error falls after the fit when the 95 % bootstrap interval of the mean
#: over seeds of log(error at the last evaluation / error at t_fit) lies below 0 (rule 1).
#: Figures 1, 2, 5, 7–9, 12, 13: a claim about every run is judged by the share of seeds that agree
#: (:func:`grokutils.verdicts.majority_verdict`), over the seeds that grok where the claim is about grokking.
#: Figure 2 (c, d): sharpness "keeps falling" in a seed when the Spearman correlation between step and
#: sharpness over the evaluations from t_fit on (Lemma 3.1's regime) is at most this.
SHARPNESS_SPEARMAN = -0.7
#: Lemma 3.1, Theorems 5.9 and 5.12: a bound is violated at an evaluation when its left side exceeds its
#: right side by more than this relative amount (round-off); a bound that holds everywhere is a theorem
#: holding, "uninformative" as a test of the paper's explanation; its tightness is reported beside.
BOUND_RTOL = bound_checks.BOUND_RTOL
#: Figure 5: a training set counts as commutative from the first evaluation whose abelian test on the
#: training pairs reaches this (t_abelian).
ABELIAN_LEVEL = 0.99
#: Figure 5 (a): standard training is "not commutative until it groks" in a seed when t_abelian lies in the
#: later half of its fit-to-grok span: (t_abelian − t_fit) / (t_grok − t_fit) ≥ LATE_POSITION.
LATE_POSITION = 0.5
#: Figure 5 (b): perturbed training is commutative "right after fitting" in a seed when t_abelian − t_fit is at
#: most this fraction of the same seed's standard fit-to-grok span.
EARLY_POSITION = 0.25
#: Figure 7: standard training's logit distance is "stable at 0" after grokking in a seed when its largest
#: value after t_grok is at most this fraction of its value at t_fit; perturbed training's is "chaotic" when
#: its coefficient of variation after t_grok exceeds the same seed's standard one.
LOGIT_ZERO = 0.1
#: Figures 8, 9 and 13: a signal's transition time t_half is the first evaluation at or after t_fit at which
#: it has covered half of its change from t_fit to the last evaluation; its lag is t_half − t_grok. A signal
#: is "more timely" than another in a seed when its |lag| is smaller.
HALF_CHANGE = signal_monitor.HALF_CHANGE
#: Figures 10 and 11: |MID| and |ED| at t_fit (the last word before the fit: "small, or after a sharp fall")
#: tell grokking runs apart when they are smaller in the grokking runs than in the wd = 0 controls, one-sided
#: Mann–Whitney p < :data:`grokutils.verdicts.SIGNIFICANCE` (rule 1; with 5 runs against 2 only a complete
#: separation passes). Both MID and ED: reproduced; one: partly. Controls that grok leave nothing to compare.
#: Figures 4 and 6: t_grok of the treated arm against the standard arm, one-sided Mann–Whitney over every seed
#: (a seed that never groks counts at the end of training), rule 1; the abelian regulariser must also beat
#: the perturbation arm for "reproduced" (significant against standard training only: partly).
#: Figure 3: a predicted accuracy that never exceeds chance is "uninformative" (vacuous); one that exceeds the
#: measured test accuracy anywhere is not a lower bound ("not reproduced"); a valid, non-vacuous bound whose
#: constants were fixed without the test accuracy is "reproduced".
#: Figure 12: the trends are "robust to α and to the split" in a seed when the Spearman correlation over its
#: evaluations between the α = 1 training-set series and every other (α, split) series is at least this, for
#: PMI and for PE (a positive correlation: the same trend).
ALPHA_AGREEMENT = 0.8

# ----------------------------------------------------------------------------------------------
# The claims as the paper states them (the rows of the chapter's claims table)
# ----------------------------------------------------------------------------------------------


def _per_task(claim_id: str, name: str, paper: str) -> dict[str, PaperClaim]:
    return {task: PaperClaim(f"{claim_id}-{task}", f"{name} ({task_name})", paper)
            for task, task_name in TASK_NAMES.items()}


NORM = _per_task("p2.norm", "weight norm falls as the network groks (Fig 1)",
                 "a sharp fall of the weight norm at grokking, starting before test accuracy rises")
PERTURBATION = _per_task("p2.perturbation", "perturbation error falls after the fit (Fig 2 a, b)",
                         "E‖f(x + ε) − f(x)‖² decreases after train accuracy reaches 100 %")
SHARPNESS = _per_task("p2.sharpness", "sharpness keeps falling (Fig 2 c, d)",
                      "Tr ∇²L decreases continuously during training")
LEMMA31 = PaperClaim("p2.lemma31", "Lemma 3.1: sensitivity ≤ norm × sharpness",
                     "at an interpolating solution, input sensitivity is bounded by ‖W₁‖² × Tr ∇²L")
THEOREM32 = PaperClaim("p2.theorem32", "Theorem 3.2 / Cor 3.3: accuracy from nearby training points (Fig 3)",
                       "predicted test accuracy from the weight norm closely matches the real curve")
DEGROK = _per_task("p2.degrok", "input perturbation speeds up grokking (Fig 4)",
                   "σ_t = max(λ₁(1 − train acc), λ₂) makes generalisation come much earlier")
ABELIAN_STANDARD = PaperClaim("p2.abelian-standard", "standard training is commutative only when it groks (Fig 5a)",
                              "abelian test on the training pairs stays low until grokking")
ABELIAN_PERTURBED = PaperClaim("p2.abelian-perturbed", "perturbed training is commutative right after the fit "
                               "(Fig 5b)", "abelian test on the training pairs reaches 100 % right after the fit")
ABELIAN_DEGROK = PaperClaim("p2.abelian-degrok", "abelian regulariser c = 100 speeds up grokking (Fig 6)",
                            "faster than standard training and than the perturbation strategy")
LOGIT_DISTANCE = PaperClaim("p2.logit-distance", "logit distance: stable at 0 vs chaotic (Fig 7)",
                            "‖f(a, b) − f(b, a)‖ stays at 0 after grokking in standard training, chaotic in "
                            "perturbed training")
PMI = _per_task("p2.pmi", "PMI changes at grokking, more timely than the norm (Fig 8)",
                "perturbed mutual information changes sharply when test accuracy jumps")
PE = _per_task("p2.pe", "PE changes at grokking, more timely than the norm (Fig 9)",
               "perturbed entropy changes sharply when test accuracy jumps")
MID_ED = _per_task("p2.mid-ed", "MID and ED before the fit tell grokking runs apart (Figs 10, 11)",
                   "runs that grok have MID and ED small or sharply decreasing before 100 % train accuracy")
ALPHA = PaperClaim("p2.alpha", "trends robust to α and to train/test (Fig 12)",
                   "PMI and PE trends are the same for other α and on the MNIST test set")
LABEL_PMI = PaperClaim("p2.label-pmi", "PMI with labels is less timely than PMI (Appendix B, Fig 13)",
                       "MI of perturbed logits and one-hot labels is not as timely as PMI")
SECTION5 = PaperClaim("p2.section5", "Theorems 5.9 and 5.12: ED and MID bounded by representation perturbation",
                      "|ED| and |MID| are bounded by the perturbation of the first-layer and output representations")
