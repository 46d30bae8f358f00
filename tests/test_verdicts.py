"""The shared verdict rules (grokutils.verdicts) on synthetic numbers whose answers are known."""

from __future__ import annotations

import math

import pytest

from grokutils.verdicts import (MAJORITY, Verdict, contains, effect_verdict, excludes_zero, fires_without_grokking,
                                seed_spread, significant, stable_across_seeds)


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
