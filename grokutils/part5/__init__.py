"""Part V: every signal of grokking on the same runs, from stored runs to the leaderboard.

- :mod:`~grokutils.part5.paper`: the rules of the comparison (fixed before any Part V run);
- :mod:`~grokutils.part5.load`: the grid's stored runs;
- :mod:`~grokutils.part5.leaderboard`: per indicator and run, its transition, lead, false alarm and
  leave-one-seed-out forecast of t_grok; the leaderboard's rows;
- :mod:`~grokutils.part5.foresight`: exploratory checks of the board (a placebo indicator, forecasts from histories
  cut before grokking, controls matched to the grokking runs, Holm's adjustment), beside its rules;
- :mod:`~grokutils.part5.tables`: those numbers as tables;
- :mod:`~grokutils.part5.collisions`: the papers' disagreements, answered from the grid;
- :mod:`~grokutils.part5.monitor_loop`: the one monitor in a plain PyTorch loop (the monitor page), and its recording.
"""

from grokutils.part5 import collisions, foresight, leaderboard, load, monitor_loop, paper, tables
from grokutils.part5.load import load_grid

__all__ = ["collisions", "foresight", "leaderboard", "load", "load_grid", "monitor_loop", "paper", "tables"]
