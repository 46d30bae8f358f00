"""Part IV: "Flatness is Necessary, Neural Collapse is Not" (Han et al. 2025), from stored runs to the chapter's
numbers.

- :mod:`~grokutils.part4.paper`: the paper's claims and the criteria of every verdict (fixed before any Part IV
  run);
- :mod:`~grokutils.part4.analysis`: runs in, numbers out;
- :mod:`~grokutils.part4.claim_checks`: one function per claim.
"""

from grokutils.part4 import analysis, claim_checks, paper

__all__ = ["analysis", "claim_checks", "paper"]
