"""Part IV: "Flatness is Necessary, Neural Collapse is Not" (Han et al. 2025), from stored runs to the chapter's
numbers.

- :mod:`~grokutils.part4.paper`: the paper's claims and the criteria of every verdict (fixed before any Part IV
  run);
- :mod:`~grokutils.part4.load`: which stored runs each page reads;
- :mod:`~grokutils.part4.analysis`: runs in, numbers out;
- :mod:`~grokutils.part4.tables`: those numbers as tables;
- :mod:`~grokutils.part4.claim_checks`: one function per claim;
- :mod:`~grokutils.part4.theory`: Proposition 5.2 on exact collapse, Lemma A.2 along the runs.
"""

from grokutils.part4 import analysis, claim_checks, load, paper, tables, theory
from grokutils.part4.claim_checks import claims
from grokutils.part4.load import (chosen_runs, load_candidates, load_collapse_probe, load_flatness_regulariser,
                                  load_modular_flatness, load_modular_ncc, load_ncc_regulariser)

__all__ = ["analysis", "chosen_runs", "claim_checks", "claims", "load", "load_candidates", "load_collapse_probe",
           "load_flatness_regulariser",
           "load_modular_flatness", "load_modular_ncc", "load_ncc_regulariser", "paper", "tables", "theory"]
