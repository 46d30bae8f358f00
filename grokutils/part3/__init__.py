"""Part III: "Spectral Entropy Collapse as an Empirical Signature of Delayed Generalisation in
Grokking" (2026), from stored runs to the chapter's numbers.

The package reads in the order the work flows:

- :mod:`~grokutils.part3.paper`: the paper's numbers, its claims as stated, the criteria of
  every verdict (fixed before any Part III run);
- :mod:`~grokutils.part3.load`: which stored runs each page reads;
- :mod:`~grokutils.part3.analysis` and :mod:`~grokutils.part3.arms`: runs in, small dataclasses
  of numbers out (claim 3's intervention arms in ``arms``);
- :mod:`~grokutils.part3.tables`: those numbers as tables and computed sentences;
- :mod:`~grokutils.part3.calibration`: the exploratory calibration of the training procedure;
- :mod:`~grokutils.part3.theory`: the appendix and practical sections (Lemma 4, §10's early stop,
  Table 5's diagnostics, the effective rank), measured beside the claims table;
- :mod:`~grokutils.part3.claim_checks`: one function per claim, the chapter's claims table;
- :mod:`~grokutils.part3.monitor_loop`: the monitor in a plain PyTorch loop (the monitor page), and its recording.

The functions the pages call are importable from ``grokutils.part3`` itself; the paper's
numbers and criteria are read as ``grokutils.part3.paper.NAME``.
"""

from grokutils.part3 import analysis, arms, calibration, claim_checks, load, monitor_loop, paper, tables, theory
from grokutils.part3.analysis import (architecture_summary, check_grok_threshold, crossing_step, forecast_summary,
                                      group_by_task, norm_entropy_correlation, phases, precedence,
                                      predictor_comparison, probe_agreement, proposition6, run_events, split_grokked,
                                      threshold)
from grokutils.part3.arms import compare_t_grok, entropy_shift, intervention_comparisons, same_seeds
from grokutils.part3.claim_checks import (claim_forecast, claim_intervention, claim_norm_matched,
                                          claim_not_sufficient, claim_precedence, claim_predictors, claim_probe,
                                          claim_proposition6, claim_tasks, claim_threshold, claim_two_phases, claims)
from grokutils.part3.calibration import calibration_sentence, calibration_table
from grokutils.part3.load import (load_calibration, load_controls, load_intervention, load_main, load_mixing_doses,
                                  load_lemma_representations, load_mixing_strong, load_mlp, load_s5_fractions,
                                  load_s5_larger_split, load_tasks)
from grokutils.part3.tables import (architecture_table, dose_response_sentence, dose_response_table,
                                    entropy_shift_sentence, events_table, exploratory_sentence, fraction_table,
                                    intervention_table, placebo_table, predictor_table, proposition6_table,
                                    task_table)

__all__ = [
    "analysis", "arms", "calibration", "claim_checks", "load", "monitor_loop", "paper", "tables", "theory",
    "architecture_summary", "check_grok_threshold", "crossing_step", "forecast_summary", "group_by_task",
    "norm_entropy_correlation", "phases", "precedence", "predictor_comparison", "probe_agreement", "proposition6",
    "run_events", "split_grokked", "threshold",
    "compare_t_grok", "entropy_shift", "intervention_comparisons", "same_seeds",
    "claim_forecast", "claim_intervention", "claim_norm_matched", "claim_not_sufficient", "claim_precedence",
    "claim_predictors", "claim_probe", "claim_proposition6", "claim_tasks", "claim_threshold", "claim_two_phases",
    "claims",
    "load_calibration", "load_controls", "load_intervention", "load_main", "load_mixing_doses", "load_mixing_strong",
    "load_mlp", "load_s5_fractions", "load_s5_larger_split", "load_tasks",
    "load_lemma_representations",
    "calibration_sentence", "calibration_table",
    "architecture_table", "dose_response_sentence", "dose_response_table", "entropy_shift_sentence", "events_table",
    "exploratory_sentence", "fraction_table",
    "intervention_table", "placebo_table", "predictor_table", "proposition6_table", "task_table",
]
