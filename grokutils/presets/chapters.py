"""Which runs each chapter stores, how many train together, and the stored probe representations: what
``python -m grokutils.regenerate`` reads."""

from __future__ import annotations

from grokutils.config import Config
from grokutils.presets.part1 import (collapse_architectures, collapse_cnn_snapshots, collapse_sweep, collapse_theory,
                                     collapse_vit_sweep, concentration_sweep)
from grokutils.presets.part2 import robustness_controls, robustness_runs
from grokutils.presets.part4 import (candidate_settled, flatness_candidates, flatness_regulariser_runs,
                                     modular_flatness_runs, modular_ncc_runs, ncc_regulariser_runs,
                                     collapse_probe_runs)
from grokutils.presets.part5 import signal_grid
from grokutils.presets.part3 import (MIXING_ALPHA, MIXING_ALPHA_STRONG, SPECTRAL_PAPER, lemmas_steps,
                                     spectral_calibration, spectral_intervention, spectral_lemmas, spectral_main,
                                     spectral_mixing_doses, spectral_mixing_strong, spectral_mlp,
                                     spectral_s5_fractions, spectral_s5_larger_split, spectral_tasks)
from grokutils.presets.quickstart import nanda, omnigrok_mnist
from grokutils.profiles import check_profile


#: Configurations of one shape that the sweep engine trains at once, per part (the chapter name's prefix):
#: one seed's six weight decays in Part I, the five seeds of a Part II arm, the ten seeds of Part III in
#: two groups of five, the three seeds of a Part IV candidate, the five seeds of a Part V task. The loaders and
#: ``python -m grokutils.regenerate`` both read it.
SWEEP_SIZES = {"00": 6, "p1": 6, "p2": 5, "p3": 5, "p4": 3, "p5": 5}


#: The chapter that stores Part IV's Figure 1 candidates (:func:`flatness_candidates`).
FLATNESS_CANDIDATES_CHAPTER = "p4_fig1_grokking"
#: Chapters whose groups are alternatives tried in order: given the stored runs of the groups before (None where
#: not stored), the rule says whether the question is settled, and the groups after are then not trained.
SETTLED_BY = {FLATNESS_CANDIDATES_CHAPTER: candidate_settled}


def sweep_size(chapter: str) -> int:
    """The sweep size of a chapter of :func:`paper_runs` (its part's entry of :data:`SWEEP_SIZES`)."""
    part = chapter.split("_", 1)[0]
    if part not in SWEEP_SIZES:
        raise ValueError(f"chapter {chapter!r} belongs to no part of SWEEP_SIZES {sorted(SWEEP_SIZES)}.")
    return SWEEP_SIZES[part]


def chapter_runs(profile: str = "paper") -> dict[str, list[Config]]:
    """Every configuration a chapter stores under ``profile``, by chapter (``paper``: what ``make results``
    regenerates; the other profiles: what ``python -m grokutils.regenerate --profile`` trains ahead of the
    notebooks)."""
    p = check_profile(profile)
    robustness = robustness_runs(p)
    return {
        "00_quickstart": [nanda(p), nanda(p, loss_dtype="float32"), omnigrok_mnist(p)],
        "p1_fig3_weight_decay": collapse_sweep(p),
        "p1_thm41_concentration": concentration_sweep(p),
        "p1_thm43_time_scales": collapse_theory(p),
        "p1_appendix_architectures": (list(collapse_architectures(p).values()) + collapse_vit_sweep(p)
                                      + [collapse_cnn_snapshots(p)]),
        "p2_fig1_2_robustness": [c for arms in robustness.values() for c in arms["standard"]],
        "p2_fig4_7_degrokking": [c for arms in robustness.values() for arm, runs in arms.items() if arm != "standard"
                                 for c in runs],
        "p2_fig8_13_information": [c for runs in robustness_controls(p).values() for c in runs],
        "p4_fig1_grokking": [c for configs in flatness_candidates(p).values() for c in configs],
        "p4_sec5_ncc_regulariser": [c for arms in (ncc_regulariser_runs(p), modular_ncc_runs(p),
                                                   *collapse_probe_runs(p).values())
                                    for configs in arms.values() for c in configs],
        "p4_sec6_flatness_regulariser": ([c for configs in flatness_regulariser_runs(p).values() for c in configs]
                                         + modular_flatness_runs(p)["regularised"]),
        "p5_leaderboard": [c for arms in signal_grid(p).values() for configs in arms.values() for c in configs],
        "p3_two_phases": spectral_main(p),
        "p3_intervention": ([c for arm in spectral_intervention(p).values() for c in arm] + spectral_mixing_strong(p)
                            + [c for alpha, arm in spectral_mixing_doses(p).items()
                               if alpha not in (MIXING_ALPHA, MIXING_ALPHA_STRONG) for c in arm]),
        "p3_calibration": [c for cell, arm in spectral_calibration(p).items() for c in arm
                           if cell != (SPECTRAL_PAPER.frac_train, SPECTRAL_PAPER.betas[1], "book")],
        "p3_not_sufficient": spectral_mlp(p),
        "p3_threshold": ([c for arm in spectral_tasks(p).values() for c in arm] + spectral_s5_larger_split(p)
                         + [c for arm in spectral_s5_fractions(p).values() for c in arm]),
    }


def paper_runs() -> dict[str, list[Config]]:
    """Every stored ``paper`` configuration, by chapter: what ``make results`` regenerates."""
    return chapter_runs("paper")


def chapter_probes(profile: str = "paper") -> dict[str, list[tuple[Config, list[int]]]]:
    """Every stored set of probe representations, by chapter: ``(config, steps)`` (:mod:`grokutils.probes`)."""
    lemmas = spectral_lemmas(profile)
    return {"p3_lemmas": [(lemmas, lemmas_steps(lemmas))]}
