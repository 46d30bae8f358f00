"""Spectral metrics of representations: spectral entropy (Part III) and matrix-based
Rényi entropy / mutual information (Part II).

Plain functions take tensors and return Python floats; every computation runs in
float64 whatever the input dtype. :func:`spectral_metrics` is a training-loop
callback in the style of :mod:`grokutils.metrics.basic`.

Part III's lemmas (Appendix E) are checked numerically in
:mod:`grokutils.metrics.spectral_lemmas`, on :func:`covariance_spectral_entropy` of
:func:`feature_covariance`.

Conventions chosen here (and tested in ``tests/test_metrics_spectral.py``):

* NaN or infinite inputs raise :class:`ValueError` naming the problem; no function
  returns a silent NaN.
* Spectral entropy of features whose covariance is zero (all samples equal) raises
  :class:`ValueError`: the eigenvalue distribution p_i = λ_i / Σλ is undefined.
* Spectral entropy with feature dimension d = 1 is defined as 1.0 (effective rank 1):
  a single eigenvalue is trivially "isotropic" and log d = 0 leaves the normalised
  formula 0/0.
* d > n is allowed: the covariance then has rank at most n − 1 and H̃ < 1 necessarily;
  that is a property of the probe, not an error.
* Matrix Rényi entropies (Part II) treat an eigenvalue as zero exactly when it lies within the
  error bound of the routine that computed it: for a Gram matrix K (n × n, ``eigvalsh``),
  λ_i ≤ n·ε·‖K‖₂; for features Z (n × d, singular values σ_i of Z, λ_i = σ_i²),
  σ_i ≤ max(n, d)·ε·‖Z‖₂, i.e. λ_i ≤ (max(n, d)·ε)²·‖K‖₂ (ε = float64 machine epsilon). Below
  the bound an eigenvalue is round-off (an exactly rank-deficient K gives |λ̂| of a few ε·‖K‖₂),
  and for α < 1 keeping it would add spurious mass λ^α; above it the eigenvalue is real and kept.
"""

from __future__ import annotations

import math

import torch

from grokutils.metrics.checks import finite_float64
from grokutils.metrics.probe import probe_indices

#: Number of training samples (the first ones, fixed across steps) that Part III's probe uses.
PROBE_SIZE = 512

#: Tolerance (relative to the largest absolute entry) for a Gram matrix to count as symmetric.
SYMMETRY_RTOL = 1e-8

#: A Gram matrix whose smallest eigenvalue is below −PSD_RTOL · (largest eigenvalue) is rejected.
PSD_RTOL = 1e-6

_LOG_EPS = 1e-12  # Part III's ε inside log(p_i + ε)

_EPS = torch.finfo(torch.float64).eps  # ε of the eigenvalue and singular-value error bounds (Part II)


def _as_float64(x, name: str) -> torch.Tensor:
    return finite_float64(x, name, "spectral")


# ----------------------------------------------------------------------------------------------
# Part III: spectral entropy of the feature covariance
# ----------------------------------------------------------------------------------------------


def feature_covariance(features: torch.Tensor) -> torch.Tensor:
    """Covariance Σ = (1/n) Σ_i (z_i − z̄)(z_i − z̄)ᵀ of (n, d) ``features``, in float64 (Part III).

    Definition 1 of "Spectral Entropy Collapse as an Empirical Signature of Delayed
    Generalisation in Grokking" (2026): the matrix whose spectrum :func:`spectral_entropy`
    measures, so that a notebook can check the paper's lemmas (Lemma 1, Lemma 5) on the
    covariances Σ_t of real trained networks. Needs n ≥ 2 rows, d ≥ 1 columns, finite values.
    """
    z = _as_float64(features, "features")
    if z.ndim != 2:
        raise ValueError(f"features must be a 2-D (n samples × d features) tensor, got shape {tuple(z.shape)}.")
    n, d = z.shape
    if n < 2:
        raise ValueError(f"spectral entropy needs at least 2 samples to form a covariance, got n = {n}.")
    if d < 1:
        raise ValueError("features have zero columns (d = 0).")
    centred = z - z.mean(dim=0, keepdim=True)
    return centred.T @ centred / n


def _clamped_eigenvalues(cov: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of a symmetric float64 matrix by ``eigvalsh``, clamped at 0 (Part III's rule)."""
    return torch.linalg.eigvalsh(cov).clamp_min(0.0)


def _covariance_eigenvalues(features: torch.Tensor) -> torch.Tensor:
    z = _as_float64(features, "features")
    eigenvalues = _clamped_eigenvalues(feature_covariance(z))
    total = float(eigenvalues.sum())
    # Centring identical rows can leave rounding residue ~eps·|z|; treat a covariance whose
    # trace is negligible next to the (uncentred) second moment as exactly zero.
    scale = float(z.pow(2).sum(dim=1).mean())
    if total <= 0.0 or total <= 1e-24 * scale:
        raise ValueError(
            "feature covariance is zero (all samples are equal): spectral entropy is undefined."
        )
    return eigenvalues


def _check_covariance(cov, name: str = "cov") -> torch.Tensor:
    c = _as_float64(cov, name)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] == 0:
        raise ValueError(f"{name} must be a square, non-empty d × d matrix, got shape {tuple(c.shape)}.")
    scale = float(c.abs().max())
    if float((c - c.T).abs().max()) > SYMMETRY_RTOL * max(scale, 1e-300):
        raise ValueError(f"{name} is not symmetric (within relative tolerance {SYMMETRY_RTOL}).")
    return c


def _positive_spectrum(eigenvalues: torch.Tensor, name: str) -> torch.Tensor:
    if not float(eigenvalues.sum()) > 0.0:
        raise ValueError(f"{name} has no positive eigenvalue (a zero covariance): spectral entropy is undefined.")
    return eigenvalues


def _entropy_of_spectrum(eigenvalues: torch.Tensor) -> float:
    """H̃ = −Σ p_i log(p_i + 1e-12) / log d of clamped eigenvalues with a positive sum."""
    d = eigenvalues.numel()
    if d == 1:
        return 1.0
    p = eigenvalues / eigenvalues.sum()
    entropy = -float((p * torch.log(p + _LOG_EPS)).sum())
    # The ε can push the value a hair outside [0, 1]; clip to the documented range.
    return min(1.0, max(0.0, entropy / math.log(d)))


def spectral_entropy(features: torch.Tensor) -> float:
    """Normalised spectral entropy H̃ of the feature covariance (Part III).

    Definition from "Spectral Entropy Collapse as an Empirical Signature of Delayed
    Generalisation in Grokking" (2026), used in Part III of the book: with
    z̄ = mean of the n feature rows z_i ∈ R^d and
    Σ = (1/n) Σ_i (z_i − z̄)(z_i − z̄)ᵀ (float64), eigenvalues λ_i of Σ by
    ``torch.linalg.eigvalsh`` clamped at 0, p_i = λ_i / Σ_j λ_j and

        H̃ = −Σ_i p_i log(p_i + 1e-12) / log d.

    H̃ = 1 for isotropic Σ and 0 for rank one. Invariant to rotations, scaling and
    translation of the features. The same computation from a covariance matrix is
    :func:`covariance_spectral_entropy` (``spectral_entropy(z) ==
    covariance_spectral_entropy(feature_covariance(z))`` exactly).

    Conventions: d = 1 returns 1.0 (0/0 otherwise; one eigenvalue is trivially
    isotropic). d > n is allowed (rank-deficient covariance, H̃ ≤ log(n − 1)/log d).
    Zero covariance (all samples equal) and NaN/inf inputs raise ``ValueError``.

    Args:
        features: (n, d) tensor of representations, any float dtype.
    Returns:
        H̃ in [0, 1] as a Python float.
    """
    return _entropy_of_spectrum(_covariance_eigenvalues(features))


def covariance_spectral_entropy(cov: torch.Tensor) -> float:
    """H̃ of a covariance matrix Σ itself (Part III: Lemmas 1 and 5 perturb Σ, not the features).

    The formula of :func:`spectral_entropy` (Definition 2 of "Spectral Entropy Collapse…",
    2026) applied to a given symmetric d × d matrix, through the same code: eigenvalues by
    ``eigvalsh`` clamped at 0, p_i = λ_i / Σλ, H̃ = −Σ p_i log(p_i + 1e-12) / log d.
    Diagonal Σ = diag(λ) gives the normalised Shannon entropy of λ / Σλ; H̃(cI) = 1,
    H̃(uuᵀ) = 0.

    Validation: square, finite, symmetric within ``SYMMETRY_RTOL``, not clearly indefinite
    (smallest eigenvalue ≥ −``PSD_RTOL`` × largest; rounding-level negatives are clamped),
    with a positive eigenvalue; otherwise ``ValueError``.
    """
    c = _check_covariance(cov)
    raw = torch.linalg.eigvalsh(c)
    if float(raw.min()) < -PSD_RTOL * max(float(raw.max()), 0.0):
        raise ValueError(f"cov is not positive semi-definite (smallest eigenvalue {float(raw.min()):.3g}, "
                         f"largest {float(raw.max()):.3g}).")
    return _entropy_of_spectrum(_positive_spectrum(raw.clamp_min(0.0), "cov"))  # = _clamped_eigenvalues(c)


def effective_rank(features: torch.Tensor) -> float:
    """Effective rank exp(H̃ · log d) of the feature covariance (Part III).

    From "Spectral Entropy Collapse as an Empirical Signature of Delayed Generalisation
    in Grokking" (2026), Part III of the book: the exponential of the (unnormalised)
    spectral entropy −Σ p_i log p_i, written via H̃ of :func:`spectral_entropy`. Equals r
    for a covariance with r equal non-zero eigenvalues; 1 for d = 1. Same validation as
    :func:`spectral_entropy`.
    """
    h = spectral_entropy(features)  # validates
    d = features.shape[1]
    return 1.0 if d == 1 else math.exp(h * math.log(d))


#: Seed of the held-out probe of :func:`spectral_metrics` (a seeded random subset of the test split).
TEST_PROBE_SEED = 0


@torch.no_grad()
def spectral_metrics(context) -> dict:
    """Training-loop callback: spectral entropy and effective rank of the penultimate
    representation on fixed probes (Part III).

    Following "Spectral Entropy Collapse as an Empirical Signature of Delayed
    Generalisation in Grokking" (2026), the probe is the first ``PROBE_SIZE`` = 512
    training samples (the same ones at every step). Features come from
    ``context.model.features`` without gradients. Records ``spectral_entropy`` (H̃)
    and ``effective_rank`` (exp(H̃ log d)).

    Claim 8 (probe robustness, the paper's Appendix B) compares that with H̃ on a second,
    independent probe from the held-out split: ``spectral_entropy_test`` is H̃ of
    ``PROBE_SIZE`` test samples chosen once by :func:`grokutils.metrics.probe.probe_indices`
    (seed :data:`TEST_PROBE_SEED`; a random subset, since some test splits are sorted by
    class), recorded when the data has a test split of at least 2 samples.
    """
    model, data = context.model, context.data
    features = model.features(data.x_train[:PROBE_SIZE])
    h = spectral_entropy(features)
    d = features.shape[1]
    rank = 1.0 if d == 1 else math.exp(h * math.log(d))
    row = {"spectral_entropy": h, "effective_rank": rank}
    x_test = getattr(data, "x_test", None)
    if x_test is not None and len(x_test) >= 2:
        index = probe_indices(len(x_test), PROBE_SIZE, TEST_PROBE_SEED).to(x_test.device)
        row["spectral_entropy_test"] = spectral_entropy(model.features(x_test[index]))
    return row


# ----------------------------------------------------------------------------------------------
# Part II: matrix-based Rényi entropy and mutual information
# ----------------------------------------------------------------------------------------------


def linear_gram(x: torch.Tensor) -> torch.Tensor:
    """Linear-kernel Gram matrix K = X Xᵀ (float64) of the rows of ``x`` (Part II).

    Input to the matrix-based Rényi entropy of Sanchez Giraldo et al. as used by
    Tan & Huang (2023) in Part II of the book.
    """
    z = _as_float64(x, "x")
    if z.ndim != 2:
        raise ValueError(f"x must be a 2-D (n × d) tensor, got shape {tuple(z.shape)}.")
    return z @ z.T


def gaussian_gram(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian-kernel Gram matrix K_ij = exp(−‖x_i − x_j‖² / (2σ²)) in float64 (Part II).

    The infinitely divisible kernel of Sanchez Giraldo, Rao & Principe's matrix-based
    Rényi entropy, used by Tan & Huang (2023) in Part II of the book. Unit diagonal.
    """
    z = _as_float64(x, "x")
    if z.ndim != 2:
        raise ValueError(f"x must be a 2-D (n × d) tensor, got shape {tuple(z.shape)}.")
    if not (isinstance(sigma, (int, float)) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite positive number, got {sigma!r}.")
    sq = z.pow(2).sum(dim=1)
    dist2 = (sq[:, None] + sq[None, :] - 2.0 * (z @ z.T)).clamp_min(0.0)
    dist2.fill_diagonal_(0.0)
    return torch.exp(-dist2 / (2.0 * sigma * sigma))


def _check_alpha(alpha: float) -> float:
    try:
        alpha = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a positive number, got {alpha!r}.") from None
    if not math.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a finite positive number, got {alpha!r}.")
    return alpha


def _check_gram(gram: torch.Tensor, name: str) -> torch.Tensor:
    k = _as_float64(gram, name)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"{name} must be a square n × n Gram matrix, got shape {tuple(k.shape)}.")
    if k.shape[0] == 0:
        raise ValueError(f"{name} is empty (n = 0).")
    scale = float(k.abs().max())
    if float((k - k.T).abs().max()) > SYMMETRY_RTOL * max(scale, 1e-300):
        raise ValueError(f"{name} is not symmetric (within relative tolerance {SYMMETRY_RTOL}).")
    return (k + k.T) / 2


def _normalised_eigenvalues(k: torch.Tensor, name: str) -> torch.Tensor:
    """Eigenvalues of the PSD Gram matrix K / tr(K) by ``eigvalsh``, those within its error bound set to 0.

    ``eigvalsh`` is backward stable: each computed eigenvalue is within about n·ε·‖K‖₂ of the true
    one (n × n matrix; measured: 1–3 ε·‖K‖₂ on exactly rank-deficient Grams up to n = 1000). An
    eigenvalue ≤ n·ε·λ_max is therefore indistinguishable from 0 and set to 0 — exact for a
    rank-deficient K, where α < 1 would otherwise turn round-off into mass ((1e-17)^0.5 = 3e-9) —
    and every larger one, a real eigenvalue of a near-collapsed K included, is kept.
    """
    trace = float(torch.diagonal(k).sum())
    if not trace > 0:
        raise ValueError(f"{name} has non-positive trace {trace}; a PSD Gram matrix needs tr(K) > 0.")
    eigenvalues = torch.linalg.eigvalsh(k / trace)
    largest = float(eigenvalues.max())
    if float(eigenvalues.min()) < -PSD_RTOL * largest:
        raise ValueError(
            f"{name} is not positive semi-definite (smallest eigenvalue {float(eigenvalues.min()):.3g} "
            f"of the trace-normalised matrix)."
        )
    bound = k.shape[0] * _EPS * largest
    return torch.where(eigenvalues > bound, eigenvalues, torch.zeros_like(eigenvalues))


def _renyi_from_eigenvalues(eigenvalues: torch.Tensor, alpha: float) -> float:
    """S_α of the spectrum λ / Σλ, written around its largest eigenvalue so that no digit cancels.

    With ρ_i = λ_i / λ_max over the other eigenvalues and r = Σ ρ_i (so λ_max / Σλ = 1 / (1 + r)):
    log Σ (λ_i / Σλ)^α = log1p(Σ ρ_i^α) − α log1p(r), and S_1 = log1p(r) − Σ ρ_i log ρ_i / (1 + r).
    A near-collapsed spectrum (S ≪ 1) keeps its relative precision; summing λ^α with λ_max ≈ 1
    and taking the log would leave S with an absolute error of ε, all of S when S ~ 1e-16.
    """
    top = int(torch.argmax(eigenvalues))
    rho = torch.cat([eigenvalues[:top], eigenvalues[top + 1:]]) / eigenvalues[top]
    r = rho.sum()
    if abs(alpha - 1.0) < 1e-9:
        return float(torch.log1p(r) - torch.xlogy(rho, rho).sum() / (1.0 + r))
    return float(torch.log1p(rho.pow(alpha).sum()) - alpha * torch.log1p(r)) / (1.0 - alpha)


def matrix_renyi_entropy(gram: torch.Tensor, alpha: float) -> float:
    """Matrix-based Rényi α-entropy S_α(A) of a PSD Gram matrix (Part II).

    Definition of Sanchez Giraldo, Rao & Principe (matrix-based Rényi entropy), as
    used by Tan & Huang (2023) in Part II of the book: with A = K / tr(K) for an
    n × n PSD Gram matrix K,

        S_α(A) = 1/(1 − α) · log Σ_i λ_i(A)^α,

    and, for |α − 1| < 1e-9, the von Neumann limit S_1(A) = −Σ_i λ_i log λ_i.
    S_α(I/n) = log n for every α; a rank-one A gives 0.

    Validation: ``gram`` must be square, symmetric within ``SYMMETRY_RTOL``, finite,
    with positive trace and not clearly indefinite (``PSD_RTOL``); ``alpha`` must be a
    finite positive number.

    Cut-off: an eigenvalue λ_i(A) ≤ n·ε·λ_max(A) (ε = 2.2e-16, the error bound of ``eigvalsh``)
    counts as zero, which matters most for α < 1, where λ^α magnifies round-off. Real eigenvalues
    below it are lost: a Gram matrix holds them only to ±ε·‖K‖₂ per entry. For a linear kernel
    of features, :func:`feature_renyi_entropy` resolves eigenvalues down to (max(n, d)·ε)²·λ_max.
    """
    alpha = _check_alpha(alpha)
    k = _check_gram(gram, "gram")
    return _renyi_from_eigenvalues(_normalised_eigenvalues(k, "gram"), alpha)


def matrix_mutual_information(gram_a: torch.Tensor, gram_b: torch.Tensor, alpha: float) -> float:
    """Matrix-based Rényi mutual information I_α(A; B) (Part II).

    Sanchez Giraldo et al.'s joint entropy via the Hadamard product, as used by
    Tan & Huang (2023) in Part II of the book:

        I_α(A; B) = S_α(A) + S_α(B) − S_α(A∘B / tr(A∘B)),

    with A, B the trace-normalised Gram matrices (see :func:`matrix_renyi_entropy`).
    For A = B = I: log n + log n − log n = log n. Both Grams must have the same n. Each of
    the three spectra is cut at n·ε·λ_max as in :func:`matrix_renyi_entropy`.
    """
    alpha = _check_alpha(alpha)
    a = _check_gram(gram_a, "gram_a")
    b = _check_gram(gram_b, "gram_b")
    if a.shape != b.shape:
        raise ValueError(f"gram_a and gram_b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}.")
    ta, tb = float(torch.diagonal(a).sum()), float(torch.diagonal(b).sum())
    s_a = _renyi_from_eigenvalues(_normalised_eigenvalues(a, "gram_a"), alpha)
    s_b = _renyi_from_eigenvalues(_normalised_eigenvalues(b, "gram_b"), alpha)
    joint = (a / ta) * (b / tb)
    s_ab = _renyi_from_eigenvalues(_normalised_eigenvalues(joint, "A∘B"), alpha)
    return s_a + s_b - s_ab


# ----------------------------------------------------------------------------------------------
# The same quantities for linear kernels, from the features (cheaper when d < n)
# ----------------------------------------------------------------------------------------------


def _features(z, name: str) -> torch.Tensor:
    z = _as_float64(z, name)
    if z.ndim != 2 or z.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (n × d) tensor, got shape {tuple(z.shape)}.")
    return z


def _linear_gram_eigenvalues(z: torch.Tensor, name: str) -> torch.Tensor:
    """Spectrum of Z Zᵀ / tr(Z Zᵀ) as σ_i² / Σσ², σ_i the singular values of Z; σ_i ≤ max(n, d)·ε·σ_max set to 0.

    The singular values from ``svdvals`` are backward stable, accurate to about max(n, d)·ε·‖Z‖₂,
    so λ_i = σ_i² keeps its leading digits down to (max(n, d)·ε)²·λ_max, far below the
    n·ε·λ_max that ``eigvalsh`` of the formed Gram Z Zᵀ (or Zᵀ Z) can resolve. Z is scaled by
    its largest entry first (the spectrum is normalised, so this changes nothing but overflow).
    """
    n, d = z.shape
    peak = float(z.abs().max())
    if not peak > 0:
        raise ValueError(f"{name} has non-positive trace 0.0 (all entries zero); a PSD Gram matrix needs tr(K) > 0.")
    sv = torch.linalg.svdvals(z / peak if n >= d else z.T / peak)
    kept = torch.where(sv > max(n, d) * _EPS * sv[0], sv, torch.zeros_like(sv))
    lam = kept * kept
    return lam / lam.sum()


def feature_renyi_entropy(features: torch.Tensor, alpha: float) -> float:
    """S_α of the linear Gram matrix Z Zᵀ of ``features`` (Part II), from the singular values of Z.

    The matrix-based Rényi entropy of Sanchez Giraldo et al. as Tan & Huang (2023) use it, equal to
    ``matrix_renyi_entropy(linear_gram(features), alpha)`` up to rounding: the eigenvalues of Z Zᵀ
    are σ_i² for the singular values σ_i of Z, and the Gram matrix is never formed (a 1,000 × 200
    input costs one 1,000 × 200 ``svdvals``). Cut-off: σ_i ≤ max(n, d)·ε·σ_max, the error bound
    of ``svdvals`` (ε = 2.2e-16), counts as zero, so eigenvalues down to (max(n, d)·ε)²·λ_max are
    kept. On near-collapsed features (all rows close to one vector) this keeps real eigenvalues
    that :func:`matrix_renyi_entropy` of the Gram must drop (below n·ε·λ_max) or resolves only
    to a few digits; for α < 1 they carry most of the entropy.
    """
    alpha = _check_alpha(alpha)
    return _renyi_from_eigenvalues(_linear_gram_eigenvalues(_features(features, "features"), "features"), alpha)


def feature_information_terms(features_a: torch.Tensor, features_b: torch.Tensor,
                              alpha: float) -> tuple[float, float, float]:
    """(S_α(A), S_α(B), S_α(A∘B)) for the linear Gram matrices of two feature sets (Part II).

    The Hadamard product of linear kernels is the linear kernel of the row-wise Kronecker
    product (d_a · d_b columns), used when d_a · d_b < n; otherwise the n × n product.
    ``matrix_mutual_information`` of the two Grams is S_α(A) + S_α(B) − S_α(A∘B). Spectra from
    features are cut as in :func:`feature_renyi_entropy`; the n × n product (d_a · d_b ≥ n) as
    in :func:`matrix_renyi_entropy`.
    """
    alpha = _check_alpha(alpha)
    return tuple(_renyi_from_eigenvalues(spectrum, alpha)
                 for spectrum in feature_information_spectra(features_a, features_b))


def feature_information_spectra(features_a: torch.Tensor, features_b: torch.Tensor
                                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The trace-normalised spectra behind :func:`feature_information_terms` (A, B, A∘B), to evaluate
    several orders α from one decomposition each (:func:`renyi_from_spectrum`; Part II's α ablation)."""
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"features_a and features_b must have the same rows (n); got {a.shape[0]} and {b.shape[0]}.")
    n = a.shape[0]
    if a.shape[1] * b.shape[1] < n:
        joint = _linear_gram_eigenvalues((a[:, :, None] * b[:, None, :]).reshape(n, -1), "A∘B")
    else:
        joint = _normalised_eigenvalues((a @ a.T) * (b @ b.T), "A∘B")
    return _linear_gram_eigenvalues(a, "features_a"), _linear_gram_eigenvalues(b, "features_b"), joint


def renyi_from_spectrum(spectrum: torch.Tensor, alpha: float) -> float:
    """S_α of a trace-normalised spectrum from :func:`feature_information_spectra` (checked α; Part II)."""
    return _renyi_from_eigenvalues(spectrum, _check_alpha(alpha))


def feature_mutual_information(features_a: torch.Tensor, features_b: torch.Tensor, alpha: float) -> float:
    """I_α between the linear Gram matrices of two feature sets (Part II), via
    :func:`feature_information_terms`; equal to ``matrix_mutual_information`` of the two Grams."""
    s_a, s_b, s_ab = feature_information_terms(features_a, features_b, alpha)
    return s_a + s_b - s_ab
