"""Part III's lemmas (the paper's Appendix E) as numerical checks on real covariances.

Lemma 1 bounds how much the normalised spectral entropy H̃ moves under a perturbation of the
covariance (:func:`lemma1_sensitivity`, with the gradient :func:`spectral_entropy_gradient`);
Lemma 5 says representation mixing lowers H̃ by at most O(α²) (:func:`lemma5_mixing`, on the
covariance of :func:`mixed_features`). H̃ itself is :mod:`grokutils.metrics.spectral`. Tested in
``tests/test_spectral_lemmas.py``; shown on the book's lemmas page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from grokutils.intervention import mix
from grokutils.metrics.spectral import (_LOG_EPS, PSD_RTOL, _as_float64, _check_covariance, _clamped_eigenvalues,
                                        _entropy_of_spectrum, _positive_spectrum, feature_covariance,
                                        spectral_entropy)


def _spectrum_gradient(eigenvalues: torch.Tensor) -> torch.Tensor:
    """∂H̃/∂λ_i of the implemented formula (the 1e-12 inside the log included).

    With T = Σλ, p = λ/T, f(p) = −Σ p_j log(p_j + ε) and g_j = ∂f/∂p_j = −log(p_j + ε) − p_j/(p_j + ε):
    ∂p_j/∂λ_i = (δ_ij − p_j)/T, so ∂H̃/∂λ_i = (g_i − Σ_j p_j g_j) / (T log d). For ε → 0 this is
    −(log p_i + H)/(T log d), H the unnormalised entropy.
    """
    d = eigenvalues.numel()
    if d == 1:
        return torch.zeros_like(eigenvalues)
    total = eigenvalues.sum()
    p = eigenvalues / total
    g = -(torch.log(p + _LOG_EPS) + p / (p + _LOG_EPS))
    return (g - (p * g).sum()) / (total * math.log(d))


def _spectral_decomposition(cov) -> tuple[torch.Tensor, torch.Tensor]:
    c = _check_covariance(cov)
    eigenvalues, vectors = torch.linalg.eigh(c)
    return _positive_spectrum(eigenvalues.clamp_min(0.0), "cov"), vectors


def spectral_entropy_gradient(cov: torch.Tensor) -> torch.Tensor:
    """Gradient G = ∂H̃/∂Σ of :func:`covariance_spectral_entropy` (Part III, Lemma 1), a d × d float64 matrix.

    H̃ is a symmetric function of the eigenvalues, so its gradient is G = U diag(∂H̃/∂λ) Uᵀ
    (U the eigenvectors of Σ) and, for a small symmetric perturbation Δ,
    H̃(Σ + Δ) = H̃(Σ) + ⟨G, Δ⟩_F + O(‖Δ‖²), with ∂H̃/∂λ_i = (g_i − Σ_j p_j g_j)/(T log d),
    g_j = −log(p_j + ε) − p_j/(p_j + ε), T = tr Σ (ε → 0: −(log p_i + H)/(T log d)). Consequences
    used by the book's tests: G = 0 at an isotropic Σ (the maximum) and ⟨G, Σ⟩ = 0 (H̃ is
    scale-invariant). At an eigenvalue clamped to 0 this is the derivative for perturbations
    that raise it (lowering it changes nothing); the clip of H̃ to [0, 1] is ignored.
    """
    eigenvalues, vectors = _spectral_decomposition(cov)
    return vectors @ torch.diag(_spectrum_gradient(eigenvalues)) @ vectors.T


def _perturbed_entropy(cov: torch.Tensor, name: str = "Σ + Δ") -> float:
    """H̃ of Σ + Δ, which may leave the PSD cone by about ‖Δ‖: eigenvalues clamped at 0 (Part III's rule)."""
    return _entropy_of_spectrum(_positive_spectrum(_clamped_eigenvalues(cov), name))


@dataclass(frozen=True)
class SensitivityCheck:
    """Part III, Lemma 1 (entropy sensitivity) on one covariance Σ; see :func:`lemma1_sensitivity`.

    ``ratios[k, j]`` = |H̃(Σ + ε_j Δ_k) − H̃(Σ)| / ε_j for unit-Frobenius-norm symmetric
    directions Δ_k (row 0: the steepest direction G/‖G‖_F when G ≠ 0; the others random).
    ``local_constant`` = ‖G‖_F is the exact limit of the largest ratio as ε → 0 (first-order
    Lipschitz constant, by Hoffman–Wielandt); ``proof_constant`` = d · M with
    M = max_i |∂H̃/∂λ_i| at Σ is the constant of the paper's proof (Weyl's inequality
    |Δλ_i| ≤ ‖Δ‖₂ ≤ ‖Δ‖_F, then the mean value theorem), valid for small ‖Δ‖.
    """

    epsilons: np.ndarray
    ratios: np.ndarray
    entropy: float
    local_constant: float
    proof_constant: float
    max_derivative: float
    lambda_min: float
    lambda_max: float
    trace: float

    @property
    def sup_ratio(self) -> np.ndarray:
        """Largest ratio over the directions, per ε."""
        return self.ratios.max(axis=0)


def _unit_symmetric(d: int, generator: torch.Generator) -> torch.Tensor:
    a = torch.randn(d, d, generator=generator, dtype=torch.float64)
    s = (a + a.T) / 2
    return s / s.norm()


def lemma1_sensitivity(cov: torch.Tensor, epsilons=None, directions: int = 16, seed: int = 0) -> SensitivityCheck:
    """Lemma 1 of "Spectral Entropy Collapse…" (2026), checked numerically on one PSD Σ (Part III).

    The lemma: for a symmetric Δ with ‖Δ‖_F small, |H̃(Σ + Δ) − H̃(Σ)| ≤ L ‖Δ‖_F with L depending
    on the spectrum of Σ (its smallest eigenvalue; the paper's constant was lost in extraction).
    For each ε in ``epsilons`` (Frobenius norms; default tr Σ × 10^−6 … 10^−1) and each of
    ``directions`` unit directions, records the ratio |ΔH̃| / ε, together with the analytic
    constants of :class:`SensitivityCheck`: the empirical sup should approach ``local_constant``
    as ε → 0 and stay below ``proof_constant`` for small ε. Since H̃ is scale-invariant, every
    constant scales as 1/tr Σ; M grows like log(tr Σ / λ_min) / (tr Σ · log d) as λ_min → 0
    (bounded by the 1e-12 inside the log). Σ + Δ may have slightly negative eigenvalues when
    λ_min < ε; they are clamped at 0 as in the definition.
    """
    c = _check_covariance(cov)
    eigenvalues, vectors = _spectral_decomposition(c)
    raw = torch.linalg.eigvalsh(c)
    if float(raw.min()) < -PSD_RTOL * float(raw.max()):
        raise ValueError(f"cov is not positive semi-definite (smallest eigenvalue {float(raw.min()):.3g}).")
    if isinstance(directions, bool) or not isinstance(directions, int) or directions < 1:
        raise ValueError(f"directions must be a positive integer, got {directions!r}.")
    trace = float(eigenvalues.sum())
    eps = (trace * np.geomspace(1e-6, 1e-1, 6) if epsilons is None
           else np.asarray(epsilons, dtype=float).reshape(-1))
    if eps.size == 0 or not np.isfinite(eps).all() or (eps <= 0).any():
        raise ValueError(f"epsilons must be finite positive Frobenius norms, got {epsilons!r}.")
    derivative = _spectrum_gradient(eigenvalues)
    gradient = vectors @ torch.diag(derivative) @ vectors.T
    base = _entropy_of_spectrum(eigenvalues)
    generator = torch.Generator().manual_seed(int(seed))
    d = c.shape[0]
    units = [_unit_symmetric(d, generator) for _ in range(directions)]
    if float(gradient.norm()) > 0:
        units[0] = gradient / gradient.norm()
    ratios = np.array([[abs(_perturbed_entropy(c + float(e) * u) - base) / float(e) for e in eps] for u in units])
    m = float(derivative.abs().max())
    return SensitivityCheck(eps, ratios, base, float(gradient.norm()), d * m, m, float(eigenvalues.min()),
                            float(eigenvalues.max()), trace)


def mixed_features(features: torch.Tensor, alpha: float) -> torch.Tensor:
    """h̃_i = (1 − α) h_i + α h_{i+1 mod n} of (n, d) ``features`` in float64 (Part III, claim 3, Lemma 5).

    The mixing of the intervention, computed by :func:`grokutils.intervention.mix` (the same
    cyclic shift the training loop uses), on a float64 copy.
    """
    z = _as_float64(features, "features")
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha!r}.")
    if z.ndim != 2:
        raise ValueError(f"features must be a 2-D (n × d) tensor, got shape {tuple(z.shape)}.")
    return mix(z, alpha)


def mixed_covariance(features: torch.Tensor, alpha: float) -> torch.Tensor:
    """Σ_mix: the covariance of :func:`mixed_features` (Part III, Lemma 5).

    Mixing keeps the mean (π is a permutation), so with Σ the covariance and
    C = (1/n) Σ_i (z_i − z̄)(z_{i+1} − z̄)ᵀ the lag-one cross-covariance,
    Σ_mix = ((1 − α)² + α²) Σ + α(1 − α)(C + Cᵀ) (tested against this closed form).
    """
    return feature_covariance(mixed_features(features, alpha))


def shift_cross_covariance(features: torch.Tensor) -> torch.Tensor:
    """C = (1/n) Σ_i (z_i − z̄)(z_{π(i)} − z̄)ᵀ, π(i) = i + 1 mod n: the term of Σ_mix that mixing adds
    (Part III, Lemma 5)."""
    z = _as_float64(features, "features")
    feature_covariance(z)  # validates shape and n ≥ 2
    centred = z - z.mean(dim=0, keepdim=True)
    return centred.T @ torch.roll(centred, -1, dims=0) / z.shape[0]


@dataclass(frozen=True)
class MixingCheck:
    """Part III, Lemma 5 (mixing raises entropy) on one batch; see :func:`lemma5_mixing`.

    ``mixed[j]`` = H̃(Σ_mix(α_j)); ``first_order`` = dH̃(Σ_mix)/dα at α = 0, analytic:
    ⟨G, C + Cᵀ − 2Σ⟩_F with G of :func:`spectral_entropy_gradient` (= ⟨G, C + Cᵀ⟩, H̃ being
    scale-invariant). The lemma's H̃(Σ_mix) ≥ H̃(Σ) − O(α²) needs ``first_order`` ≥ 0 (else the
    loss is of order α); ``quadratic_constant`` is the smallest K with
    H̃(Σ_mix) ≥ H̃(Σ) − K α² at every α of the grid.
    """

    alphas: np.ndarray
    entropy: float
    mixed: np.ndarray
    first_order: float

    @property
    def change(self) -> np.ndarray:
        """H̃(Σ_mix(α)) − H̃(Σ) per α."""
        return self.mixed - self.entropy

    @property
    def quadratic_constant(self) -> float:
        """max over α of max(0, H̃(Σ) − H̃(Σ_mix(α))) / α² (0 when mixing never lowers H̃)."""
        return float(np.max(np.maximum(0.0, -self.change) / self.alphas ** 2))


#: Default mixing coefficients of :func:`lemma5_mixing` (the book's intervention uses α = 0.1).
LEMMA5_ALPHAS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.2, 0.3, 0.5)


def lemma5_mixing(features: torch.Tensor, alphas=LEMMA5_ALPHAS) -> MixingCheck:
    """Lemma 5 of "Spectral Entropy Collapse…" (2026), checked numerically on one batch (Part III).

    For representations H (n × d, rows in batch order) and the intervention's cyclic-shift mixing
    h̃_i = (1 − α) h_i + α h_{i+1}, compares H̃(Σ_mix(α)) with H̃(Σ) over ``alphas`` in (0, 1]
    (see :class:`MixingCheck`). Batches are used as they come: the lag-one cross-covariance C,
    and so the first-order term, depends on the order of the rows.
    """
    z = _as_float64(features, "features")
    a = np.asarray(alphas, dtype=float).reshape(-1)
    if a.size == 0 or not np.isfinite(a).all() or (a <= 0).any() or (a > 1).any():
        raise ValueError(f"alphas must be numbers in (0, 1], got {alphas!r}.")
    sigma = feature_covariance(z)
    base = spectral_entropy(z)  # validates: raises on a zero covariance
    cross = shift_cross_covariance(z)
    derivative = float((spectral_entropy_gradient(sigma) * (cross + cross.T - 2 * sigma)).sum())
    mixed = np.array([_perturbed_entropy(mixed_covariance(z, float(alpha)), f"Σ_mix (α = {alpha:g})") for alpha in a])
    return MixingCheck(a, base, mixed, derivative)
