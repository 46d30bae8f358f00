"""Fourier metrics of token embeddings for modular-arithmetic tasks (Part III).

Plain functions take a ``(p, d)`` embedding tensor (rows = tokens 0..p−1; extra rows,
such as the ``'='`` token, are ignored: only the first ``p`` rows are used) and work in
float64 whatever the input dtype. :func:`fourier_metrics` is a training-loop callback in
the style of :mod:`grokutils.metrics.basic`.

* :func:`fourier_alignment` — Part III claim 7 (*Spectral Entropy Collapse…*, 2026): for
  each frequency ω = 1..⌊p/2⌋, the largest |Pearson r| between any embedding column and
  cos(2πωa/p) or sin(2πωa/p) over a = 0..p−1.
* :func:`key_frequencies` / :func:`fourier_power` — Nanda et al. (2023), *Progress measures
  for grokking*: the DFT of the embedding over the token axis, power per frequency summed
  over embedding dimensions.

Conventions (tested in ``tests/test_metrics_fourier.py``):

* The correlation of a constant vector (an embedding column, or sin(πa) at ω = p/2 for
  even p) with anything is defined as 0, not NaN.
* Invalid inputs (not 2-D, fewer than ``p`` rows, ``p < 3``, NaN or infinite entries)
  raise :class:`ValueError`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

#: Algorithmic tasks whose tokens 0..p−1 are residues mod p.
MODULAR_TASKS = ("add", "sub", "mul", "div")

#: Number of key frequencies whose share of power the callback records.
TOP_FREQUENCIES = 5

# A centred vector whose norm is below this fraction of its scale counts as constant.
_CONSTANT_RTOL = 1e-12


def _embedding_rows(embedding: torch.Tensor, p: int) -> torch.Tensor:
    if isinstance(p, bool) or not isinstance(p, int):
        raise ValueError(f"p must be an int, got {p!r}.")
    if p < 3:
        raise ValueError(f"p must be at least 3 (one non-zero frequency), got p = {p}.")
    if not isinstance(embedding, torch.Tensor):
        embedding = torch.as_tensor(embedding)
    if embedding.ndim != 2:
        raise ValueError(f"embedding must be a 2-D (tokens × d) tensor, got shape {tuple(embedding.shape)}.")
    if embedding.shape[0] < p:
        raise ValueError(f"embedding has {embedding.shape[0]} rows but p = {p} tokens are needed.")
    if embedding.shape[1] < 1:
        raise ValueError("embedding has zero columns (d = 0).")
    e = embedding.detach()[:p].to(torch.float64)
    if torch.isnan(e).any():
        raise ValueError("embedding contains NaN values; Fourier metrics need finite inputs.")
    if torch.isinf(e).any():
        raise ValueError("embedding contains infinite values; Fourier metrics need finite inputs.")
    return e


def _unit_centred(x: torch.Tensor) -> torch.Tensor:
    """Centre the columns of ``x`` and scale them to unit norm; constant columns become 0."""
    centred = x - x.mean(dim=0, keepdim=True)
    norms = centred.norm(dim=0)
    scale = x.abs().amax(dim=0) * math.sqrt(x.shape[0])
    constant = norms <= _CONSTANT_RTOL * scale
    return torch.where(constant, torch.zeros_like(centred), centred / torch.where(constant, 1.0, norms))


def fourier_alignment(embedding: torch.Tensor, p: int) -> torch.Tensor:
    """Per-frequency Fourier alignment of an embedding (Part III claim 7, *Spectral Entropy
    Collapse…*, 2026).

    Entry ω − 1 (ω = 1..⌊p/2⌋) is max over columns j and basis b ∈ {cos, sin} of
    |Pearson r(E[:, j], b(2πωa/p))|, a = 0..p−1. Returns a float64 tensor of length ⌊p/2⌋
    with values in [0, 1]. Constant columns (and the constant sin(πa) at ω = p/2) have
    correlation 0 by definition.
    """
    e = _unit_centred(_embedding_rows(embedding, p))
    a = torch.arange(p, dtype=torch.float64)
    omegas = torch.arange(1, p // 2 + 1, dtype=torch.float64)
    angles = 2 * math.pi * torch.outer(a, omegas) / p  # (p, ⌊p/2⌋)
    basis = _unit_centred(torch.cat([torch.cos(angles), torch.sin(angles)], dim=1))
    r = (basis.T @ e).abs().clamp_max(1.0)  # (2·⌊p/2⌋, d)
    per_basis = r.amax(dim=1)
    half = p // 2
    return torch.maximum(per_basis[:half], per_basis[half:])


def mean_fourier_alignment(embedding: torch.Tensor, p: int) -> float:
    """Mean of :func:`fourier_alignment` over ω = 1..⌊p/2⌋ (Part III claim 7)."""
    return float(fourier_alignment(embedding, p).mean())


def _power(embedding: torch.Tensor, p: int) -> torch.Tensor:
    e = _embedding_rows(embedding, p)
    spectrum = torch.fft.rfft(e, dim=0)  # (⌊p/2⌋ + 1, d)
    return spectrum.abs().pow(2).sum(dim=1)[1:]  # ω = 1..⌊p/2⌋


def fourier_power(embedding: torch.Tensor, p: int) -> torch.Tensor:
    """Normalised DFT power per frequency ω = 1..⌊p/2⌋ (Nanda et al. 2023; Part III, claim 7).

    ``torch.fft.rfft`` over the token axis, |X_ω|² summed over embedding dimensions,
    divided by the total over ω ≥ 1 (ω = 0, the mean, is excluded). Float64, sums to 1.
    Raises :class:`ValueError` when every column is constant (no non-zero-frequency power).
    """
    power = _power(embedding, p)
    total = float(power.sum())
    e = _embedding_rows(embedding, p)
    if total <= 0.0 or total <= (_CONSTANT_RTOL ** 2) * float(e.pow(2).sum()) * p:
        raise ValueError("embedding is constant over tokens: its Fourier power (ω ≥ 1) is zero.")
    return power / total


def key_frequencies(embedding: torch.Tensor, p: int, top: int = 5) -> list[int]:
    """The ``top`` frequencies ω ∈ 1..⌊p/2⌋ with the largest DFT power of the embedding
    (Nanda et al. 2023's key frequencies; Part III, claim 7 and the quick-start chapter), as ints sorted by
    power descending (ties: lower ω first)."""
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= p // 2:
        raise ValueError(f"top must be an int in 1..{p // 2} (= p // 2), got {top!r}.")
    power = fourier_power(embedding, p)
    order = torch.sort(power, descending=True, stable=True).indices[:top]
    return [int(i) + 1 for i in order]


@torch.no_grad()
def fourier_metrics(context) -> dict:
    """Training callback (Part III): Fourier structure of the token embedding.

    For modular tasks (``config.task`` in ``add``/``sub``/``mul``/``div``) and a model with
    an ``nn.Embedding`` ``.embed``, uses the first ``p`` rows of ``model.embed.weight`` and
    records ``fourier_alignment`` (:func:`mean_fourier_alignment`) and ``fourier_top_power``
    (share of :func:`fourier_power` in the top 5 frequencies). Returns ``{}`` otherwise.
    """
    config, model = context.config, context.model
    if getattr(config, "task", None) not in MODULAR_TASKS:
        return {}
    embed = getattr(model, "embed", None)
    if not isinstance(embed, nn.Embedding):
        return {}
    p = int(config.p)
    weight = embed.weight
    power = fourier_power(weight, p)
    k = min(TOP_FREQUENCIES, p // 2)
    return {
        "fourier_alignment": mean_fourier_alignment(weight, p),
        "fourier_top_power": float(power.sort(descending=True).values[:k].sum()),
    }
