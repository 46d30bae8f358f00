"""Part II's sharpness callback (grokutils.metrics.sharpness) against the exact Hessian trace of a tiny
network, its reproducibility, and its closed form for a linear model under the squared error."""

import torch

import grokutils as gu
from grokutils.losses import objective
from grokutils.metrics.flatness import exact_hessian_trace
from grokutils.metrics.sharpness import SAMPLES, sharpness_metrics
from grokutils.train import EvalContext

TINY = gu.presets.omnigrok_mnist("smoke").replace(widths=(6,), num_train=300)


def _context(config):
    data = gu.data.load(config)
    torch.manual_seed(config.seed)
    model = gu.models.build(config, data.input_shape, data.num_classes)
    return model, data, EvalContext(model, data, config, 0)


def test_the_estimate_holds_the_exact_trace_within_its_error():
    """A network small enough for the exact trace (one Hessian-vector product per parameter)."""
    data = gu.data.load(TINY)
    torch.manual_seed(1)
    small = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 3), torch.nn.ReLU(), torch.nn.Linear(3, 10))
    estimate = sharpness_metrics(EvalContext(small, data, TINY, 0))
    index = gu.metrics.probe.probe_indices(len(data.y_train), 1000, 0)
    x, y = data.x_train[index], data.y_train[index]
    exact = exact_hessian_trace(lambda: objective(TINY, small(x), y, reduction="mean"), list(small.parameters()))
    assert estimate["sharpness_se"] > 0
    assert abs(estimate["sharpness"] - exact) <= 4 * estimate["sharpness_se"], (estimate, exact)


def test_the_same_vectors_at_every_evaluation():
    _, _, context = _context(TINY)
    assert sharpness_metrics(context) == sharpness_metrics(context)


def test_a_linear_model_under_the_squared_error_has_the_closed_form_trace():
    """For f(x) = W x + b and L = mean over N samples and C classes of (f − onehot)², the Hessian is
    constant, (2 / NC) I_C ⊗ Σ_i x̃_i x̃_iᵀ with x̃ = (x, 1): Tr = 2 (mean ‖x‖² + 1)."""
    data = gu.data.load(TINY)
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    row = sharpness_metrics(EvalContext(linear, data, TINY, 0))
    index = gu.metrics.probe.probe_indices(len(data.y_train), 1000, 0)
    closed_form = 2 * (float(data.x_train[index].flatten(1).double().pow(2).sum(1).mean()) + 1)
    assert abs(row["sharpness"] - closed_form) <= 4 * row["sharpness_se"], (row, closed_form)
    assert row["sharpness_se"] < 0.05 * closed_form and SAMPLES >= 2
