"""Reference solutions of the exercises of Parts I–IV, written plainly and independently of
:mod:`grokutils.metrics` and :mod:`grokutils.forecast` (loops over classes and evaluations, no shared helper),
so that each check compares two separate implementations of one formula.

A notebook switches to them with ``papermill -p solutions True``; ``gu.exercises.show_solution(name)`` shows
one's source.
"""

from __future__ import annotations

import math

import torch


def rnc1(features, labels):
    """Part I (Sato & Sakamoto 2025): RNC1 = tr Σ_W / s², tr Σ_W = (1/N) Σ_i ‖h_i − μ_{y_i}‖², s = (1/N) Σ_i ‖h_i‖."""
    h = features.double()
    within = 0.0
    for c in labels.unique():
        members = h[labels == c]
        within += float(((members - members.mean(dim=0)) ** 2).sum())
    within /= h.shape[0]
    if within == 0.0:
        return 0.0  # collapsed, or every feature zero (s = 0): nothing to collapse
    s = float(h.norm(dim=1).mean())
    return within / s**2


def nc1(features, labels):
    """Part I (Sato & Sakamoto 2025): NC1 = tr Σ_W / tr Σ_B, tr Σ_B = Σ_c (n_c/N) ‖μ_c − μ_G‖²."""
    h = features.double()
    n = h.shape[0]
    global_mean = h.mean(dim=0)
    within = between = 0.0
    for c in labels.unique():
        members = h[labels == c]
        class_mean = members.mean(dim=0)
        within += float(((members - class_mean) ** 2).sum()) / n
        between += len(members) / n * float(((class_mean - global_mean) ** 2).sum())
    if within == 0.0:
        return 0.0  # nothing to collapse, even when every class mean coincides
    if between == 0.0:
        return math.inf  # spread within classes, none between them
    return within / between


def commutativity_penalty(model, tokens):
    """Part II (Tan & Huang 2023): the abelian regulariser's penalty, the mean over pairs and classes of
    (f(a, b) − f(b, a))², as a differentiable tensor."""
    swapped = tokens.clone()
    swapped[:, 0], swapped[:, 1] = tokens[:, 1], tokens[:, 0]
    return ((model(tokens) - model(swapped)) ** 2).mean()


def perturbation_error(model, x, sigma, generator=None):
    """Part II (Tan & Huang 2023): E ‖f(x + ε) − f(x)‖², ε ~ N(0, σ² I), over the rows of x (one draw of ε)."""
    with torch.no_grad():
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype)
        difference = model(x + sigma * noise).double() - model(x).double()
    return float((difference**2).flatten(start_dim=1).sum(dim=1).mean())


def spectral_entropy(features):
    """Part III (Khanh et al. 2026): H̃ = −Σ_i p_i log(p_i + 1e-12) / log d, p_i = λ_i / Σ_j λ_j, λ the
    eigenvalues of the covariance (1/n) Σ_i (z_i − z̄)(z_i − z̄)ᵀ."""
    z = features.double()
    centred = z - z.mean(dim=0)
    covariance = centred.T @ centred / z.shape[0]
    eigenvalues = torch.linalg.eigvalsh(covariance).clamp(min=0.0)  # round-off can make them slightly negative
    d = eigenvalues.numel()
    if d == 1:
        return 1.0  # log d = 0: one eigenvalue is isotropic by convention
    p = eigenvalues / eigenvalues.sum()
    return float(-(p * torch.log(p + 1e-12)).sum() / math.log(d))


def collapse_onset(steps, entropy, delta=0.02, window=5):
    """Part III (Khanh et al. 2026): the first evaluation step i with H̃[i − window + 1] − H̃[i] > δ, or None."""
    steps, h = list(steps), [float(v) for v in entropy]
    for i in range(window - 1, len(h)):
        if h[i - window + 1] - h[i] > delta:
            return int(steps[i])
    return None


def relative_flatness(features, labels, weight, bias=None):
    """Part IV (Han et al. 2025, Definition 3.2): κ = Σ_{s,s'} ⟨w_s, w_s'⟩ Tr H_{s,s'} for softmax cross-entropy,
    Tr H_{s,s'} = (1/N) Σ_i ‖h_i‖² (p_is δ_ss' − p_is p_is'), p_i = softmax(W h_i + b). ``labels`` do not enter."""
    h, w = features.double(), weight.double()
    logits = h @ w.T + (0.0 if bias is None else bias.double())
    p = torch.softmax(logits, dim=1)  # subtracts the largest logit: no overflow
    blocks = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (N, C, C): p_s δ_ss' − p_s p_s'
    traces = (blocks * (h**2).sum(dim=1)[:, None, None]).mean(dim=0)  # Tr H_{s,s'}
    return float(((w @ w.T) * traces).sum())


def ncc(features, labels):
    """Part IV (Han et al. 2025, Definition 3.1, the sum form): Σ_{c≠c'} (V_c + V_c') / (2‖μ_c − μ_c'‖²),
    V_c = Σ_{i: y_i = c} ‖h_i − μ_c‖² (a sum over the class, not a mean)."""
    h = features.double()
    means, spreads = [], []
    for c in labels.unique():
        members = h[labels == c]
        means.append(members.mean(dim=0))
        spreads.append(float(((members - means[-1]) ** 2).sum()))
    total = 0.0
    for a in range(len(means)):
        for b in range(len(means)):
            if a != b:
                total += (spreads[a] + spreads[b]) / (2 * float(((means[a] - means[b]) ** 2).sum()))
    return total


def ncc_mean(features, labels):
    """Part IV (Han et al. 2025, the authors' code): the mean over ordered class pairs c ≠ c' of
    (V̄_c + V̄_c') / (2‖μ_c − μ_c'‖²), V̄_c = (1/n_c) Σ_{i: y_i = c} ‖h_i − μ_c‖²."""
    h = features.double()
    means, spreads = [], []
    for c in labels.unique():
        members = h[labels == c]
        means.append(members.mean(dim=0))
        spreads.append(float(((members - means[-1]) ** 2).sum()) / len(members))
    terms = [(spreads[a] + spreads[b]) / (2 * float(((means[a] - means[b]) ** 2).sum()))
             for a in range(len(means)) for b in range(len(means)) if a != b]
    return sum(terms) / len(terms)
