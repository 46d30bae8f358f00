"""Part II's two "degrokking" strategies (Tan & Huang 2023, Section 3.2 and Figure 6), as training losses.

- **Input perturbation** (Figure 4): each step trains on ``x + Δ``, ``Δ ~ N(0, σ_t² I)``, with
  ``σ_t = max(λ₁ (1 − acc_t), λ₂)`` (``Config.noise_scale`` = λ₁, ``Config.noise_floor`` = λ₂): strong while the
  training set is not yet fitted, then a floor. ``x`` is the image, or the input token embeddings of the
  transformer on an algorithmic task (every position's). ``acc_t`` is the training accuracy of the run's last
  evaluation (the paper's own rule for it was lost; this one costs nothing and is the same on a resumed run);
  before the first evaluation it counts as 0. The noise of step ``t`` comes from a generator seeded with
  ``(seed, t)``, so a resumed run draws the same noise.
- **Abelian regulariser** (Figure 6): the loss plus ``c · MSE(f(a, b), f(b, a))`` over the batch's pairs, the
  mean squared difference of the logits of each pair and its swap (``Config.abelian_weight`` = c; the paper's
  c = 100), on a commutative task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from grokutils.config import Config
from grokutils.metrics import robustness

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: Multiplier of the run's seed in the seed of each step's noise generator (a large prime: steps of nearby
#: seeds do not share noise).
NOISE_SEED_STRIDE = 1_000_003


def active(config: Config) -> bool:
    """Whether ``config`` trains with one of Part II's strategies."""
    return config.noise_scale > 0 or config.noise_floor > 0 or config.abelian_weight > 0


def noise_std(config: Config, train_accuracies: Sequence[float] | None) -> float:
    """σ_t = max(λ₁ (1 − acc), λ₂), ``acc`` the last of ``train_accuracies`` (0 when there is none yet)."""
    accuracy = float(train_accuracies[-1]) if train_accuracies else 0.0
    return max(config.noise_scale * (1.0 - accuracy), config.noise_floor)


def _generator(config: Config, step: int, like: torch.Tensor) -> torch.Generator:
    return torch.Generator(device=like.device).manual_seed(config.seed * NOISE_SEED_STRIDE + step)


def perturbed_logits(config: Config, model: nn.Module, x: torch.Tensor, std: float, step: int) -> torch.Tensor:
    """The model's logits on ``x`` perturbed with noise of standard deviation ``std``, where
    :func:`grokutils.metrics.robustness.perturb_inputs` puts it (the image, or the token embeddings), drawn by
    step ``step``'s generator; differentiable."""
    if std == 0:
        return model(x)
    perturbed = robustness.perturb_inputs(model, x, std, _generator(config, step, x))
    return model(perturbed) if x.is_floating_point() else model.forward_from_embeddings(perturbed)


def strategy_loss(config: Config, loss: LossFn, model: nn.Module, x: torch.Tensor, y: torch.Tensor, step: int,
                  std: float) -> torch.Tensor:
    """The loss of one step under Part II's strategy of ``config``: the loss of the perturbed logits, plus the
    abelian regulariser when ``abelian_weight > 0``."""
    logits = perturbed_logits(config, model, x, std, step)
    value = loss(logits, y)
    if config.abelian_weight > 0:
        swapped = model(robustness.swapped_pairs(x))  # the regulariser of robustness.commutativity_penalty
        value = value + config.abelian_weight * F.mse_loss(logits.float(), swapped.float())
    return value
