"""Input checks shared by the metric families: clear errors, never a silent NaN."""

from __future__ import annotations

import torch


def finite_float64(x, name: str, family: str) -> torch.Tensor:
    """``x`` detached as a float64 tensor; ``ValueError`` naming ``name`` if it has NaN or inf."""
    x = torch.as_tensor(x).detach().to(torch.float64)
    if torch.isnan(x).any():
        raise ValueError(f"{name} contains NaN values; {family} metrics need finite inputs.")
    if torch.isinf(x).any():
        raise ValueError(f"{name} contains infinite values; {family} metrics need finite inputs.")
    return x
