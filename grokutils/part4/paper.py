"""Part IV, the paper's side: its claims as stated, and the criteria of every verdict.

Han, Adilova, Petzka, Kleesiek & Kamp, "Flatness is Necessary, Neural Collapse is Not" (2025; seed 004,
whose LaTeX survived; the book's spec: ``p4_flatness.md``). The paper reports curves, so each claim is
stated by its shape. The constants below are the criteria behind every verdict, fixed before any Part IV
run existed; the rules are the shared ones of :mod:`grokutils.verdicts`.

Conventions: t_fit is the first evaluation with train accuracy ≥ 0.99, t_grok the first with test accuracy at
the run's threshold (0.95 on modular arithmetic), and a measure's *half-fall step* the first evaluation
after its largest value at which it has covered half of its fall from that value to its final value
(:func:`grokutils.part4.analysis.half_fall_step`). Its *position* is (t_half − t_fit) / (t_grok − t_fit): 0 at
the fit, 1 at grokking.
"""

from __future__ import annotations

from grokutils import bound_checks
from grokutils.claims import PaperClaim

# ----------------------------------------------------------------------------------------------
# Verdict criteria (fixed before any Part IV run existed)
# ----------------------------------------------------------------------------------------------

#: Bootstrap resamples behind Part IV's intervals.
RESAMPLES = 10_000
#: Figure 1: NCC "falls during memorisation" in a seed when its half-fall comes in the first half of the
#: memorisation period (position < NCC_POSITION, before the fit included).
NCC_POSITION = 0.5
#: Figure 1: κ "drops when validation accuracy rises" in a seed when its half-fall position is within
#: ± KAPPA_WINDOW of 1 (t_grok).
KAPPA_WINDOW = 0.25
#: Sections 5 and 6: "unaffected" is an equivalence, not a failure to find a difference. The final test accuracy
#: is unaffected when the 95 % bootstrap interval of its mean difference (regularised − baseline, paired by
#: seed) lies within ± ACCURACY_MARGIN; κ is unaffected when the interval of the mean log ratio of the final κ
#: lies within ± log(KAPPA_RATIO).
ACCURACY_MARGIN = 0.02
KAPPA_RATIO = 1.5
#: Section 5, ablation: λ "too large destabilises" when at the largest λ the run diverges (non-finite loss) or
#: its final test accuracy is below the baseline's, one-sided Mann–Whitney p < SIGNIFICANCE (rule 1).
#: Section 6: while the flatness regulariser is on, test accuracy at the unplug step is below the baseline's
#: at the same step (rule 1); after unplugging, the run reaches t_grok and κ at the end is below κ at the
#: unplug step in a majority of seeds; the final test accuracy is below the unregularised run's (rule 1).
#: Appendix D: representativeness "falls to ≈ 0" in a seed when its final value is at most
#: REPRESENTATIVENESS_FRACTION of its largest value.
REPRESENTATIVENESS_FRACTION = 0.1
#: Proposition 5.2, Lemma A.2: a bound violated beyond this relative round-off is "not reproduced"; one that
#: holds everywhere is a theorem holding, "uninformative" (rule 4), with its tightness reported.
BOUND_RTOL = bound_checks.BOUND_RTOL

# ----------------------------------------------------------------------------------------------
# The claims as the paper states them (the rows of the chapter's claims table)
# ----------------------------------------------------------------------------------------------

NCC_MEMORISATION = PaperClaim("p4.ncc-memorisation", "NCC falls during memorisation (Fig 1)",
                              "neural collapse (NCC) already decreases while the network memorises")
KAPPA_GROKKING = PaperClaim("p4.kappa-grokking", "relative flatness drops when validation rises (Fig 1)",
                            "κ stays high during memorisation and drops sharply when validation accuracy rises")
NCC_REGULARISER = PaperClaim("p4.ncc-regulariser", "suppressing collapse does not hurt (Sec 5, Figs 2, 3)",
                             "CE − λ·NCC (λ = 1e-3): NCC rises, class-mean angles leave the simplex, validation "
                             "accuracy and κ unaffected")
NCC_ABLATION = PaperClaim("p4.ncc-ablation", "too large a λ destabilises (Appendix B)",
                          "λ from 1e-6 to 1e-2: the largest destabilises training")
FLATNESS_REGULARISER = PaperClaim("p4.flatness-regulariser", "sharpness on demand delays generalisation (Sec 6, "
                                  "Fig 4)", "CE − λ·κ (λ = 1e-4), unplugged at a fixed step: validation stays low "
                                  "while on, rises sharply after while κ falls; final accuracy below the "
                                  "unregularised run")
#: The same claims on x + y mod 97 (:func:`grokutils.presets.modular_ncc_runs`, ``modular_flatness_runs``), judged by
#: the same criteria; added before any of those runs.
NCC_REGULARISER_MODULAR = PaperClaim("p4.ncc-regulariser-modular", "suppressing collapse does not hurt, x + y mod 97",
                                     NCC_REGULARISER.paper)
NCC_ABLATION_MODULAR = PaperClaim("p4.ncc-ablation-modular", "too large a λ destabilises, x + y mod 97",
                                  NCC_ABLATION.paper)
FLATNESS_REGULARISER_MODULAR = PaperClaim("p4.flatness-regulariser-modular",
                                          "sharpness on demand delays generalisation, x + y mod 97",
                                          FLATNESS_REGULARISER.paper)
PROPOSITION52 = PaperClaim("p4.proposition52", "Proposition 5.2: collapse bounds κ",
                           "under exact neural collapse κ ≤ λ²k³M⁴e^{−λM²k/(k−1)} / (1 + (k−1)e^{−λM²k/(k−1)})²")
LEMMA_A2 = PaperClaim("p4.lemmaA2", "Lemma A.2: κ ≤ ‖w‖²_F · Tr H", "the cheap bound holds")
REPRESENTATIVENESS = PaperClaim("p4.representativeness", "representativeness improves as generalisation sets in "
                                "(Appendix D, Fig 8)", "falls to ≈ 0 as validation accuracy reaches 100 %")
