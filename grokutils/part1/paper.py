"""Part I, the paper's side: its claims as stated and the criteria of every verdict.

Sato & Sakamoto (2025), "Explaining Grokking and Information Bottleneck through Neural Collapse
Emergence" (seed 000). The criteria are fixed before the results were looked at; the shared rules
(:data:`~grokutils.verdicts.MAJORITY`, the verdict vocabulary) are in :mod:`grokutils.verdicts`.
"""

from __future__ import annotations

from grokutils.claims import PaperClaim

#: t_RNC1: first step after its peak at which RNC1 is at most this fraction of the peak.
RNC1_FALL_FRACTION = 0.5
#: Theorem 4.3's predicted slopes of log t against log λ; a slope agrees when its 95 % bootstrap
#: interval contains the prediction (until the verdict review, within 0.25 of it also counted).
SLOPE_PREDICTIONS = {"t_fit": 0.0, "t_rnc1": -1.0, "t_grok": -1.0}
#: The slope each prediction argues against (λ-independent vs ∝ 1/λ): an interval containing both decides nothing.
SLOPE_ALTERNATIVES = {"t_fit": -1.0, "t_rnc1": 0.0, "t_grok": 0.0}
#: A series "falls with" another when their Spearman correlation over the evaluation steps after
#: t_fit is at least this.
TRACKING_CORRELATION = 0.5
#: Theorem 4.1's predicted slope of log gap against log n (agreement: the interval contains it).
CONCENTRATION_SLOPE = -0.5
#: The slope of a gap that does not shrink with n.
CONCENTRATION_ALTERNATIVE = 0.0
#: Checks that cannot fail as the book computes them, and why: their rows read "uninformative" whatever
#: the numbers (book/conventions.md, rule 4).
BY_CONSTRUCTION = {
    "p1.thm3.2": "the bound is evaluated with the test set's own margin statistics, so it bounds that same "
                 "test error by construction",
    "p1.thm3.4": "the MI estimate lives in a 4-dimensional compressed space and the bound in the 200-dimensional "
                 "representation, so the estimate stays below the bound whatever the network does; the bound is a "
                 "function of the same class covariances as RNC1, so it tracks RNC1 by construction",
}


def grokking_claim(weight_decay: float) -> PaperClaim:
    """Figures 2-3 at the reference weight decay."""
    return PaperClaim("p1.grokking", "grokking on MNIST (Fig. 2-3)",
                      f"wd {weight_decay}: test ≈ 15 % when train is fitted (step ≈ 16k), ≈ 88 % at 100k")


ALIGNMENT = PaperClaim("p1.rnc1-alignment", "RNC1 falls with generalisation (Fig. 3)",
                       "RNC1 falls together with the rise of test accuracy, not with the fit of the training set")
WEIGHT_DECAY = PaperClaim("p1.weight-decay", "weight decay sets the delay (Fig. 3)",
                          "larger weight decay → earlier grokking and a smaller delay")
MARGIN_BOUND = PaperClaim("p1.thm3.2", "Theorem 3.2 bound (held-out)",
                          "Theorem 3.2: the bound ≥ test error, and it falls when test error falls")
REDUNDANCY = PaperClaim("p1.fig4", "redundant information falls (Fig. 4)",
                        "Fig. 4: Î(Z;X) − Î(Z;Y) and nHSIC(Z;X) − nHSIC(Z;Y) fall when RNC1 falls")
PROP33 = PaperClaim("p1.prop3.3", "Proposition 3.3 bound", "Î(Z;Y) ≥ H(Y) − E[cross-entropy] at every checkpoint")
IB_BOUNDS = PaperClaim("p1.thm3.4", "Theorem 3.4 bounds", "Thm 3.4: the superfluous-information bounds fall with "
                       "RNC1 and the MI estimates stay below them")
_TIME_SCALES_PAPER = "Thm 4.3: log t vs log λ has slope ≈ 0 for t_fit and ≈ −1 for t_RNC1 and t_grok"
TIME_SCALES = PaperClaim("p1.thm4.3", "time scales (Thm 4.3)", _TIME_SCALES_PAPER)
TIME_SCALES_OWN_SETTING = PaperClaim("p1.thm4.3-own-setting", "time scales, theorem's setting (Thm 4.3)",
                                     _TIME_SCALES_PAPER)
BALANCEDNESS = PaperClaim("p1.propA.8", "weight balancedness (Prop. A.8, Cor. A.7)",
                          "Prop. A.8: with weight decay the layers balance within O(1/(ηλ)) steps (slope −1 of log "
                          "t_balance vs log λ); Cor. A.7: RNC1 becomes small once they are balanced")
CONCENTRATION = PaperClaim("p1.thm4.1", "concentration (Thm 4.1)",
                           "Thm 4.1: |population − empirical within-class variance| = O(C(h)/√n); slope of log gap "
                           "vs log n ≈ −1/2")
CNN = PaperClaim("p1.cnn", "CNN (App. C)",
                 "no grokking; RNC1 falls with test accuracy; already collapsed when the training set is fitted")
VIT = PaperClaim("p1.vit", "one-layer ViT (App. C)", "no grokking; NC1 (not RNC1) tracks test accuracy")
