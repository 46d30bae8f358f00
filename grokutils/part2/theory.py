"""Part II's theory rows: Lemma 3.1, Theorem 3.2 (Figure 3) and Theorems 5.9 and 5.12, checked on the runs.

The bounds are recorded at every evaluation of every Part II run by
:func:`grokutils.metrics.robustness_bounds.robustness_bounds_metrics` (left side, right side, slack = right /
left); Theorem 3.2's predicted accuracy is computed here from a run's weight norms and the distances from
its test images to their nearest training image (:mod:`grokutils.part2.distance_bound`). A bound that holds
at every evaluation is a theorem holding: "uninformative" as evidence for the paper's explanation (rule 4),
reported with its tightness; one that fails beyond round-off is "not reproduced".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from grokutils.bound_checks import BoundCheck, bound_check, claim_bounds
from grokutils.claims import Claim
from grokutils.data import Dataset
from grokutils.part2 import distance_bound, paper
from grokutils.result import Result
from grokutils.verdicts import Verdict, majority_verdict, share


#: Lemma 3.1's two forms: (name, left-side key, right-side key) of :func:`robustness_bounds_metrics`' history.
LEMMA31_FORMS = (("E‖x‖²‖∇ₓf‖² ≤ ‖W₁‖₂² E‖∇_{W₁}f‖²", "lemma31_lhs", "lemma31_rhs"),
                 ("E‖x‖²‖∇ₓf‖² ≤ ‖W₁‖₂² tr H / (2cn)", "lemma31_lhs", "lemma31_sharpness_rhs"))


def lemma31_checks(mnist: Sequence[Result]) -> list[BoundCheck]:
    """Lemma 3.1 on the MNIST MLP from t_fit on: the first-layer form and the sharpness form."""
    return [bound_check(mnist, name, lhs, rhs, from_fit=True) for name, lhs, rhs in LEMMA31_FORMS]


def slack_at(result: Result, lhs: str, rhs: str, step: int) -> float:
    """Right side / left side of a recorded bound at the first evaluation at or after ``step`` (the last one if
    none is)."""
    i = min(int(np.searchsorted(result.step_array, step)), len(result.steps) - 1)
    return float(result[rhs][i] / result[lhs][i])


def claim_lemma31(mnist: Sequence[Result]) -> Claim:
    """Lemma 3.1 at every evaluation after the fit of every MNIST run (the MLP; the transformer has no
    single first layer acting on the input)."""
    return claim_bounds(paper.LEMMA31, lemma31_checks(mnist))


def section5_checks(standard: Mapping[str, Sequence[Result]]) -> list[BoundCheck]:
    """Theorems 5.9 (|ED| at α = 2) and 5.12 (|MID| at α = 2) over every evaluation, per task."""
    return [bound_check(runs, f"Theorem {number} ({paper.TASK_NAMES[task]})", f"{key}_lhs", f"{key}_rhs")
            for task, runs in standard.items() for number, key in (("5.9", "theorem59"), ("5.12", "theorem512"))]


def claim_section5(standard: Mapping[str, Sequence[Result]]) -> Claim:
    """Theorems 5.9 and 5.12 at every evaluation of every standard run of both tasks."""
    return claim_bounds(paper.SECTION5, section5_checks(standard))


@dataclass(frozen=True)
class Theorem32:
    """Theorem 3.2 along one MNIST run: its evaluation steps, the predicted accuracy (empirical distances and
    the half-normal model) with the most optimistic constant the training set allows, and its summary over
    the evaluations where the network fits its training set (the theorem's hypothesis)."""

    steps: np.ndarray
    predicted: distance_bound.PredictedAccuracy
    summary: distance_bound.BoundSummary
    scale: float


def theorem32(result: Result, data: Dataset, distances: np.ndarray | None = None) -> Theorem32:
    """:class:`Theorem32` of ``result`` on its dataset (``distances``: the test→nearest-train distances, computed
    when not given)."""
    x_train, x_test = data.x_train.double().flatten(1).numpy(), data.x_test.double().flatten(1).numpy()
    if distances is None:
        distances = distance_bound.nearest_train_distances(x_test, x_train)
    norms = result["weight_norm"]
    between = distance_bound.between_class_distance(x_train, data.y_train.numpy())
    scale = distance_bound.train_consistent_scale(between, norms)
    predicted = distance_bound.predicted_accuracy(norms, distances, scale=scale)
    fitted = result["train_acc"] >= 0.99
    if not fitted.any():
        fitted = np.ones_like(fitted)
    summary = distance_bound.summarise_bound(result.step_array, predicted.empirical, result["test_acc"],
                                             data.num_classes, where=fitted)
    return Theorem32(result.step_array, predicted, summary, scale)


def claim_theorem32(mnist: Sequence[Result], data: Dataset) -> Claim:
    """Figure 3: the predicted accuracy with the empirical distances is "uninformative" when it never exceeds
    chance in any run, "not reproduced" when it exceeds the measured accuracy in most runs, "reproduced" when
    valid and above chance in most (:data:`grokutils.verdicts.MAJORITY`)."""
    x_train, x_test = data.x_train.double().flatten(1).numpy(), data.x_test.double().flatten(1).numpy()
    distances = distance_bound.nearest_train_distances(x_test, x_train)
    checks = [theorem32(r, data, distances) for r in mnist]
    summaries = [c.summary for c in checks]
    best = max(float(c.predicted.empirical.max()) for c in checks)
    measured = (f"largest predicted accuracy {best:.3g} against chance {summaries[0].chance:g}; median "
                f"test→train distance {np.median(distances):.1f} (pixel-std units); valid in "
                f"{sum(s.valid for s in summaries)}/{len(summaries)} runs, above chance in "
                f"{sum(s.exceeds_chance for s in summaries)}/{len(summaries)}")
    if not any(s.exceeds_chance for s in summaries):
        return paper.THEOREM32.judged(measured + " (vacuous for every admissible constant)", Verdict.UNINFORMATIVE)
    if share([not s.valid for s in summaries]) >= 0.5:
        return paper.THEOREM32.judged(measured, Verdict.NOT_REPRODUCED)
    return paper.THEOREM32.judged(measured, majority_verdict(share([s.informative for s in summaries])))
