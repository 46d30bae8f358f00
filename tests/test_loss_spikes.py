"""The quick-start's measures of loss spikes and weight-norm oscillation (grokutils.result)."""

from __future__ import annotations

import math

import pytest

import grokutils as gu
from grokutils.result import (FLOAT32_LOSS_QUANTUM, Result, loss_spikes, losses_before_spikes,
                              norm_back_and_forth)


def run(train_loss, weight_norm=None, train_acc=None) -> Result:
    steps = list(range(0, 100 * len(train_loss), 100))
    train_acc = train_acc or [0.5] + [1.0] * (len(train_loss) - 1)  # fits at step 100
    weight_norm = weight_norm or [10.0] * len(train_loss)
    history = {"train_loss": train_loss, "train_acc": train_acc, "test_acc": [0.0] * len(train_loss),
               "test_loss": train_loss, "weight_norm": weight_norm}
    return Result(gu.presets.nanda("smoke"), steps, history)


def test_a_spike_is_ten_times_the_running_median_and_counts_once():
    loss = [1.0, 1e-3, 1e-4, 1e-5, 1e-6, 5e-7, 4e-7, 5e-3, 1e-3, 2e-3, 1e-4, 1e-5, 1e-6, 1e-6, 4e-7, 4e-7, 1e-2]
    result = run(loss)
    assert loss_spikes(result) == [700, 1600]  # 800 and 900 still spike: the same spike as 700
    assert losses_before_spikes(result) == [4e-7, 4e-7]
    assert loss_spikes(result, factor=1e5) == []
    assert loss_spikes(result, after=1000) == [1600]


def test_a_smoothly_falling_loss_has_no_spike_and_a_run_that_never_fits_none():
    assert loss_spikes(run([10.0 ** -k for k in range(12)])) == []
    never = run([1.0] * 6 + [100.0], train_acc=[0.5] * 7)
    assert never.t_fit is None and loss_spikes(never) == [] and norm_back_and_forth(never) == 0.0


def test_the_norm_travels_back_and_forth_only_when_it_turns():
    loss = [1.0] * 6
    assert norm_back_and_forth(run(loss, weight_norm=[60.0, 58, 55, 50, 49, 40])) == pytest.approx(0.0)
    # falls 60 -> 50, back up to 58, down to 40: 10 + 8 + 18 = 36 travelled, net 20
    assert norm_back_and_forth(run(loss, weight_norm=[70.0, 60, 50, 58, 49, 40]), after=100) == pytest.approx(16.0)


def test_the_float32_loss_quantum():
    import torch

    assert FLOAT32_LOSS_QUANTUM == pytest.approx(1.1920928e-07, rel=1e-6)
    one_sample = torch.tensor([[40.0, 40.0 - 16.0]])  # e^-16 = 1.1e-7 > 2^-24: the sum rounds up to 1 + 2^-23
    assert float(torch.nn.functional.cross_entropy(one_sample, torch.tensor([0]))) == pytest.approx(
        FLOAT32_LOSS_QUANTUM, rel=1e-6)
    saturated = torch.tensor([[40.0, 40.0 - 17.0]])  # e^-17 = 4.1e-8 < 2^-24: rounds to 1, the loss to 0
    assert float(torch.nn.functional.cross_entropy(saturated, torch.tensor([0]))) == 0.0
    assert math.log(2 ** 24) == pytest.approx(16.64, abs=0.01)
