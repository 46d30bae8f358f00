"""Part V's rules, fixed in code before any Part V run: one transition definition, one forecasting recipe,
one ranking for every indicator.

- **Transition** of an indicator in a run: :func:`grokutils.signal_monitor.transition_step`, the first evaluation
  at or after t_fit at which it has covered half of its change from its value at t_fit to its final value,
  provided that change is at least 10 % of its range over the run (else no transition). Its **lead** is
  t_grok − transition (positive: it moves first); its **position** (transition − t_fit) / (t_grok − t_fit)
  is 0 at the fit and 1 at grokking, comparable across tasks whose time scales differ.
- **False alarm**: the indicator transitions in a control (weight decay 0) that fits and never groks. A
  control that groks is no control: it is listed and left out.
- **Forecast** of a run's t_grok, the same recipe for every indicator (leave one seed out, within a task):
  its transition plus the median lead of the task's other grokking seeds in which the indicator transitions.
  Its error is |forecast − t_grok| / t_grok; a run in which the indicator does not transition, or whose task
  has no other seed to learn a lead from, gets no forecast and counts as an infinite error.
- **Reference**: the fit itself as an indicator (transition = t_fit): an indicator earns its cost only if it
  forecasts better than the training accuracy does.
- **Ranking**: by the median forecast error over every grokking run of every task (lower is better; ties by
  false-alarm rate), with a 95 % bootstrap interval of that median over runs. "Better than the fit" is rule 6
  of :mod:`grokutils.verdicts`: the per-run errors, paired, one-sided Wilcoxon p < 0.05.
"""

from __future__ import annotations

from grokutils.verdicts import SIGNIFICANCE

#: The reference "indicator": the fit (train accuracy ≥ 0.99) as the transition.
FIT = "t_fit"
#: Bootstrap resamples of the interval of a median forecast error, and their seed.
RESAMPLES, RESAMPLE_SEED = 10_000, 0
#: Level of every interval on the leaderboard.
LEVEL = 0.95
#: "Better than the fit": one-sided paired Wilcoxon p below this (rule 6).
BETTER_THAN_FIT = SIGNIFICANCE
