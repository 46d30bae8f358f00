"""Weight balancedness (Part I, Appendix A.4) against brute force, its invariance, and the one-step
identity of gradient descent with weight decay that makes it decay."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from grokutils import presets
from grokutils.data import load
from grokutils.metrics import REGISTRY
from grokutils.metrics.balance import (balancedness_metrics, decay_factor, decay_half_life, imbalance,
                                       neuron_imbalance)
from grokutils.models import build
from grokutils.train import EvalContext


def _pair(seed: int, sizes=(7, 5, 3)):
    g = torch.Generator().manual_seed(seed)
    lower = torch.randn(sizes[1], sizes[0], generator=g, dtype=torch.float64)
    upper = torch.randn(sizes[2], sizes[1], generator=g, dtype=torch.float64)
    return lower, upper


@pytest.mark.parametrize("seed", range(4))
def test_imbalance_matches_numpy(seed):
    lower, upper = _pair(seed)
    a, b = lower.numpy(), upper.numpy()
    d = b.T @ b - a @ a.T
    size, relative = imbalance(lower, upper)
    assert size == pytest.approx(np.linalg.norm(d), rel=1e-12)
    assert relative == pytest.approx(np.linalg.norm(d) / (np.linalg.norm(b.T @ b) + np.linalg.norm(a @ a.T)),
                                     rel=1e-12)
    assert 0 <= relative <= 1


def test_balanced_and_zero_layers():
    """W_l = U S Vᵀ and W_(l+1) = Q S Uᵀ (U, Q orthogonal, V orthonormal columns) are exactly balanced:
    both products are U S² Uᵀ. Perturbing one singular value unbalances them."""
    g = torch.Generator().manual_seed(0)
    u, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(6, 4, generator=g, dtype=torch.float64))
    q, _ = torch.linalg.qr(torch.randn(4, 4, generator=g, dtype=torch.float64))
    s = torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=torch.float64))
    lower, upper = u @ s @ v.T, q @ s @ u.T
    assert imbalance(lower, upper)[0] == pytest.approx(0, abs=1e-12)
    s[3, 3] = 0.6
    assert imbalance(lower, q @ s @ u.T)[0] == pytest.approx(0.6 ** 2 - 0.5 ** 2, rel=1e-10)
    assert imbalance(torch.zeros(4, 6), torch.zeros(3, 4)) == (0.0, 0.0)


@pytest.mark.parametrize("seed", range(3))
def test_invariant_to_a_rotation_of_the_hidden_layer(seed):
    lower, upper = _pair(seed)
    rotation, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(9)))
    assert imbalance(rotation @ lower, upper @ rotation.T)[0] == pytest.approx(imbalance(lower, upper)[0], rel=1e-10)


def test_one_step_identity_of_gradient_descent_with_weight_decay():
    """D' = (1 − η wd)² D + η² (G₂ᵀG₂ − G₁G₁ᵀ) for a linear two-layer net, exactly (float64)."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5, bias=False), nn.Linear(5, 3, bias=False)).double()
    x, y = torch.randn(20, 6, dtype=torch.float64), torch.randn(20, 3, dtype=torch.float64)
    lr, wd = 0.05, 0.3
    w1, w2 = net[0].weight.detach().clone(), net[1].weight.detach().clone()
    nn.functional.mse_loss(net(x), y).backward()
    g1, g2 = net[0].weight.grad.clone(), net[1].weight.grad.clone()
    torch.optim.SGD(net.parameters(), lr=lr, weight_decay=wd).step()
    before = w2.T @ w2 - w1 @ w1.T
    predicted = (1 - lr * wd) ** 2 * before + lr ** 2 * (g2.T @ g2 - g1 @ g1.T)
    after = net[1].weight.T @ net[1].weight - net[0].weight @ net[0].weight.T
    assert torch.allclose(after, predicted, atol=1e-12)


def test_weight_decay_alone_shrinks_the_imbalance_by_the_closed_form():
    torch.manual_seed(1)
    lower, upper = (nn.Parameter(w) for w in _pair(3))
    optimizer = torch.optim.SGD([lower, upper], lr=0.1, weight_decay=0.2)
    start = imbalance(lower, upper)[0]
    for _ in range(50):  # a zero loss: only the decay acts
        optimizer.zero_grad()
        (0 * (lower.sum() + upper.sum())).backward()
        optimizer.step()
    assert imbalance(lower, upper)[0] == pytest.approx(start * decay_factor(0.1, 0.2, 50), rel=1e-10)


def test_neuron_imbalance_is_conserved_through_relu_by_small_steps():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    x, y = torch.randn(40, 6, dtype=torch.float64), torch.randn(40, 3, dtype=torch.float64)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-4)

    def per_neuron():
        lower, upper = net[0], net[2]
        return upper.weight.pow(2).sum(0) - lower.weight.pow(2).sum(1) - lower.bias.pow(2)

    with torch.no_grad():
        start, loss_start = per_neuron().clone(), float(nn.functional.mse_loss(net(x), y))
    for _ in range(200):
        optimizer.zero_grad()
        nn.functional.mse_loss(net(x), y).backward()
        optimizer.step()
    assert float(nn.functional.mse_loss(net(x), y)) < loss_start  # it trained
    assert torch.allclose(per_neuron(), start, atol=1e-6)
    assert neuron_imbalance(net[0].weight, net[2].weight, net[0].bias) == pytest.approx(float(start.abs().max()),
                                                                                      abs=1e-6)


@pytest.mark.parametrize("lower, upper, words", [
    (torch.zeros(4), torch.zeros(3, 4), "2-D"),
    (torch.zeros(4, 6), torch.zeros(3, 5), "does not follow"),
    (torch.full((4, 6), float("nan")), torch.zeros(3, 4), "non-finite"),
])
def test_bad_weights_are_refused(lower, upper, words):
    with pytest.raises(ValueError, match=words):
        imbalance(lower, upper)


def test_callback_on_the_theorem_network():
    config = presets.collapse_theory("smoke")[0].replace(metrics=("balancedness",))
    data = load(config)
    model = build(config, data.input_shape, data.num_classes)
    row = REGISTRY["balancedness"](EvalContext(model, data, config, 0))
    assert row == balancedness_metrics(EvalContext(model, data, config, 0))
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 3 and {"imbalance_1", "imbalance_2", "neuron_imbalance_2"} <= set(row)
    assert row["imbalance"] == pytest.approx(imbalance(linears[1].weight, linears[2].weight)[0])
    with pytest.raises(ValueError, match="at least two linear layers"):
        balancedness_metrics(EvalContext(nn.Sequential(nn.Linear(2, 2)), data, config, 0))


def test_half_life_is_where_the_decay_factor_is_one_half():
    steps = decay_half_life(0.5, 6e-4)
    assert decay_factor(0.5, 6e-4, 1) ** steps == pytest.approx(0.5, rel=1e-12)
    assert steps == pytest.approx(math.log(2) / (2 * 0.5 * 6e-4), rel=1e-3)
    with pytest.raises(ValueError, match="must lie in"):
        decay_half_life(0.5, 0.0)
