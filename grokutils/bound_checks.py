"""A proved bound checked along training runs: how often it held, and how tight it was.

Parts II and IV check their papers' inequalities (Lemma 3.1 and Theorems 5.9, 5.12 of Part II; Lemma A.2
of Part IV) at every evaluation of every stored run: the metric callbacks record both sides in a run's
history, and :func:`bound_check` compares them. A bound that holds everywhere is a theorem holding, so its
verdict is "uninformative" as evidence for the paper's account (rule 4 of :mod:`grokutils.verdicts`),
reported with its slack; one that fails beyond round-off is "not reproduced" (:func:`claim_bounds`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from grokutils.claims import Claim, PaperClaim
from grokutils.report import Markdown, markdown_table
from grokutils.result import Result
from grokutils.verdicts import Verdict

#: A bound is violated when its left side exceeds the right side by more than this relative round-off.
BOUND_RTOL = 1e-9


@dataclass(frozen=True)
class BoundCheck:
    """One bound over the evaluations of some runs: how many were checked (both sides finite), how many
    violated it (left side above right side by more than :data:`BOUND_RTOL`), and its slack (right / left)."""

    name: str
    evaluations: int
    violations: int
    median_slack: float
    smallest_slack: float

    def sentence(self) -> str:
        return (f"{self.name}: {self.violations} violations in {self.evaluations:,} evaluations; right side / "
                f"left side median {self.median_slack:.3g}, smallest {self.smallest_slack:.3g}")


def _from(result: Result, from_fit: bool) -> int:
    if not from_fit:
        return 0
    return len(result.steps) if result.t_fit is None else int(np.searchsorted(result.step_array, result.t_fit))


def bound_check(results: Sequence[Result], name: str, lhs: str, rhs: str, from_fit: bool = False) -> BoundCheck:
    """:class:`BoundCheck` of history series ``lhs`` ≤ ``rhs`` over every evaluation of ``results`` where both
    are finite (a diverged run records NaN), from t_fit on with ``from_fit`` (e.g. the interpolation regime of
    Part II's Lemma 3.1)."""
    left = np.concatenate([np.asarray(r[lhs], dtype=float)[_from(r, from_fit):] for r in results] or [[]])
    right = np.concatenate([np.asarray(r[rhs], dtype=float)[_from(r, from_fit):] for r in results] or [[]])
    finite = np.isfinite(left) & np.isfinite(right)
    left, right = left[finite], right[finite]
    if not left.size:
        return BoundCheck(name, 0, 0, math.nan, math.nan)
    violated = left > right * (1 + BOUND_RTOL) + 1e-300
    slack = right[left > 0] / left[left > 0]
    median, smallest = (float(np.median(slack)), float(slack.min())) if slack.size else (math.inf, math.inf)
    return BoundCheck(name, int(left.size), int(violated.sum()), median, smallest)


def claim_bounds(claim: PaperClaim, checks: Sequence[BoundCheck]) -> Claim:
    """The claims-table row of bounds: "not testable here" without evaluations, "not reproduced" if any is
    violated, else "uninformative" (a theorem holding cannot fail), with every check's slack."""
    measured = "; ".join(c.sentence() for c in checks)
    if not any(c.evaluations for c in checks):
        return claim.untestable("no evaluation recorded the bound")
    if any(c.violations for c in checks):
        return claim.judged(measured, Verdict.NOT_REPRODUCED)
    return claim.judged(measured + " (a theorem holding: it cannot fail)", Verdict.UNINFORMATIVE)


def checks_table(checks: Sequence[BoundCheck]) -> Markdown:
    """Every check as a row: bound, evaluations, violations, median and smallest slack (right / left; 1 is
    tight)."""
    return markdown_table(("bound", "evaluations", "violations", "slack: median", "slack: smallest"),
                          [(c.name, f"{c.evaluations:,}", c.violations, f"{c.median_slack:.3g}",
                            f"{c.smallest_slack:.3g}") for c in checks])
