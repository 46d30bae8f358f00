"""The objective of every run: cross-entropy, or the squared error against one-hot targets, in the
configured precision. Training steps (:mod:`grokutils.steps`), evaluation (:mod:`grokutils.train`) and the
metrics that need the loss itself (Part II's sharpness, :mod:`grokutils.metrics.sharpness`) share it."""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from grokutils.config import Config


def objective(config: Config, logits: torch.Tensor, labels: torch.Tensor,
              reduction: str | None = None) -> torch.Tensor:
    """Training loss: cross-entropy, or MSE against one-hot targets (Part I uses
    MSE with ``reduction='sum'``: summed over classes and batch).

    With ``config.loss_dtype = 'float64'`` the logits are cast to float64 first, so that the log-softmax
    (or the squared error) and the loss are computed in double precision, as Nanda et al. (2023) do; the
    gradient flows back to the float32 model through the cast. In float32 the softmax of a logit gap above
    ln 2²⁴ ≈ 16.6 rounds the correct class's probability to exactly 1 (Prieto et al. 2025)."""
    reduction = reduction or config.loss_reduction
    if config.loss_dtype == "float64":
        logits = logits.double()
    if config.loss == "cross_entropy":
        return F.cross_entropy(logits, labels, reduction=reduction)
    targets = _identity(logits.shape[-1], logits.dtype, logits.device).index_select(0, labels)  # one-hot rows
    return F.mse_loss(logits, targets, reduction=reduction)


@functools.lru_cache(maxsize=16)
def _identity(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The identity matrix whose rows are the one-hot targets of MSE (made once per size, dtype and device:
    selecting rows is cheaper than ``F.one_hot(...).to(dtype)`` at every step, and gives the same numbers)."""
    return torch.eye(size, dtype=dtype, device=device)
