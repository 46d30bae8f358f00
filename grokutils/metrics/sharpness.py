"""Sharpness of the training loss, Tr ∇²_θ L (Tan & Huang 2023, Figure 2 c-d; Lemma 3.1, book Part II).

The trace of the Hessian of the run's own objective (:func:`grokutils.losses.objective`, mean over the
probe's samples, no weight-decay term) with respect to every parameter, estimated by Hutchinson's method
(:func:`grokutils.metrics.flatness.hutchinson_trace`: Rademacher vectors, one Hessian-vector product each)
on a fixed probe of training samples, with the same vectors at every evaluation (seed :data:`SEED`), so that
changes over training are the network's and not the estimator's. Recorded with its standard error.
"""

from __future__ import annotations

import torch

from grokutils.losses import objective
from grokutils.metrics.flatness import hutchinson_trace
from grokutils.metrics.probe import probe_indices

#: Training samples of the probe (all of Part II's 1,000 MNIST images; a seeded subset of a larger split).
PROBE_SIZE, PROBE_SEED = 1000, 0
#: Rademacher vectors per estimate, and their seed.
SAMPLES, SEED = 20, 0


def sharpness_metrics(context) -> dict:
    """Callback: ``sharpness`` (Hutchinson's Tr ∇²_θ L on the probe) and ``sharpness_se`` (its standard
    error over the :data:`SAMPLES` vectors); Part II, Figure 2 (c, d)."""
    model, data, config = context.model, context.data, context.config
    index = probe_indices(len(data.y_train), PROBE_SIZE, PROBE_SEED).to(data.y_train.device)
    x, y = data.x_train[index], data.y_train[index]
    parameters = [p for p in model.parameters() if p.requires_grad]
    generator = torch.Generator().manual_seed(SEED)
    with torch.enable_grad():
        trace, error = hutchinson_trace(lambda: objective(config, model(x), y, reduction="mean"), parameters,
                                        num_samples=SAMPLES, generator=generator)
    return {"sharpness": trace, "sharpness_se": error}
