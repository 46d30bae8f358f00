"""Metrics every chapter uses: accuracy, weight norm, representation norm.

Callbacks for the training loop take an :class:`grokutils.train.EvalContext`
and return a dict of floats; plain functions take tensors.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose arg-max logit is the label (book-wide definition; every Part,
    train/test accuracy curves of Parts I-IV)."""
    if logits.shape[0] != labels.shape[0]:
        raise ValueError(f"logits have {logits.shape[0]} rows but labels {labels.shape[0]}.")
    if labels.numel() == 0:
        raise ValueError("accuracy of an empty set is undefined; pass at least one sample.")
    return float((logits.argmax(-1) == labels).float().mean())


def weight_norm(model: nn.Module) -> float:
    """sqrt of the sum of squares of all parameters (Liu et al. 2023, Omnigrok's ‖w‖; the
    parameter norm of Part II, Figure 1 and Part III, Figure 1)."""
    return math.sqrt(sum(float(p.detach().double().pow(2).sum()) for p in model.parameters()))


@torch.no_grad()
def representation_norm(context) -> dict:
    """Mean norm of the penultimate representation h(x) on the training split
    (the scale s of Part I's RNC1; recorded as ``representation_norm``)."""
    model, x = context.model, context.data.x_train
    features = torch.cat([model.features(chunk) for chunk in x.split(8192)])
    return {"representation_norm": float(features.double().norm(dim=1).mean())}
