"""Part V's one monitor for all signals (grokutils.signal_monitor): in a plain PyTorch loop it records at
exactly the chosen steps and changes nothing in training; the one transition rule, by hand; the trainer
adapter."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import grokutils as gu
from grokutils import data as data_module
from grokutils import models
from grokutils.indicators import INDICATORS, Indicator
from grokutils.metrics.robustness import robustness_metrics
from grokutils.metrics.sharpness import sharpness_metrics
from grokutils.part2 import analysis
from grokutils.signal_monitor import (HALF_CHANGE, MIN_RELATIVE_CHANGE, SignalCallback, SignalMonitor,
                                      half_change_step, lead, transition_step)


def image_task(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(200, 1, 6, 6, generator=g)
    y = (x.flatten(1)[:, :4].argmax(1))  # a learnable rule, 4 classes
    return x, y


def train_mlp(monitor: SignalMonitor | None, steps: int = 25, where: str = "start"):
    """A plain loop: its own model, optimizer and minibatches drawn from the global RNG."""
    torch.manual_seed(0)
    x, y = image_task()
    model = models.MLP(36, (12, 12), 4)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    for step in range(steps):
        if monitor is not None and where == "start":
            monitor(step, model)
        batch = torch.randint(0, len(x), (32,))
        loss = F.cross_entropy(model(x[batch]), y[batch])
        optimizer.zero_grad()
        loss.backward()
        if monitor is not None and where == "after_backward":
            monitor(step, model)
        optimizer.step()
    return model


def probe_and_codes():
    x, y = image_task()
    return x[:120], y[:120], torch.randn(120, 4, generator=torch.Generator().manual_seed(2))


# --------------------------------------------------------------------------- plain loop


@pytest.mark.parametrize("where", ["start", "after_backward"])
def test_monitor_changes_nothing_in_training(where):
    reference = train_mlp(None)
    px, py, codes = probe_and_codes()
    monitor = SignalMonitor(px, py, every=5, task="mnist", codes=codes)
    monitored = train_mlp(monitor, where=where)
    for a, b in zip(reference.parameters(), monitored.parameters()):
        assert torch.equal(a, b)
    assert monitored.training
    assert monitor.steps == [0, 5, 10, 15, 20]


def test_monitor_leaves_the_global_random_state_alone():
    # an indicator that draws from the global RNG would shift the loop's minibatches without fork_rng
    greedy = Indicator("greedy", "Part V test: draws from the global RNG.", (),
                       lambda model, probe: float(torch.randn(())))
    px, py, _ = probe_and_codes()
    monitor = SignalMonitor(px, py, indicators=[greedy, "weight_norm"], every=3)
    for a, b in zip(train_mlp(None).parameters(), train_mlp(monitor).parameters()):
        assert torch.equal(a, b)
    assert len(monitor.history["greedy"]) == 9


def test_monitor_records_at_exactly_the_chosen_steps():
    px, py, codes = probe_and_codes()
    monitor = SignalMonitor(px, py, steps=[0, 3, 7, 24], task="mnist", codes=codes)
    train_mlp(monitor)
    assert monitor.steps == [0, 3, 7, 24]
    expected = {k for n, i in INDICATORS.items() if n not in ("fourier_alignment", "abelian_agreement")
                for k in i.keys}
    assert set(monitor.history) == expected
    assert all(len(v) == 4 and all(math.isfinite(x) for x in v) for v in monitor.history.values())
    assert set(monitor.not_applicable) == {"fourier_alignment", "abelian_agreement"}
    costs = monitor.costs()
    assert set(costs) == set(INDICATORS) - set(monitor.not_applicable)
    assert all(c > 0 for c in costs.values())
    assert 0 < monitor.overhead(1000.0) < monitor.overhead(1.0)
    assert monitor.overhead_seconds >= sum(costs.values())
    with pytest.raises(ValueError, match="finite positive"):
        monitor.overhead(0)
    exported = monitor.to_dict()
    assert exported["steps"] == [0, 3, 7, 24] and exported["history"]["rnc1"] == monitor.history["rnc1"]


def test_monitor_values_are_the_indicators_and_eval_mode_is_kept():
    px, py, codes = probe_and_codes()
    torch.manual_seed(0)
    model = models.MLP(36, (12, 12), 4)
    model.eval()
    monitor = SignalMonitor(px, py, indicators=["rnc1", "weight_norm", "matrix_information"], every=1)
    row = monitor(0, model)
    assert not model.training
    assert row["rnc1"] == INDICATORS["rnc1"](model, monitor.probe)
    assert set(row) == {"rnc1", "weight_norm", "pmi", "pe", "mid", "ed"}
    assert monitor(1, model) is not None and monitor.steps == [0, 1]
    with pytest.raises(ValueError, match="increase"):
        monitor.record(1, model)


def test_monitor_on_the_transformer_in_a_plain_loop():
    data = data_module.algorithmic("add", 11, 0.5)
    config = gu.Config(task="add", p=11, frac_train=0.5, d_model=16, num_heads=4, d_mlp=32)

    def run(monitor):
        torch.manual_seed(0)
        model = models.build(config, data.input_shape, data.num_classes, data.vocab_size)
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0)
        for step in range(12):
            if monitor is not None:
                monitor(step, model)
            loss = F.cross_entropy(model(data.x_train), data.y_train)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return model

    monitor = SignalMonitor(data.x_train, data.y_train, every=4, task="add")
    for a, b in zip(run(None).parameters(), run(monitor).parameters()):
        assert torch.equal(a, b)
    assert monitor.steps == [0, 4, 8]
    assert set(monitor.not_applicable) == {"nhsic", "compression_mi"}
    assert {"fourier_alignment", "abelian_agreement", "pmi", "sharpness"} <= set(monitor.history)


def test_an_undefined_value_is_nan_with_its_message():
    def undefined(model, probe):
        raise ValueError("undefined here")

    px, py, _ = probe_and_codes()
    broken = Indicator("broken", "Part V test.", (), undefined)
    monitor = SignalMonitor(px, py, indicators=[broken, "weight_norm"], every=1)
    row = monitor(0, models.MLP(36, (12, 12), 4))
    assert math.isnan(row["broken"]) and math.isfinite(row["weight_norm"])
    assert monitor.errors == {"broken": [(0, "undefined here")]}


def test_monitor_validates():
    px, py, _ = probe_and_codes()
    with pytest.raises(ValueError, match="every"):
        SignalMonitor(px, py, every=0)
    with pytest.raises(ValueError, match="increasing"):
        SignalMonitor(px, py, steps=[5, 3])
    with pytest.raises(ValueError, match="codes"):
        SignalMonitor(px, py, codes="yes")
    monitor = SignalMonitor(px, py, indicators=["weight_norm"])
    with pytest.raises(ValueError, match="non-negative"):
        monitor(-1, models.MLP(36, (12, 12), 4))
    with pytest.raises(ValueError, match="nn.Module"):
        monitor.record(0, "model")
    with pytest.raises(KeyError, match="not recorded"):
        monitor.transition("rnc1", 0)


# --------------------------------------------------------------------------- the transition rule


STEPS = [0, 100, 200, 300, 400, 500, 600]


def test_transition_by_hand():
    # fit at 100 (value 10); final 2: half of the change is 6, first reached at 400 (value 5 ≤ 6)
    values = [0, 10, 9, 7, 5, 3, 2]
    assert transition_step(STEPS, values, 100) == 400
    assert half_change_step(STEPS, values, 100) == 400
    # t_fit between evaluations: the first evaluation at or after it (200, value 9; half-way 5.5 at 400)
    assert transition_step(STEPS, values, 150) == 400
    # an increasing indicator: from 1 at t_fit to 5, half-way 3 first reached at 300
    assert transition_step(STEPS, [0, 1, 2, 3, 4, 5, 5], 100) == 300
    assert lead(500, 400) == 100.0 and lead(300, 400) == -100.0
    assert math.isnan(lead(None, 400)) and math.isnan(lead(500, None))
    assert HALF_CHANGE == 0.5 and MIN_RELATIVE_CHANGE == 0.1


def test_false_alarm_threshold():
    # range of the whole run 10 (0 → 10 while fitting); after t_fit = 100 the series moves by 0.9, 1.0 or 1.1
    noise = [0, 10, 9.8, 9.6, 9.9, 9.5, 9.1]
    assert transition_step(STEPS, noise, 100) is None  # 0.9 < 10 % of 10
    assert half_change_step(STEPS, noise, 100) == 500  # Part II's rule alone would call it a transition
    assert transition_step(STEPS, [0, 10, 9.8, 9.6, 9.9, 9.5, 9.0], 100) == 500  # exactly 10 %: it counts
    moved = [0, 10, 9.8, 9.6, 9.9, 9.5, 8.9]
    assert transition_step(STEPS, moved, 100) == 600  # half-way 9.45: 9.5 (step 500) is not yet, 8.9 is
    assert transition_step(STEPS, moved, 100, min_relative_change=0.5) is None
    with pytest.raises(ValueError, match="fraction"):
        transition_step(STEPS, moved, 100, min_relative_change=2)


def test_constant_and_degenerate_series():
    constant = [3.0] * 7
    assert transition_step(STEPS, constant, 100) is None
    assert half_change_step(STEPS, constant, 100) == 100  # Part II: t_fit for a series that does not change
    assert transition_step(STEPS, [0, 10, 9, 7, 5, 3, 2], None) is None
    assert half_change_step(STEPS, [0, 10, 9, 7, 5, 3, 2], None) is None
    assert transition_step(STEPS, [0, 10, 9, 7, 5, 3, 2], 600) is None  # one evaluation after the fit
    assert half_change_step(STEPS, [0, 10, 9, 7, 5, 3, 2], 601) is None
    # undefined values are left out
    assert transition_step(STEPS, [0, 10, math.nan, 7, 5, 3, 2], 100) == 400
    assert transition_step(STEPS, [math.nan] * 7, 100) is None
    with pytest.raises(ValueError, match="aligned"):
        transition_step(STEPS, [1, 2], 0)
    with pytest.raises(ValueError, match="increase"):
        transition_step([0, 2, 1], [1, 2, 3], 0)


class FakeResult:
    """What Part II's half_change_step reads from a Result."""

    def __init__(self, steps, values, t_fit):
        self.step_array, self.values, self.t_fit = np.asarray(steps), np.asarray(values, dtype=float), t_fit

    def __getitem__(self, metric):
        return self.values


def test_half_change_step_is_part_twos_rule():
    rng = np.random.default_rng(0)
    for trial in range(200):
        values = np.cumsum(rng.normal(size=7)) if trial % 3 else rng.integers(0, 3, 7).astype(float)
        t_fit = [None, 0, 50, 100, 250, 600, 700][trial % 7]
        result = FakeResult(STEPS, values, t_fit)
        assert half_change_step(STEPS, values, t_fit) == analysis.half_change_step(result, "x")


def test_monitor_transition_lead_and_false_alarm():
    monitor = SignalMonitor(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]), indicators=["weight_norm"])
    monitor.steps = list(STEPS)
    monitor.history = {"weight_norm": [0, 10, 9, 7, 5, 3, 2], "flat": [1, 2, 2, 2, 2, 2, 2]}
    assert monitor.transition("weight_norm", 100) == 400
    assert monitor.lead("weight_norm", 500, 100) == 100.0
    assert monitor.false_alarm("weight_norm", 100) and not monitor.false_alarm("flat", 100)
    summary = monitor.summary(100)
    assert summary["weight_norm"]["false_alarm"] and math.isnan(summary["weight_norm"]["lead"])
    assert monitor.summary(100, 500)["weight_norm"] == {"transition": 400, "lead": 100.0, "false_alarm": False}


# --------------------------------------------------------------------------- trainer adapter


def test_callback_gives_the_book_callbacks_numbers():
    data = data_module.algorithmic("add", 11, 0.5)
    config = gu.Config(task="add", p=11, frac_train=0.5, d_model=16, num_heads=4, d_mlp=32)
    torch.manual_seed(0)
    model = models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    callback = SignalCallback(record_costs=True)
    context = SimpleNamespace(model=model, data=data, config=config, step=0)
    row = callback(context)
    book = {**robustness_metrics(context), **sharpness_metrics(context)}
    for key in ("perturbation_error", "pmi", "pe", "mid", "ed", "sharpness"):
        assert row[key] == pytest.approx(book[key], rel=1e-12), key
    assert row["cost_sharpness"] > 0 and "abelian_agreement" in row
    first = callback.monitor
    callback(SimpleNamespace(model=model, data=data, config=config, step=10))
    assert callback.monitor is first and first.steps == [0, 10]
    callback(SimpleNamespace(model=model, data=data, config=config, step=0))  # a new run
    assert callback.monitor is not first and callback.monitor.steps == [0]


def test_callback_in_the_trainer():
    config = gu.Config(task="add", p=11, frac_train=0.5, d_model=16, num_heads=4, d_mlp=32, num_steps=20,
                       eval_schedule="every:10", device="cpu")
    callback = SignalCallback(indicators=["rnc1", "spectral_entropy", "fourier_alignment"])
    result = gu.train.train(config, callbacks=[callback], progress=False)
    assert result.steps == callback.monitor.steps
    assert result.history["rnc1"] == callback.monitor.history["rnc1"]
    assert len(result.history["fourier_alignment"]) == len(result.steps)


def test_registered_signals_callback_equals_the_monitor_callback_and_keeps_no_state():
    """``Config(metrics=("signals",))`` records what SignalCallback records, with ``cost_<indicator>``; a sweep
    of two seeds records each member's own values, the same as training them one by one."""
    config = gu.Config(task="add", p=11, frac_train=0.5, d_model=16, num_heads=4, d_mlp=32, num_steps=20,
                       eval_schedule="every:10", device="cpu", metrics=("signals",))
    result = gu.train.train(config, progress=False)
    callback = SignalCallback()
    reference = gu.train.train(config.replace(metrics=()), callbacks=[callback], progress=False)
    values = [key for key in callback.monitor.history if not key.startswith("cost_")]
    assert set(values) <= set(result.history) and "fourier_alignment" in values and "abelian_agreement" in values
    for key in values:
        np.testing.assert_allclose(result.history[key], reference.history[key], rtol=1e-9, equal_nan=True)
    assert all(f"cost_{name}" in result.history for name in callback.monitor.seconds)
    assert "cost_compression_mi" not in result.history  # not applicable to tokens: not recorded, not timed
    pair = gu.sweep.train_sweep([config.replace(seed=1), config.replace(seed=2)], progress=False)
    alone = gu.train.train(config.replace(seed=2), progress=False)
    np.testing.assert_allclose(pair[1].history["rnc1"], alone.history["rnc1"], rtol=1e-6)
    assert gu.metrics.REGISTRY["signals"] is gu.metrics.signals.signals_metrics
