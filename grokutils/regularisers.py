"""Part IV's training interventions (Han et al. 2025, "Flatness is Necessary, Neural Collapse is Not"), as losses.

Both read the model's penultimate features φ = ``model.features(x)`` of the step's batch and its last layer
``model.head`` (weights w with rows w_c, one per class), with the logits ``model.head(φ)``: the same numbers as
``model(x)``, which every model of the book computes as ``head(features(x))``.

- **NCC regulariser** (Section 5, ``Config.ncc_weight`` = λ; the paper's λ = 1e-3, ablation 1e-2 … 1e-6): the
  loss minus λ · NCC of the batch, :func:`batch_ncc`, which *raises* NCC (suppresses neural collapse). The NCC
  is the authors' averaged form (:data:`REGULARISER_NCC_AVERAGED`): their λ was set with their code, and the
  paper's sum form of Definition 3.1 is K(K − 1)·n_c times larger (≈ 580 × at batch 64 with 10 classes), which
  made the MNIST MLP's loss diverge within 80 steps at λ = 1e-3 (measured before any stored run).
- **Flatness regulariser** (Section 6, ``Config.flatness_weight`` = λ; the paper's λ = 1e-4): the loss minus
  λ · κ of the batch, :func:`batch_relative_flatness`, which pushes towards sharp minima; from step
  ``Config.unplug_step`` on it is removed ("unplugged"), and the step minimises the loss alone.

The loss is the run's objective (:func:`grokutils.losses.objective`); the regulariser is computed in its
precision (float64 with ``loss_dtype='float64'``), whatever ``loss_reduction``. Neither keeps any state: a step's
loss depends on the parameters, the step's batch and the step number only, so a resumed run trains the same
steps (:mod:`grokutils.train`'s checkpoints hold nothing more for them).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from grokutils.config import Config

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: The NCC the regulariser subtracts: the authors' averaged form (class-mean variances, mean over the ordered
#: pairs of classes present), :func:`grokutils.metrics.collapse.ncc_mean` of the batch.
REGULARISER_NCC_AVERAGED = True


def active(config: Config) -> bool:
    """Whether ``config`` trains with one of Part IV's regularisers (at some step)."""
    return config.ncc_weight > 0 or config.flatness_weight > 0


def baseline(config: Config) -> Config:
    """The unregularised run that a regularised one is compared with: the same configuration without Part IV's
    regulariser (``ncc_weight = flatness_weight = 0``, ``unplug_step = None``)."""
    return config.replace(ncc_weight=0.0, flatness_weight=0.0, unplug_step=None)


def applies(config: Config, step: int) -> bool:
    """Whether step ``step`` (counted from 0) trains with the regulariser: any step of an NCC run, the steps
    before ``unplug_step`` of a flatness run (all of them when ``unplug_step`` is None)."""
    if config.ncc_weight > 0:
        return True
    return config.flatness_weight > 0 and (config.unplug_step is None or step < config.unplug_step)


def batch_ncc(features: torch.Tensor, labels: torch.Tensor, num_classes: int, averaged: bool = False) -> torch.Tensor:
    """NCC of a batch, differentiable: Σ_{c≠c′} (V_c + V_c′) / (2 ‖μ_c − μ_c′‖²) (Han et al. 2025, Definition 3.1,
    the paper's sum form: V_c = Σ_{i: y_i = c} ‖φ_i − μ_c‖², the sum over ordered pairs of classes); with
    ``averaged`` the authors' form, V_c / n_c and the mean over the ordered pairs present
    (:func:`grokutils.metrics.collapse.ncc_mean` of the batch).

    ``features`` (N, d), integer ``labels`` (N,) in ``0..num_classes − 1``. The classes are those present in the
    batch: a class with no sample in it has no mean and enters no pair, so the value is exactly
    :func:`grokutils.metrics.collapse.ncc` of the batch's features and labels (tested), and a batch missing
    classes gives no NaN. Where the metric refuses, this returns a finite value with a finite gradient: a batch
    with fewer than two classes gives 0 (no pair), and a pair whose class means coincide exactly (e.g. all
    features 0) contributes 0 (the metric: ``ValueError``, an infinite ratio). Computed in the dtype of
    ``features`` by one-hot matrix products over all ``num_classes`` classes: no host synchronisation, and the
    same numbers on every run of a GPU (no atomic additions); distances from differences, which keep their
    digits as the class means draw together (what −λ·NCC drives them to)."""
    onehot = F.one_hot(labels, num_classes).to(features.dtype)  # (N, C)
    counts = onehot.sum(0)
    means = (onehot.T @ features) / counts.clamp(min=1).unsqueeze(1)  # μ_c; 0 for an absent class
    deviations = features - onehot @ means  # φ_i − μ_{y_i}
    variances = onehot.T @ deviations.pow(2).sum(1)  # V_c, summed over the class
    if averaged:
        variances = variances / counts.clamp(min=1)
    distances = (means.unsqueeze(1) - means.unsqueeze(0)).pow(2).sum(-1)  # ‖μ_c − μ_c′‖²
    present = counts > 0
    off_diagonal = ~torch.eye(num_classes, dtype=torch.bool, device=features.device)
    pairs = present.unsqueeze(1) & present.unsqueeze(0) & off_diagonal & (distances > 0)
    ratios = (variances.unsqueeze(1) + variances.unsqueeze(0)) / (2 * torch.where(pairs, distances, 1.0))
    total = torch.where(pairs, ratios, 0.0).sum()
    if not averaged:
        return total
    present_pairs = present.sum() * (present.sum() - 1)
    return total / present_pairs.clamp(min=1).to(total.dtype)


def batch_relative_flatness(features: torch.Tensor, logits: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Relative flatness κ of the last layer on a batch, differentiable (Han et al. 2025, Definition 3.2; Petzka
    et al. 2021): κ = Σ_{s,s′} ⟨w_s, w_s′⟩ Tr H_{s,s′} for the mean softmax cross-entropy of the batch, in closed
    form κ = (1/N) Σ_i ‖φ_i‖² · ½ Σ_{s,t} p_is p_it ‖w_s − w_t‖², p_i = softmax(logits_i).

    ``features`` φ (N, d), ``logits`` (N, C) = φ wᵀ + b, ``weight`` w (C, d). The pairwise form is a sum of
    non-negative terms (Σ_s G_ss p_s − pᵀ G p, G = w wᵀ, cancels when the softmax saturates), the value of
    :func:`grokutils.metrics.flatness.relative_flatness_closed_form` on the same numbers (tested). The gradient
    flows through φ, p and w alike. Computed in the dtype of the arguments."""
    probabilities = logits.softmax(-1)
    distances = (weight.unsqueeze(1) - weight.unsqueeze(0)).pow(2).sum(-1)  # ‖w_s − w_t‖², from differences
    spread = 0.5 * ((probabilities @ distances) * probabilities).sum(1)
    return (spread * features.pow(2).sum(1)).mean()


def penalty(config: Config, features: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor,
            weight: torch.Tensor) -> torch.Tensor:
    """The measure the run's regulariser subtracts λ times: NCC of the batch (``ncc_weight > 0``) or κ
    (``flatness_weight > 0``), in the loss's precision (``Config.loss_dtype``)."""
    dtype = torch.float64 if config.loss_dtype == "float64" else features.dtype
    if config.ncc_weight > 0:
        return batch_ncc(features.to(dtype), labels, logits.shape[-1], averaged=REGULARISER_NCC_AVERAGED)
    return batch_relative_flatness(features.to(dtype), logits.to(dtype), weight.to(dtype))


def regularised_loss(config: Config, loss: LossFn, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                     step: int) -> torch.Tensor:
    """The loss of step ``step`` under Part IV's regulariser of ``config``: ``loss(logits, y) − λ · NCC`` or
    ``loss(logits, y) − λ · κ`` (:func:`penalty`) on the batch ``x``, ``y``; once a flatness regulariser is
    unplugged (``step >= unplug_step``), ``loss(model(x), y)``, the unregularised step."""
    if not applies(config, step):
        return loss(model(x), y)
    features = model.features(x)
    logits = model.head(features)
    weight = config.ncc_weight if config.ncc_weight > 0 else config.flatness_weight
    return loss(logits, y) - weight * penalty(config, features, logits, y, model.head.weight)
