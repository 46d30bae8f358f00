"""The two predicates of "groks" (grokutils.grokking), used the same way in every part."""

from __future__ import annotations

import pytest

import grokutils as gu
from grokutils.grokking import (chance_accuracy, generalises_late, memorisation_ceiling, num_classes,
                                reaches_threshold)
from grokutils.result import Result


def run(test_at_fit: float, t_grok: int | None, t_fit: int = 1000, config: gu.Config | None = None) -> Result:
    config = config or gu.presets.collapse_mnist("paper")
    steps = [0, t_fit, 2 * t_fit, 4 * t_fit, 30 * t_fit]
    test = [0.1, test_at_fit, test_at_fit, test_at_fit, test_at_fit]
    if t_grok is not None:
        test = [v if s < t_grok else 0.9 for s, v in zip(steps, test)]
    return Result(config, steps, {"train_acc": [0.1, 1.0, 1.0, 1.0, 1.0], "test_acc": test,
                                  "wall_time": [float(s) for s in steps]})


def test_memorisation_then_late_generalisation_groks():
    late = run(0.14, t_grok=30_000)
    assert reaches_threshold(late) and generalises_late(late)


def test_a_network_that_generalises_while_it_fits_and_creeps_past_the_threshold_does_not_grok():
    vit_like = run(0.748, t_grok=30_000)  # Part I's one-layer ViT: 0.748 at t_fit, 0.858 much later
    assert reaches_threshold(vit_like) and not generalises_late(vit_like)
    check = gu.report.grokking_check(vit_like)
    assert not check.groks and "not from memorisation" in check.sentence()


def test_generalising_without_delay_or_never_is_not_grokking():
    assert not generalises_late(run(0.14, t_grok=1000))  # t_grok = t_fit
    never = run(0.14, t_grok=None)
    assert not reaches_threshold(never) and not generalises_late(never)


@pytest.mark.parametrize("config, classes", [(gu.presets.collapse_mnist("paper"), 10),
                                             (gu.presets.spectral_main("paper")[0], 97),
                                             (gu.presets.spectral_tasks("paper")["s5"][0], 120)])
def test_chance_and_the_memorisation_ceiling(config, classes):
    assert num_classes(config) == classes and chance_accuracy(config) == pytest.approx(1 / classes)
    assert memorisation_ceiling(config) == pytest.approx((1 / classes + config.grok_threshold) / 2)
