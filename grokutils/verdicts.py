"""How a verdict is decided: the rules every part's claims table shares.

A claim of a paper gets one :class:`Verdict`, computed by code from stored runs. The rules
(``book/conventions.md``, "How a verdict is decided"):

1. **Significance before direction.** An effect the paper predicts (a delay, a difference) is
   "reproduced" or "partly" only when it is significant in the paper's direction
   (:func:`effect_verdict`): a null effect, whatever its sign, is "not reproduced", never "partly".
2. **Agreement with a predicted value** means the measured interval contains it
   (:func:`contains`), never that a tolerance band around the estimate does; an interval that also
   contains the value the claim argues against decides nothing (:func:`interval_agreement`).
3. **Stability is seed spread** (:func:`stable_across_seeds`): the sample standard deviation over
   seeds, which does not shrink with more seeds as a bootstrap interval of the mean does.
4. **A check that holds by construction, or that cannot fail on these data, is "uninformative"**
   (:attr:`Verdict.UNINFORMATIVE`): e.g. a bound built from the statistics it bounds, or a signal
   that fires as often in runs that never grok (:func:`fires_without_grokking`). Its mirror: a rule
   whose test cannot reject at all with this many runs is "not testable here"
   (:func:`rank_test_can_reject`: 3 runs against 3 never reach p < 0.05;
   :func:`signed_rank_test_can_reject`: 4 paired seeds never do).
5. **Claims about every run** are judged by the share of runs that agree (:data:`MAJORITY`,
   :func:`majority_verdict`); a setting in which no run groks is its own row, "not reproduced".
6. **A ranking of predictors** is reproduced only when their out-of-sample errors separate
   them; in-sample fit alone gives at most "partly".

Exploratory arms (added after the results) are reported beside the verdicts, never in them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from enum import StrEnum

import numpy as np


class Verdict(StrEnum):
    """The verdicts of a claims table; each member is also its printed text."""

    REPRODUCED = "reproduced"
    PARTLY = "partly reproduced"
    NOT_REPRODUCED = "not reproduced"
    UNINFORMATIVE = "uninformative"
    NOT_TESTABLE = "not testable here"


#: Share of runs that must agree for "reproduced" (half of it gives "partly" where a rule says
#: so). The papers report 10/10 seeds; 80 % lets 2 of 10 miss at this book's granularity.
MAJORITY = 0.8
#: One-sided significance level of every test of an effect in the paper's direction.
SIGNIFICANCE = 0.05


def verdict(holds: bool, partly: bool = False) -> Verdict:
    """:attr:`Verdict.REPRODUCED` if ``holds``, else :attr:`Verdict.PARTLY` if ``partly``, else
    :attr:`Verdict.NOT_REPRODUCED`."""
    if holds:
        return Verdict.REPRODUCED
    return Verdict.PARTLY if partly else Verdict.NOT_REPRODUCED


def share(flags: Sequence[bool]) -> float:
    """The share of true flags; NaN when there are none (nothing to judge)."""
    return sum(map(bool, flags)) / len(flags) if flags else math.nan


def majority_verdict(agreeing: float) -> Verdict:
    """A claim about every run, judged by the share that agrees: ≥ :data:`MAJORITY` reproduced,
    ≥ half of it partly, NaN (no runs) not testable."""
    if math.isnan(agreeing):
        return Verdict.NOT_TESTABLE
    return verdict(agreeing >= MAJORITY, agreeing >= MAJORITY / 2)


def significant(p_value: float | None, alpha: float = SIGNIFICANCE) -> bool:
    """A one-sided test in the paper's direction rejects its null at level ``alpha``."""
    return p_value is not None and not math.isnan(p_value) and p_value < alpha


def effect_verdict(p_value: float | None, in_full: bool = True, alpha: float = SIGNIFICANCE) -> Verdict:
    """Rule 1: an effect the paper predicts, tested one-sided in its direction (``p_value``).

    Not significant: "not reproduced", whatever the sign of the estimate. Significant:
    "reproduced" when ``in_full`` (every further condition of the claim holds), else "partly".
    """
    if not significant(p_value, alpha):
        return Verdict.NOT_REPRODUCED
    return Verdict.REPRODUCED if in_full else Verdict.PARTLY


def rank_test_can_reject(n_a: int, n_b: int, alpha: float = SIGNIFICANCE) -> bool:
    """Rule 4's mirror: whether a one-sided exact rank test of ``n_a`` runs against ``n_b`` can reach
    p < ``alpha`` at all. Its smallest p-value is 1/C(n_a + n_b, n_a), taken when the samples separate
    completely: 0.05 for 3 runs against 3, so three seeds per arm can never show an effect at 5 %; 4
    against 4 can (1/70). A verdict resting on a test that cannot reject is "not testable here"."""
    return n_a > 0 and n_b > 0 and 1 / math.comb(n_a + n_b, n_a) < alpha


def signed_rank_test_can_reject(n_pairs: int, alpha: float = SIGNIFICANCE) -> bool:
    """Rule 4's mirror for paired runs: whether a one-sided exact Wilcoxon signed-rank test of ``n_pairs``
    differences can reach p < ``alpha``. Its smallest p-value is 1/2^n (every difference on the paper's side):
    0.0625 for 4 seeds, 0.031 for 5, so a paired comparison needs at least five seeds."""
    return n_pairs > 0 and 0.5 ** n_pairs < alpha


def contains(interval: tuple[float, float, float] | None, value: float) -> bool:
    """Rule 2: the measured (estimate, low, high) interval contains the predicted ``value``."""
    return interval is not None and interval[1] <= value <= interval[2]


def interval_agreement(interval: tuple[float, float, float] | None, predicted: float,
                       alternative: float) -> bool | None:
    """Rule 2 with its limit: True when the interval contains ``predicted`` and excludes ``alternative``
    (the value the claim argues against), False when it excludes ``predicted``, None (uninformative)
    when it contains both: an interval that wide agrees with anything."""
    if not contains(interval, predicted):
        return False
    return None if contains(interval, alternative) else True


def excludes_zero(interval: tuple[float, float, float] | None) -> bool:
    """The interval of an effect lies wholly on one side of zero."""
    return interval is not None and (interval[1] > 0 or interval[2] < 0)


def seed_spread(values: Sequence[float]) -> float:
    """Sample standard deviation over seeds (NaN with fewer than two)."""
    return float(np.std(values, ddof=1)) if len(values) >= 2 else math.nan


def stable_across_seeds(values: Sequence[float], tolerance: float) -> bool:
    """Rule 3: the seeds agree to within ``tolerance`` (sample sd), with at least two seeds."""
    spread = seed_spread(values)
    return not math.isnan(spread) and spread <= tolerance


def fires_without_grokking(fired: Sequence[bool]) -> bool:
    """Rule 4: a signal that fires in at least half of the runs that never grok cannot tell
    grokking apart (``fired``: one flag per non-grokking run; False when there are none)."""
    return bool(fired) and share(fired) >= 0.5
