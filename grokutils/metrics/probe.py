"""The fixed probe sets on which training callbacks measure representations.

A probe must be the same samples at every evaluation step and must not depend on how a
split is ordered: the offline MNIST splits are sorted by class, so "the first 1,000"
would be a few classes only. :func:`probe_indices` is a seeded random subset.
"""

from __future__ import annotations

import torch


def probe_indices(num_samples: int, size: int, seed: int = 0) -> torch.Tensor:
    """``min(size, num_samples)`` distinct indices of ``range(num_samples)``, the same for a given seed."""
    if num_samples < 1 or size < 1:
        raise ValueError(f"a probe needs num_samples ≥ 1 and size ≥ 1; got {num_samples} and {size}.")
    order = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed))
    return order[:size]
