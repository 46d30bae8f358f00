"""Information-theoretic metrics of Part I (Sato & Sakamoto 2025, Section 5 and Figure 4).

* :func:`kl_entropy`: Kozachenko–Leonenko differential entropy from k-nearest-neighbour
  distances, with the bias-correcting weights of Berrett, Samworth & Yuan (2019) when the
  dimension exceeds 4.
* :func:`compression_mutual_information`: the compression estimator of Butakov et al.
  (2024) as the authors use it: Z reduced to 4 dimensions by PCA, X by a conv autoencoder
  (:mod:`grokutils.metrics.autoencoder`), each side whitened, then I(Z;X) and I(Z;Y)
  from Kozachenko–Leonenko entropies. Estimates can be negative.
* :func:`nhsic`: the normalised HSIC of the authors' code, R = K̃(K̃ + εnI)⁻¹,
  nHSIC(A;B) = tr(R_A R_B), averaged over batches.
* :func:`ib_bounds`: the two upper bounds of Theorem 3.4 on the superfluous information
  I(X;Z) − I(Y;Z), and :func:`ib_lower_bound` of Proposition 3.3.
* :func:`information_metrics`: a training callback recording all of them on a fixed
  held-out probe.

All arithmetic is float64; invalid input raises :class:`ValueError`; no silent NaN.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

from grokutils.metrics.autoencoder import AutoencoderSettings, load_or_train_encoder
from grokutils.metrics.checks import finite_float64
from grokutils.metrics.probe import probe_indices

__all__ = [
    "berrett_weights",
    "compression_mutual_information",
    "gaussian_kernel",
    "ib_bounds",
    "ib_lower_bound",
    "information_metrics",
    "kl_entropy",
    "nhsic",
    "pca_project",
    "whiten",
]

#: Neighbours of the Kozachenko–Leonenko estimator (Part I, as Butakov et al. 2024).
NUM_NEIGHBOURS = 5
#: Dimensions Z and X are compressed to before the entropies are estimated.
COMPRESSED_DIM = 4
#: Ridge added to the covariance before the Cholesky factor that whitens each side.
WHITEN_RIDGE = 1e-6
#: nHSIC settings of the authors' code: kernel width σ, regulariser ε, batch size.
HSIC_SIGMA, HSIC_EPS, HSIC_BATCH = 5.0, 1e-5, 100
#: Held-out samples the callback uses: a fixed seeded subset of the test split (test splits
#: may be sorted by class, so the first rows would not do).
PROBE_SIZE, PROBE_SEED = 1000, 0
#: σ of Theorem 3.4's noise Z = h/s + ε (chosen small, fixed once, used by the bounds and the estimator).
NOISE_STD = 0.05
#: Seed of the noise ε, the same at every evaluation step.
NOISE_SEED = 0
#: Training settings of the autoencoder that compresses X (code dimension 4, L1 loss).
AUTOENCODER_SETTINGS = AutoencoderSettings()


# --------------------------------------------------------------------------- checks

def _matrix(x, name: str) -> torch.Tensor:
    z = finite_float64(x, name, "information")
    if z.ndim == 1:
        z = z[:, None]
    if z.ndim != 2:
        raise ValueError(f"{name} must be an (n, d) array of samples; got shape {tuple(z.shape)}.")
    return z


def _labels(labels, n: int) -> torch.Tensor:
    y = torch.as_tensor(labels).detach()
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must have shape ({n},) to match the samples; got {tuple(y.shape)}.")
    if y.is_floating_point() or y.is_complex():
        raise ValueError(f"labels must be integers; got dtype {y.dtype}.")
    return y.to(torch.int64).cpu()


# --------------------------------------------------------------------------- entropy

def berrett_weights(k: int, d: int) -> np.ndarray:
    """Weights w ∈ R^k of the weighted Kozachenko–Leonenko estimator (Berrett et al. 2019).

    For d ≤ 4 the plain estimator: w = e_k. For d > 4, the minimum-norm least-squares
    solution of Σ_j w_j = 1 and Σ_j w_j Γ(j + 2ℓ/d)/Γ(j) = 0 for ℓ = 1..⌊d/4⌋, which
    cancels the leading bias terms (Part I, MI estimator of Butakov et al. 2024).
    """
    if not (isinstance(k, int) and k >= 1 and isinstance(d, int) and d >= 1):
        raise ValueError(f"k and d must be positive integers; got k = {k!r}, d = {d!r}.")
    if d <= 4:
        w = np.zeros(k)
        w[-1] = 1.0
        return w
    j = np.arange(1, k + 1, dtype=np.float64)
    rows = [np.ones(k)] + [np.exp(gammaln(j + 2 * ell / d) - gammaln(j)) for ell in range(1, d // 4 + 1)]
    target = np.zeros(len(rows))
    target[0] = 1.0
    w, *_ = np.linalg.lstsq(np.stack(rows), target, rcond=None)
    return w


def kl_entropy(samples, k: int = NUM_NEIGHBOURS, weighted: bool = True) -> float:
    """Kozachenko–Leonenko differential entropy (nats) of samples (n, d), Berrett-weighted for d > 4.

    Ĥ_j = ψ(n) − ψ(j) + log V_d + (d/n) Σ_i log ρ_{i,(j)}, with ρ_{i,(j)} the Euclidean
    distance from x_i to its j-th nearest neighbour (KD-tree) and V_d the volume of the
    unit ball; Ĥ = Σ_j w_j Ĥ_j with :func:`berrett_weights`. Unbiased asymptotically;
    for a Gaussian it approaches ½ log det(2πe Σ). Used for the MI estimates of Part I,
    Figure 4 (book Part I, Figure 4 notebook).

    ``weighted=False`` uses the plain k-th-neighbour estimator in every dimension. With
    k = 5 the Berrett weights are large and of mixed sign for d > 4 (for d = 8 they are
    about 9.9, −7.7, −7.2, −1.2, 7.3), which trades a slightly smaller bias for a much
    larger variance; ``tests/test_metrics_information.py`` measures both.

    Needs n > k. Duplicate samples (a zero neighbour distance) raise ``ValueError``:
    their density is infinite; add a little noise or deduplicate.
    """
    x = _matrix(samples, "samples").cpu().numpy()
    n, d = x.shape
    if not (isinstance(k, int) and k >= 1):
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    if n <= k:
        raise ValueError(f"the entropy estimator needs more samples than neighbours: n = {n}, k = {k}.")
    distances, _ = cKDTree(x).query(x, k=k + 1)  # column 0 is the point itself
    distances = distances[:, 1:]
    if (distances <= 0).any():
        duplicates = int((distances[:, 0] <= 0).sum())
        raise ValueError(f"{duplicates} sample(s) coincide with another: the k-NN entropy is −∞. "
                         "Add small noise or remove duplicates.")
    log_unit_ball = (d / 2) * math.log(math.pi) - gammaln(d / 2 + 1)
    j = np.arange(1, k + 1)
    per_j = digamma(n) - digamma(j) + log_unit_ball + d * np.log(distances).mean(axis=0)
    weights = berrett_weights(k, d) if weighted else berrett_weights(k, 1)
    return float(weights @ per_j)


# --------------------------------------------------------------------------- compression MI

def pca_project(features, num_components: int = COMPRESSED_DIM) -> torch.Tensor:
    """Centred features projected on their top ``num_components`` principal directions (float64).

    The compression of Z in Butakov et al.'s (2024) MI estimator (Part I, Figure 4a)."""
    z = _matrix(features, "features")
    if not 1 <= num_components <= z.shape[1]:
        raise ValueError(f"num_components must be in 1..{z.shape[1]} (the feature dimension); got {num_components}.")
    centred = z - z.mean(0)
    _, vectors = torch.linalg.eigh(centred.T @ centred)
    return centred @ vectors[:, -num_components:].flip(1)


def whiten(x, ridge: float = WHITEN_RIDGE) -> torch.Tensor:
    """Centre, then multiply by L⁻ᵀ with L the Cholesky factor of cov + ridge·I.

    Applied to each side before the entropies of the MI estimator (Butakov et al. 2024;
    Part I, Figure 4a). Covariance with the 1/(n − 1) normalisation."""
    z = _matrix(x, "x")
    if z.shape[0] < 2:
        raise ValueError(f"whitening needs at least 2 samples; got {z.shape[0]}.")
    centred = z - z.mean(0)
    cov = centred.T @ centred / (z.shape[0] - 1) + ridge * torch.eye(z.shape[1], dtype=z.dtype)
    chol = torch.linalg.cholesky(cov)
    return torch.linalg.solve_triangular(chol, centred.T, upper=False).T


def compression_mutual_information(features, codes, labels, num_components: int = COMPRESSED_DIM,
                                   k: int = NUM_NEIGHBOURS, weighted: bool = True) -> dict:
    """Compression estimates of I(Z;X) and I(Z;Y) (Butakov et al. 2024; Part I, Figure 4a).

    ``features`` Z (n, d) are reduced to ``num_components`` dimensions by PCA; ``codes`` are
    the autoencoder codes of the *same* n inputs X (see
    :func:`grokutils.metrics.autoencoder.load_or_train_encoder`); each side is whitened.
    Then I(Z;X) = H(Z) + H(X) − H(Z,X) and I(Z;Y) = H(Z) − Σ_y p(y) H(Z | y), every H by
    :func:`kl_entropy`. Returns ``mi_zx``, ``mi_zy`` and ``redundancy`` = I(Z;X) − I(Z;Y),
    in nats. Estimates, not bounds: they can be negative.

    Each class needs more than k samples. ``weighted`` is passed to :func:`kl_entropy`.

    A known weakness, measured in the tests' setting (n = 2,000, Z a mixture of 4
    well-separated Gaussian classes, X independent of Z): whitening by the total covariance
    leaves the classes tight, the joint k-NN distances are then dominated by X, and
    Î(Z;X) comes out at −1.6 nats (−4.7 unweighted) instead of 0. Collapsed
    representations are exactly that case, so late-training estimates lean negative.
    """
    z = whiten(pca_project(features, num_components))
    x = whiten(codes)
    if x.shape[0] != z.shape[0]:
        raise ValueError(f"features and codes must describe the same samples: {z.shape[0]} vs {x.shape[0]} rows.")
    y = _labels(labels, z.shape[0])
    classes, counts = torch.unique(y, return_counts=True)
    if int(counts.min()) <= k:
        raise ValueError(f"every class needs more than k = {k} samples for H(Z|y); "
                         f"class {int(classes[counts.argmin()])} has {int(counts.min())}.")
    def entropy(samples):
        return kl_entropy(samples, k, weighted)

    h_z = entropy(z)
    mi_zx = h_z + entropy(x) - entropy(torch.cat([z, x], 1))
    conditional = sum(float(c) / len(y) * entropy(z[y == label]) for label, c in zip(classes, counts))
    mi_zy = h_z - conditional
    return {"mi_zx": mi_zx, "mi_zy": mi_zy, "redundancy": mi_zx - mi_zy}


# --------------------------------------------------------------------------- nHSIC

def gaussian_kernel(x, sigma: float = HSIC_SIGMA) -> torch.Tensor:
    """k(a, b) = exp(−‖a − b‖² / (2σ² dim)) on flattened rows (the authors' nHSIC kernel, Part I)."""
    z = _matrix(torch.as_tensor(x).flatten(1), "x")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite positive number, got {sigma!r}.")
    sq = z.pow(2).sum(1)
    dist2 = (sq[:, None] + sq[None, :] - 2 * z @ z.T).clamp_min(0.0)
    return torch.exp(-dist2 / (2 * sigma**2 * z.shape[1]))


def _resolvent(kernel: torch.Tensor, eps: float) -> torch.Tensor:
    """R = K̃ (K̃ + εnI)⁻¹ with K̃ = HKH (H the centring matrix)."""
    n = kernel.shape[0]
    centred = kernel - kernel.mean(0, keepdim=True)
    centred = centred - centred.mean(1, keepdim=True)
    ridge = centred + eps * n * torch.eye(n, dtype=kernel.dtype)
    return torch.linalg.solve(ridge, centred)  # (K̃+εnI)⁻¹K̃ = K̃(K̃+εnI)⁻¹: they commute


def nhsic(kernel_a: torch.Tensor, kernel_b: torch.Tensor, eps: float = HSIC_EPS) -> float:
    """nHSIC(A;B) = tr(R_A R_B), R = K̃(K̃ + εnI)⁻¹, K̃ = HKH (Part I, Figure 4b; authors' code).

    The kernels are n × n Gram matrices of the same n samples. For independent variables
    the value falls toward 0 as n grows; for identical ones it is the number of
    eigenvalues of K̃ well above εn. Centring uses HKH (the authors' code multiplies K·H
    only; that R is not symmetric, and the book says which it shows).
    """
    a, b = _matrix(kernel_a, "kernel_a"), _matrix(kernel_b, "kernel_b")
    if a.shape != b.shape or a.shape[0] != a.shape[1]:
        raise ValueError(f"kernels must be square and the same size; got {tuple(a.shape)} and {tuple(b.shape)}.")
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a finite positive number, got {eps!r}.")
    return float((_resolvent(a, eps) * _resolvent(b, eps).T).sum())


def _batched_nhsic(kernels_a: list[torch.Tensor], kernels_b: list[torch.Tensor], eps: float) -> float:
    return float(np.mean([nhsic(a, b, eps) for a, b in zip(kernels_a, kernels_b)]))


def _batches(n: int, size: int) -> list[slice]:
    if n < size:
        raise ValueError(f"nHSIC uses batches of {size} samples; got only {n}.")
    return [slice(i, i + size) for i in range(0, n - size + 1, size)]


# --------------------------------------------------------------------------- IB bounds

def _rescaled(features) -> torch.Tensor:
    h = _matrix(features, "features")
    s = float(h.norm(dim=1).mean())
    if s == 0.0:
        raise ValueError("all features are zero (mean feature norm s = 0): h/s is undefined.")
    return h / s


def ib_bounds(features, labels, sigma: float = NOISE_STD) -> dict:
    """Theorem 3.4's upper bounds on the superfluous information I(X;Z) − I(Y;Z) (Part I).

    With Z = h(X)/s + ε, ε ~ N(0, σ²I_d), s the mean feature norm and Σ_y the class-conditional
    covariance of h/s:

        ``logdet`` = Σ_y p(y) · ½ log det(I + Σ_y/σ²)
                   ≤ ``trace`` = (d/2) Σ_y p(y) log(1 + tr Σ_y/(dσ²)).

    Both in nats. Book Part I, Theorem 3.4 notebook.
    """
    g = _rescaled(features)
    y = _labels(labels, g.shape[0])
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite positive number, got {sigma!r}.")
    d = g.shape[1]
    logdet = trace = 0.0
    eye = torch.eye(d, dtype=g.dtype)
    for label in torch.unique(y):
        members = g[y == label]
        centred = members - members.mean(0)
        cov = centred.T @ centred / members.shape[0]
        weight = members.shape[0] / g.shape[0]
        logdet += weight * 0.5 * float(torch.linalg.slogdet(eye + cov / sigma**2)[1])
        trace += weight * (d / 2) * math.log1p(float(torch.trace(cov)) / (d * sigma**2))
    return {"logdet": logdet, "trace": trace}


def ib_lower_bound(logits, labels) -> float:
    """Proposition 3.3: I(Y;Z) ≥ H(Y) − E[CE], with H(Y) the empirical label entropy (nats).

    ``logits`` are the network outputs; the cross-entropy is that of their softmax (Part I).
    """
    scores = _matrix(logits, "logits")
    y = _labels(labels, scores.shape[0])
    if int(y.min()) < 0 or int(y.max()) >= scores.shape[1]:
        raise ValueError(f"labels must lie in 0..{scores.shape[1] - 1}; got {int(y.min())}..{int(y.max())}.")
    p = torch.bincount(y).to(torch.float64) / len(y)
    label_entropy = -float(torch.xlogy(p, p).sum())
    return label_entropy - float(torch.nn.functional.cross_entropy(scores, y))


# --------------------------------------------------------------------------- callback

class _ProbeCache:
    """Per-dataset quantities that do not change during training: X codes and nHSIC's R_X, R_Y."""

    def __init__(self):
        self._key = None
        self.value: dict = {}

    def get(self, data) -> dict:
        key = (id(data.x_test), data.x_test.shape, data.x_test.device)
        if key != self._key:
            self.value, self._key = _probe_constants(data), key
        return self.value


def _probe_constants(data) -> dict:
    probe = probe_indices(len(data.x_test), PROBE_SIZE, PROBE_SEED).to(data.x_test.device)
    x, y = data.x_test[probe], data.y_test[probe]
    encoder = load_or_train_encoder(torch.cat([data.x_train, data.x_test]).cpu(), AUTOENCODER_SETTINGS)
    with torch.no_grad():
        codes = encoder.encode(x.cpu().float())
    one_hot = torch.nn.functional.one_hot(y.cpu(), data.num_classes).double()
    batches = _batches(len(x), HSIC_BATCH)
    return {
        "probe": probe, "codes": codes, "labels": y.cpu(), "batches": batches,
        "kernels_x": [gaussian_kernel(x[b].cpu()) for b in batches],
        "kernels_y": [one_hot[b] @ one_hot[b].T for b in batches],
    }


_CACHE = _ProbeCache()


@torch.no_grad()
def information_metrics(context) -> dict:
    """Training callback for Part I's Figure 4 and Theorem 3.4 on a fixed held-out probe.

    Probe: ``PROBE_SIZE`` test images chosen by :func:`probe_indices`. Records, with Z = h/s + ε (ε fixed,
    σ = ``NOISE_STD``, Theorem 3.4's Z), ``mi_zx``, ``mi_zy``, ``mi_redundancy``
    (:func:`compression_mutual_information`), ``nhsic_zx``, ``nhsic_zy``,
    ``nhsic_redundancy`` on the raw features h (:func:`nhsic`, batches of 100, as the
    authors), ``ib_bound_logdet`` and ``ib_bound_trace`` (:func:`ib_bounds`), and
    ``ib_lower_bound`` (Proposition 3.3, on the training split). Images only.
    """
    data, model = context.data, context.model
    if data.x_test.dim() != 4:
        raise ValueError("information_metrics needs image data (N, C, H, W): its X side is an image autoencoder.")
    constants = _CACHE.get(data)
    x, y = data.x_test[constants["probe"]], constants["labels"]
    features = torch.cat([model.features(chunk) for chunk in x.split(8192)]).double().cpu()
    rescaled = _rescaled(features)
    noise = torch.randn(rescaled.shape, generator=torch.Generator().manual_seed(NOISE_SEED), dtype=torch.float64)
    mi = compression_mutual_information(rescaled + NOISE_STD * noise, constants["codes"], y)
    kernels_z = [gaussian_kernel(features[b]) for b in constants["batches"]]
    nhsic_zx = _batched_nhsic(kernels_z, constants["kernels_x"], HSIC_EPS)
    nhsic_zy = _batched_nhsic(kernels_z, constants["kernels_y"], HSIC_EPS)
    bounds = ib_bounds(features, y, NOISE_STD)
    train_logits = torch.cat([model(chunk) for chunk in data.x_train.split(8192)])
    return {
        "mi_zx": mi["mi_zx"], "mi_zy": mi["mi_zy"], "mi_redundancy": mi["redundancy"],
        "nhsic_zx": nhsic_zx, "nhsic_zy": nhsic_zy, "nhsic_redundancy": nhsic_zx - nhsic_zy,
        "ib_bound_logdet": bounds["logdet"], "ib_bound_trace": bounds["trace"],
        "ib_lower_bound": ib_lower_bound(train_logits, data.y_train.cpu()),
    }
