"""Part IV's training callback against the metric functions it calls."""

from __future__ import annotations

import math

import pytest
import torch

import grokutils as gu
from grokutils.metrics import collapse, flatness
from grokutils.train import EvalContext


def context_and_features(**fields) -> tuple[EvalContext, torch.Tensor]:
    """A small transformer on a + b mod 11 at step 0, and its training features in float64."""
    config = gu.Config(task="add", p=11, frac_train=0.5, d_model=16, num_heads=4, d_mlp=32, **fields)
    data = gu.data.algorithmic("add", 11, 0.5)
    torch.manual_seed(0)
    model = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    with torch.no_grad():
        return EvalContext(model, data, config, step=0), model.features(data.x_train).double()


def test_callback_equals_the_functions_on_the_training_features():
    context, h = context_and_features(num_layers=2)
    model, data = context.model, context.data
    row = flatness.flatness_metrics(context)
    w, b = model.head.weight, model.head.bias
    assert row["ncc"] == pytest.approx(collapse.ncc(h, data.y_train), rel=1e-12)
    assert row["ncc_mean"] == pytest.approx(collapse.ncc_mean(h, data.y_train), rel=1e-12)
    assert row["relative_flatness"] == pytest.approx(flatness.relative_flatness(h, data.y_train, w, b), rel=1e-8)
    assert row["flatness_bound"] >= row["relative_flatness"] > 0
    deviation = (collapse.class_mean_angles(h, data.y_train) - collapse.simplex_angle(11)).abs().mean()
    assert row["angle_deviation"] == pytest.approx(float(deviation)) and math.isfinite(row["angle_deviation"])


def test_a_diverged_run_records_nan_for_every_key():
    config = gu.Config(task="add", p=11, frac_train=0.5, d_model=16, num_heads=4, d_mlp=32)
    data = gu.data.algorithmic("add", 11, 0.5)
    model = gu.models.build(config, data.input_shape, data.num_classes, data.vocab_size)
    with torch.no_grad():
        model.head.weight.fill_(float("nan"))
    row = flatness.flatness_metrics(EvalContext(model, data, config, step=0))
    assert set(row) == set(flatness.FLATNESS_KEYS) and all(math.isnan(v) for v in row.values())


def test_the_invariant_callback_is_the_quadratic_form_of_the_training_features_and_nan_once_diverged():
    context, h = context_and_features(metrics=("flatness", "flatness_invariant"))
    model, data = context.model, context.data
    row = flatness.flatness_invariant_metrics(context)
    expected = flatness.relative_flatness_quadratic(h, data.y_train, model.head.weight, model.head.bias)
    assert set(row) == set(flatness.FLATNESS_INVARIANT_KEYS) and row["flatness_quadratic"] == pytest.approx(expected)
    assert row["flatness_quadratic"] > 0
    assert gu.metrics.REGISTRY["flatness_invariant"] is flatness.flatness_invariant_metrics
    with torch.no_grad():
        model.head.weight.fill_(float("nan"))
    diverged = flatness.flatness_invariant_metrics(context)
    assert math.isnan(diverged["flatness_quadratic"])
