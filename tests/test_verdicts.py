"""The shared verdict rules (grokutils.verdicts) on synthetic numbers whose answers are known."""

from __future__ import annotations

import math

import pytest

from grokutils import presets, stats
from grokutils.verdicts import (MAJORITY, Verdict, contains, effect_verdict, excludes_zero, fires_without_grokking,
                                rank_test_can_reject, seed_spread, signed_rank_test_can_reject, significant,
                                stable_across_seeds)


@pytest.mark.parametrize("p, in_full, expected", [
    (0.01, True, Verdict.REPRODUCED), (0.01, False, Verdict.PARTLY),
    (0.48, True, Verdict.NOT_REPRODUCED),  # +60 steps at p = 0.48: a null effect is never "partly"
    (0.05, True, Verdict.NOT_REPRODUCED), (None, True, Verdict.NOT_REPRODUCED),
    (math.nan, True, Verdict.NOT_REPRODUCED),
])
def test_significance_before_direction(p, in_full, expected):
    assert effect_verdict(p, in_full) is expected


def test_a_predicted_value_agrees_only_inside_the_interval_never_by_a_band():
    assert contains((0.49, 0.45, 0.52), 0.50)
    assert not contains((0.49, 0.45, 0.52), 0.56)  # within a ±0.05 band of 0.49 once counted; no longer
    assert not contains(None, 0.5)


def test_stability_is_seed_spread_which_does_not_shrink_with_more_seeds():
    few, many = [0.40, 0.50, 0.60], [0.40, 0.50, 0.60] * 30
    assert seed_spread(many) == pytest.approx(seed_spread(few), rel=0.25)  # the sd settles; a CI would shrink 5×
    assert not stable_across_seeds(many, 0.05) and stable_across_seeds([0.49, 0.50, 0.51], 0.05)
    assert not stable_across_seeds([0.5], 0.05) and math.isnan(seed_spread([0.5]))


def test_a_signal_that_fires_without_grokking_is_uninformative():
    assert fires_without_grokking([True] * 10) and fires_without_grokking([True, False])
    assert not fires_without_grokking([False, False, True]) and not fires_without_grokking([])


def test_interval_excludes_zero_and_significance_edges():
    assert excludes_zero((0.018, 0.004, 0.032)) and not excludes_zero((-0.006, -0.017, 0.008))
    assert significant(0.049) and not significant(0.05) and MAJORITY == 0.8


def test_an_interval_that_holds_the_prediction_and_its_alternative_decides_nothing():
    from grokutils.verdicts import interval_agreement

    assert interval_agreement((-0.98, -1.05, -0.9), -1.0, 0.0) is True
    assert interval_agreement((-0.3, -0.32, -0.28), -1.0, 0.0) is False
    assert interval_agreement((0.70, -3.69, 5.10), -1.0, 0.0) is None  # Theorem 4.3's own setting, t_grok


@pytest.mark.parametrize("n_a, n_b, can", [(3, 3, False), (4, 4, True), (5, 5, True), (2, 5, True), (1, 5, False),
                                           (1, 19, False), (1, 20, True), (0, 5, False)])
def test_a_rank_test_that_cannot_reject_is_known_before_the_runs(n_a, n_b, can):
    """Mirror of rule 4: the smallest exact one-sided p is 1/C(n_a + n_b, n_a); 3 against 3 gives 0.05 exactly."""
    assert rank_test_can_reject(n_a, n_b) is can
    if n_a and n_b:
        assert (stats.mann_whitney_greater(list(range(n_b, n_a + n_b)), list(range(n_b)))[1] < 0.05) is can


@pytest.mark.parametrize("n, can", [(0, False), (4, False), (5, True), (10, True)])
def test_a_paired_test_that_cannot_reject_is_known_before_the_runs(n, can):
    """The smallest exact one-sided signed-rank p of n pairs is 1/2^n: four seeds never reach p < 0.05."""
    assert signed_rank_test_can_reject(n) is can
    if n:
        assert (stats.wilcoxon_less(list(range(n)), [x + 1 + i for i, x in enumerate(range(n))]) < 0.05) is can


def test_every_paper_comparison_by_rank_test_can_reject():
    """Part II's degrokking and controls and Part IV's regularisers compare arms by a rank test: each paper design
    must be able to show an effect (Part IV's paper used 3 seeds, which cannot)."""
    runs = presets.robustness_runs("paper")
    controls = presets.robustness_controls("paper")
    for task, arms in runs.items():
        assert rank_test_can_reject(len(arms["standard"]), len(arms["perturbed"]))
        assert rank_test_can_reject(len(controls[task]), len(arms["standard"]))
    for arms in (presets.ncc_regulariser_runs("paper"), presets.flatness_regulariser_runs("paper")):
        sizes = {len(configs) for configs in arms.values()}
        assert all(rank_test_can_reject(n, n) for n in sizes), sizes
