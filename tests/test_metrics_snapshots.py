"""Representation snapshots (Part I, Figure 2) and the held-out Theorem 3.2 callback."""

from __future__ import annotations

import json
import math

import pytest
import torch

import grokutils as gu
from grokutils.metrics import collapse, snapshots
from grokutils.result import Result
from grokutils.train import EvalContext


def small_image_data(n_train=100, n_test=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n_train + n_test) % 10
    x = torch.randn(n_train + n_test, 1, 28, 28, generator=g) + y[:, None, None, None] * 0.3
    return gu.data.Dataset(x[:n_train], y[:n_train], x[n_train:], y[n_train:], num_classes=10)


def test_snapshot_steps_are_evaluation_steps_near_the_fractions():
    config = gu.presets.collapse_mnist("paper")
    steps = snapshots.snapshot_steps(config)
    evals = set(gu.config.eval_steps(config.eval_schedule, config.num_steps))
    assert steps[0] == 0 and steps[-1] == config.num_steps and set(steps) <= evals
    assert any(abs(s - 16_000) <= 400 for s in steps)  # the paper's overfitting snapshot


def test_margins_are_negative_exactly_for_wrong_predictions():
    logits = torch.tensor([[3.0, 1.0, 0.0], [0.0, 2.0, 5.0], [1.0, 1.5, 0.0]])
    labels = torch.tensor([0, 1, 1])
    assert snapshots.margins(logits, labels).tolist() == [2.0, -3.0, 0.5]


def test_class_mean_plane_is_orthonormal_and_spans_two_separated_means():
    features = torch.tensor([[1.0, 0, 0], [1.0, 0, 0], [0, 2.0, 0], [0, 2.0, 0]], dtype=torch.float64)
    plane = snapshots.class_mean_plane(features, torch.tensor([0, 0, 1, 1]))
    assert torch.allclose(plane.T @ plane, torch.eye(2, dtype=torch.float64), atol=1e-10)
    direction = torch.tensor([1.0, -2.0, 0], dtype=torch.float64) / math.sqrt(5)
    assert abs(float(plane[:, 0] @ direction)) == pytest.approx(1.0, abs=1e-10)


def test_snapshot_callback_records_only_at_snapshot_steps_and_round_trips_through_json():
    config = gu.presets.collapse_mnist("smoke").replace(widths=(16, 16), metrics=("snapshots",), eval_schedule="paper")
    data = small_image_data()
    model = gu.models.build(config, data.input_shape, 10)
    chosen = snapshots.snapshot_steps(config)
    off = next(s for s in gu.config.eval_steps(config.eval_schedule, config.num_steps) if s not in chosen)
    assert snapshots.representation_snapshots(EvalContext(model, data, config, off)) == {"snapshot": None}
    snap = snapshots.representation_snapshots(EvalContext(model, data, config, chosen[-1]))["snapshot"]
    assert len(snap["train_xy"]) == len(data.x_train) and len(snap["test_xy"]) == 200
    assert len(snap["test_margin_quantiles"]) == 99 and 0.0 <= snap["test_error"] <= 1.0
    quantiles = snap["test_margin_quantiles"]
    assert quantiles == sorted(quantiles)
    result = Result(config, [off, chosen[-1]], {"snapshot": [None, snap]})
    assert Result.from_json(result.to_json()).snapshots() == {chosen[-1]: json.loads(json.dumps(snap))}


def test_training_with_snapshots_stores_them_at_the_chosen_steps():
    config = gu.presets.collapse_mnist("smoke").replace(widths=(16, 16), num_steps=30, eval_schedule="every:10",
                                                       metrics=("snapshots", "population"))
    result = gu.train.train(config, small_image_data(), progress=False)
    assert sorted(result.snapshots()) == snapshots.snapshot_steps(config)
    assert all(math.isfinite(v) for v in result["margin_bound_test"])


def test_population_callback_bounds_the_test_error_of_a_separable_problem():
    data = small_image_data()
    config = gu.presets.collapse_mnist("smoke")
    model = gu.models.MLP(784, (32,), 10)
    row = collapse.population_metrics(EvalContext(model, data, config, 0))
    logits = model(data.x_test)
    error = float((logits.argmax(1) != data.y_test).float().mean())
    assert row["margin_bound_test"] >= error
    assert set(row) == {"margin_bound_train", "margin_bound_test", "test_rnc1", "test_nc1", "test_nc2"}
