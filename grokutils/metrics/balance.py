"""Weight balancedness of consecutive layers (Part I, Appendix A.4: Proposition A.6, Corollary A.7,
Proposition A.8, after Jacot et al. 2025, Theorem B.1).

For layers ``W_l`` (``n_l × n_{l-1}``) and ``W_{l+1}`` (``n_{l+1} × n_l``) the *imbalance* is

    D_l = W_{l+1}ᵀ W_{l+1} − W_l W_lᵀ          (an ``n_l × n_l`` matrix).

Gradient flow on linear layers keeps ``D_l`` constant; weight decay λ (gradient ``wd·θ``) shrinks it:
one gradient-descent step with learning rate η gives exactly ``D' = (1 − η wd)² D + η² (G_{l+1}ᵀG_{l+1} −
G_l G_lᵀ)`` (the cross terms cancel), so ``‖D‖`` decays like ``(1 − η wd)^{2t}`` while gradients are small.
Proposition A.6 needs ``‖D_l‖`` small ("approximate balancedness") before the fit of the output is passed on
to the representation: the route by which weight decay sets t_RNC1 in Theorem 4.3.

Between nonlinear layers only the diagonal is conserved, and only for positively homogeneous activations
with the bias included (Du, Hu & Lee 2018): ``‖W_{l+1}[:, i]‖² − ‖W_l[i, :]‖² − b_l[i]²`` per neuron. Both
are reported; neither is the paper's claim on its own, so the chapter reports them beside the verdicts.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _check_pair(lower: torch.Tensor, upper: torch.Tensor) -> None:
    for name, weight in (("lower", lower), ("upper", upper)):
        if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
            got = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
            raise ValueError(f"imbalance: {name} must be a 2-D weight matrix, got {got}.")
        if not torch.isfinite(weight).all():
            raise ValueError(f"imbalance: {name} has non-finite entries; pass the weights of a finite network.")
    if upper.shape[1] != lower.shape[0]:
        raise ValueError(f"imbalance: upper {tuple(upper.shape)} does not follow lower {tuple(lower.shape)}; "
                         "upper's columns must equal lower's rows (W_l is n_l × n_(l-1), W_(l+1) is n_(l+1) × n_l).")


def imbalance(lower: torch.Tensor, upper: torch.Tensor) -> tuple[float, float]:
    """``(‖D‖_F, ‖D‖_F / (‖W_{l+1}ᵀW_{l+1}‖_F + ‖W_l W_lᵀ‖_F))`` for ``D = upperᵀ upper − lower lowerᵀ``,
    in float64. The relative value lies in [0, 1] (0: balanced); it is 0 when both layers are zero."""
    _check_pair(lower, upper)
    lower, upper = lower.detach().double(), upper.detach().double()
    outer, inner = upper.T @ upper, lower @ lower.T
    size = float(torch.linalg.matrix_norm(outer - inner))
    scale = float(torch.linalg.matrix_norm(outer)) + float(torch.linalg.matrix_norm(inner))
    return size, (size / scale if scale > 0 else 0.0)


def neuron_imbalance(lower: torch.Tensor, upper: torch.Tensor, bias: torch.Tensor | None = None) -> float:
    """``max_i |‖W_{l+1}[:, i]‖² − ‖W_l[i, :]‖² − b_l[i]²|``: the per-neuron quantity that gradient flow
    conserves across a positively homogeneous activation (ReLU), in float64."""
    _check_pair(lower, upper)
    gap = upper.detach().double().pow(2).sum(0) - lower.detach().double().pow(2).sum(1)
    if bias is not None:
        if bias.shape != (lower.shape[0],):
            raise ValueError(f"neuron_imbalance: bias has shape {tuple(bias.shape)}, expected ({lower.shape[0]},).")
        gap = gap - bias.detach().double().pow(2)
    return float(gap.abs().max())


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` layers of a model, in the order they are applied (an MLP's body, then its head)."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if len(layers) < 2:
        raise ValueError(f"balancedness needs at least two linear layers; {type(model).__name__} has {len(layers)}.")
    return layers


@torch.no_grad()
def balancedness_metrics(context) -> dict:
    """Callback: for each pair of consecutive linear layers ``l = 1 … L−1`` (``l = L−1``: the head and the
    layer below it, the pair of Proposition A.6), ``imbalance_l`` (‖D_l‖_F), ``imbalance_relative_l`` and
    ``neuron_imbalance_l``; ``imbalance`` and ``imbalance_relative`` repeat the head's pair."""
    layers = linear_layers(context.model)
    row = {}
    for index, (lower, upper) in enumerate(zip(layers, layers[1:]), start=1):
        size, relative = imbalance(lower.weight, upper.weight)
        row[f"imbalance_{index}"], row[f"imbalance_relative_{index}"] = size, relative
        row[f"neuron_imbalance_{index}"] = neuron_imbalance(lower.weight, upper.weight, lower.bias)
    last = len(layers) - 1
    row["imbalance"], row["imbalance_relative"] = row[f"imbalance_{last}"], row[f"imbalance_relative_{last}"]
    return row


def decay_factor(lr: float, weight_decay: float, steps: int) -> float:
    """``(1 − lr·wd)^(2·steps)``: the factor by which weight decay alone shrinks ‖D‖ in ``steps`` steps of
    gradient descent (the module docstring's one-step identity, gradients neglected)."""
    return math.exp(2 * steps * math.log1p(-lr * weight_decay))


def decay_half_life(lr: float, weight_decay: float) -> float:
    """Steps after which weight decay alone halves ‖D‖: ``ln 2 / (−2 ln(1 − lr·wd))`` (≈ ln 2 / (2 η wd))."""
    if not 0 < lr * weight_decay < 1:
        raise ValueError(f"decay_half_life: lr × weight_decay = {lr * weight_decay!r} must lie in (0, 1).")
    return math.log(2) / (-2 * math.log1p(-lr * weight_decay))
