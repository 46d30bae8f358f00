"""Part II: "Grokking through a robustness viewpoint" (Tan & Huang 2023), from stored runs to the chapter's
numbers.

The package reads in the order the work flows:

- :mod:`~grokutils.part2.paper`: the paper's claims as stated and the criteria of every verdict (fixed
  before any Part II paper run ended);
- :mod:`~grokutils.part2.load`: which stored runs each page reads;
- :mod:`~grokutils.part2.analysis`: runs in, numbers out;
- :mod:`~grokutils.part2.distance_bound` and :mod:`~grokutils.part2.theory`: Theorem 3.2 (Figure 3), and the
  theorem rows (Lemma 3.1, Theorems 5.9 and 5.12) from the bounds every run records;
- :mod:`~grokutils.part2.tables`: those numbers as tables;
- :mod:`~grokutils.part2.claim_checks`: one function per claim, the chapter's claims table.
"""

from grokutils.part2 import analysis, claim_checks, distance_bound, load, paper, tables, theory
from grokutils.part2.claim_checks import claims
from grokutils.part2.load import ARMS, load_arms, load_controls, load_standard

__all__ = ["ARMS", "analysis", "claim_checks", "claims", "load", "load_arms", "load_controls", "load_standard",
           "distance_bound", "paper", "tables", "theory"]
