"""What "groks" means, in every part of the book: two predicates with clear names.

- :func:`reaches_threshold`: test accuracy reaches the run's threshold (``config.grok_threshold``:
  0.95 on the algorithmic tasks, 0.85 on MNIST with 1,000 images) at some evaluation, t_grok. Every
  t_grok statistic (means, thresholds of H̃ at t_grok, forecasts) is over the runs that reach it.
- :func:`generalises_late` (the run *groks*): it reaches the threshold at least
  :data:`DELAY_FACTOR` times later than it fits its training set, and when it fits, its test
  accuracy is still closer to chance than to the threshold: generalisation comes after
  memorisation, not with it. A network that already generalises when it fits and creeps past the
  threshold later (Part I's one-layer ViT: 0.748 at t_fit, 0.858 much later) does not grok.

``book/conventions.md`` states the same two definitions; claims that say "groks" use
:func:`generalises_late`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from grokutils.config import ALGORITHMIC_TASKS, TEXT_TASKS
from grokutils.data import TEXT_DATASETS

if TYPE_CHECKING:
    from grokutils.config import Config
    from grokutils.result import Result

#: A run generalises late when t_grok ≥ DELAY_FACTOR × t_fit.
DELAY_FACTOR = 2.0
#: Classes of the permutation group S5 (its composition table's labels).
S5_CLASSES = 120


def num_classes(config: Config) -> int:
    """How many labels the task has (p for the modular tasks, 120 for S5, 10 for the image tasks)."""
    if config.task == "s5":
        return S5_CLASSES
    if config.task in ALGORITHMIC_TASKS:
        return config.p
    if config.task in TEXT_TASKS:
        return TEXT_DATASETS[config.task][1]
    return 10


def chance_accuracy(config: Config) -> float:
    """Accuracy of a uniform guess over the task's labels."""
    return 1.0 / num_classes(config)


def memorisation_ceiling(config: Config) -> float:
    """The test accuracy a run may have when it fits and still generalise *late*: the midpoint between
    chance and the grokking threshold."""
    return (chance_accuracy(config) + config.grok_threshold) / 2


def reaches_threshold(result: Result) -> bool:
    """Test accuracy reaches ``config.grok_threshold`` at some evaluation (t_grok exists)."""
    return result.t_grok is not None


def test_accuracy_at_fit(result: Result) -> float | None:
    """Test accuracy at t_fit (None when the training set is never fitted)."""
    t_fit = result.t_fit
    return None if t_fit is None else float(result["test_acc"][result.steps.index(t_fit)])


def is_late(t_fit: int | None, t_grok: int | None, test_acc_at_fit: float | None, ceiling: float) -> bool:
    """The rule of :func:`generalises_late` on its numbers."""
    if t_fit is None or t_grok is None or test_acc_at_fit is None:
        return False
    return t_grok >= DELAY_FACTOR * max(t_fit, 1) and test_acc_at_fit < ceiling


def generalises_late(result: Result) -> bool:
    """The run groks: t_grok ≥ :data:`DELAY_FACTOR` × t_fit and test accuracy at t_fit below
    :func:`memorisation_ceiling`."""
    return is_late(result.t_fit, result.t_grok, test_accuracy_at_fit(result), memorisation_ceiling(result.config))
