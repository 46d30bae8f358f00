"""Part II: "Grokking through a robustness viewpoint" (Tan & Huang 2023), from stored runs to the chapter's
numbers.

- :mod:`~grokutils.part2.paper`: the paper's numbers, its claims as stated, the criteria of every verdict
  (fixed before any Part II paper run ended).
"""

from grokutils.part2 import paper

__all__ = ["paper"]
