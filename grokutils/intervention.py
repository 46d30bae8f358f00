"""Part III, claim 3: representation mixing and its norm-matched control.

**Mixing.** Within each training batch, with ``h = model.features(x)`` the penultimate
representation and ``model.head`` the final linear map (every model of
:mod:`grokutils.models` computes ``forward(x) = head(features(x))``),

    h̃_i = (1 − α) h_i + α h_{π(i)},   π(i) = (i + 1) mod B   (a cyclic shift: a derangement),

and the training loss is ½ [L(head(h), y) + L(head(h̃), y)] with the configured loss L
(:func:`grokutils.train.objective`). Evaluation never mixes. ``Config.mixing_alpha = 0``
trains exactly the baseline (the plain loss, not the ½-sum of two equal terms).

**Norm-matched control.** After every optimiser step ``t`` all parameters are multiplied by
one common factor so that their total L2 norm equals the norm the *baseline* run
(:meth:`grokutils.config.Config.baseline`: the same configuration with ``mixing_alpha = 0``)
had after the same step. The baseline records that norm after every step as its
``norm_trace`` (``metrics`` lists ``'norm_trace'``): ``trace[s]`` is the parameter norm after
``s`` steps, ``s = 0 .. num_steps``, so ``trace[s]`` equals the evaluated ``weight_norm`` at
any evaluation step ``s`` (to float32 precision).

Used by :mod:`grokutils.train` and :mod:`grokutils.sweep` (per member), and by the
intervention chapter of Part III.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from grokutils.config import Config

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ------------------------------------------------------------------- mixing
def mixing_permutation(batch_size: int) -> torch.Tensor:
    """π of Part III, claim 3: ``π(i) = (i + 1) mod B``, a derangement for ``B >= 2``."""
    if batch_size < 2:
        raise ValueError(f"mixing needs a batch of at least 2 samples (a derangement of {batch_size} "
                         "sample(s) does not exist); use a larger batch_size.")
    return torch.roll(torch.arange(batch_size), -1)


def mix(features: torch.Tensor, alpha: float | torch.Tensor) -> torch.Tensor:
    """h̃ = (1 − α) h + α h[π] along the batch (first) dimension (Part III, claim 3).

    ``alpha`` may be a 0-dim tensor (one per member under ``torch.func.vmap``).
    """
    if features.shape[0] < 2:
        mixing_permutation(features.shape[0])  # raises with the message
    return (1 - alpha) * features + alpha * torch.roll(features, -1, dims=0)


def check_head_split(model: nn.Module) -> None:
    """Raise ``ValueError`` unless ``model`` has ``features(x)`` and a ``head`` (the final
    linear map) so that its logits can be recomputed from mixed representations."""
    missing = [name for name in ("features", "head") if not callable(getattr(model, name, None))]
    if missing:
        raise ValueError(f"representation mixing (Config.mixing_alpha > 0) needs a model with "
                         f"features(x) and head(h) such that forward(x) = head(features(x)); "
                         f"{type(model).__name__} lacks {missing}.")


def mixed_loss(loss: LossFn, model: nn.Module, x: torch.Tensor, y: torch.Tensor,
               alpha: float | torch.Tensor) -> torch.Tensor:
    """½ [L(head(h), y) + L(head(h̃), y)] with h = features(x), h̃ = :func:`mix` (h, α)
    (Part III, claim 3); ``loss(logits, labels)`` is the configured training loss."""
    check_head_split(model)
    features = model.features(x)
    return 0.5 * (loss(model.head(features), y) + loss(model.head(mix(features, alpha)), y))


# ------------------------------------------------------------- norm matching
def parameter_norm(tensors: Iterable[torch.Tensor]) -> torch.Tensor:
    """Total L2 norm of ``tensors`` as a 0-dim tensor on their device (no host sync)."""
    norms = torch.stack([t.detach().norm() for t in tensors])
    return torch.linalg.vector_norm(norms.double())


def member_norms(stacked: Iterable[torch.Tensor]) -> torch.Tensor:
    """Total L2 norm of each member of stacked parameters ``(M, ...)``: a float64 ``(M,)`` tensor."""
    norms = torch.stack([t.detach().flatten(1).norm(dim=1) for t in stacked])  # (tensors, M)
    return torch.linalg.vector_norm(norms.double(), dim=0)


@torch.no_grad()
def match_norm_(tensors: list[torch.Tensor], target: torch.Tensor | float) -> None:
    """Multiply every tensor in place by one factor so that their total norm becomes ``target``
    (the norm-matched control of Part III, claim 3)."""
    factor = torch.as_tensor(target, dtype=torch.float64, device=tensors[0].device) / parameter_norm(tensors)
    for tensor in tensors:
        tensor.mul_(factor.to(tensor.dtype))


@torch.no_grad()
def match_member_norms_(stacked: list[torch.Tensor], targets: torch.Tensor, matched: torch.Tensor) -> None:
    """:func:`match_norm_` per member of stacked parameters: members where ``matched`` is True
    get total norm ``targets[m]``, the others are left exactly as they are."""
    factors = torch.where(matched, targets / member_norms(stacked), torch.ones_like(targets))
    for tensor in stacked:
        tensor.mul_(factors.to(tensor.dtype).view(-1, *[1] * (tensor.dim() - 1)))


def check_norm_trace(config: Config, trace) -> np.ndarray:
    """The baseline trace of a norm-matched ``config`` as float32, or ``ValueError`` saying what is
    wrong: it needs ``num_steps + 1`` finite positive norms (after 0, 1, ..., num_steps steps)."""
    if trace is None:
        raise ValueError(f"{config.label()} is norm-matched (Part III, claim 3) and needs the parameter norm "
                         f"of its baseline {config.baseline().label()} ({config.baseline().key()}) after every "
                         "step; pass its Result.norm_trace, or use grokutils.runs.run / run_sweep, which load "
                         "or train the baseline first.")
    trace = np.asarray(trace, dtype=np.float32)
    if trace.shape != (config.num_steps + 1,):
        raise ValueError(f"the baseline norm trace of {config.label()} has shape {trace.shape}; expected "
                         f"({config.num_steps + 1},): the norm after 0, 1, ..., num_steps={config.num_steps} steps. "
                         "(A run that stopped early after grokking, Config.stop_after_grok, has a shorter trace; "
                         "a baseline must train all num_steps.)")
    if not (np.isfinite(trace).all() and (trace > 0).all()):
        raise ValueError(f"the baseline norm trace of {config.label()} has non-finite or non-positive values; "
                         "it cannot be matched.")
    return trace
