"""Part I: Sato & Sakamoto (2025), "Explaining Grokking and Information Bottleneck through Neural
Collapse Emergence", from stored runs to the chapter's numbers.

The package reads in the order the work flows:

- :mod:`~grokutils.part1.paper`: the paper's claims as stated and the criteria of every verdict;
- :mod:`~grokutils.part1.load`: which stored runs each page reads (the weight-decay sweep,
  Theorem 4.1's training-set sizes, Theorem 4.3's own setting, the appendix networks);
- :mod:`~grokutils.part1.analysis`: runs in, event times and per-run checks out;
- :mod:`~grokutils.part1.tables`: those numbers as the pages' tables;
- :mod:`~grokutils.part1.balance`: Appendix A.4's weight balancedness in Theorem 4.3's own setting
  (its table and its claims row);
- :mod:`~grokutils.part1.claim_checks`: one function per claim, the chapter's claims table.

The functions the pages call are importable from ``grokutils.part1`` itself; the criteria are
read as ``grokutils.part1.paper.NAME``.
"""

from grokutils.part1 import analysis, balance, claim_checks, load, paper, tables
from grokutils.part1.analysis import (bound_check, concentration_samples, event_samples, events, ib_check,
                                      time_scale_slopes, tracking)
from grokutils.part1.claim_checks import (architecture_claims, chapter_claims, claims, concentration_claim,
                                          theory_claim)
from grokutils.part1.load import (group_by_weight_decay, load_architectures, load_concentration, load_sweep,
                                  load_cnn_snapshots, load_theory, load_vit_sweep)
from grokutils.part1.tables import (architecture_table, bound_table, concentration_table, events_table, ib_table,
                                    slopes_table)

__all__ = [
    "analysis", "balance", "claim_checks", "load", "paper", "tables",
    "bound_check", "concentration_samples", "event_samples", "events", "ib_check", "time_scale_slopes", "tracking",
    "architecture_claims", "chapter_claims", "claims", "concentration_claim", "theory_claim",
    "group_by_weight_decay", "load_architectures", "load_concentration", "load_sweep", "load_theory",
    "load_cnn_snapshots", "load_vit_sweep",
    "architecture_table", "bound_table", "concentration_table", "events_table", "ib_table", "slopes_table",
]
