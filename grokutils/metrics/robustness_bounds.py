"""Numerical checks of the theory of Tan & Huang (2023), "Grokking through a robustness viewpoint" (book Part II).

The seed text lost every inline formula, so each statement below is *reconstructed* from the surrounding words and
the cited sources (Ma & Ying 2021 for Lemma 3.1; Tan et al. 2023, "Information flow in self-supervised learning",
for the α = 2 identities); each docstring states the exact inequality checked and what in it is an assumption.

* Section 3.1, Lemma 3.1: input sensitivity ≤ first-layer spectral norm × first-layer parameter gradient, and, at
  an interpolating solution of an MSE loss, ≤ ‖W₁‖₂² × Hessian trace (Gauss–Newton identity) — :func:`lemma_3_1`.
* Section 5.2, α = 2: Props 5.5–5.6 (entropy and mutual information as Frobenius norms), Lemmas 5.7, 5.8, 5.10,
  5.11 and Theorems 5.9 (|ED|) and 5.12 (|MID|) on Gram matrices K = Z Zᵀ of L2-row-normalised representations
  (n × n, unit diagonal) — :func:`section5_bounds`.
* :func:`robustness_bounds_metrics`: a training-loop callback recording both on the robustness probe.

Conventions: float64 throughout; a bound is a :class:`Bound` (lhs ≤ rhs ≤ rhs_paper) with slack = rhs / lhs
(1.0 for 0 / 0, inf for x / 0); invalid arguments raise ValueError naming what was given and what is allowed.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import jacrev, vmap

from grokutils.metrics.checks import finite_float64
from grokutils.metrics.probe import probe_indices
from grokutils.metrics.robustness import (BATCH_SIZE, NOISE_SEED, PROBE_SEED, PROBE_SIZE, SIGMA_EMBEDDING, SIGMA_IMAGE,
                                          _add_noise, _check_sigma, _input_space, _outputs)
from grokutils.models import MLP

__all__ = [
    "JACOBIAN_SIZE", "Bound", "JacobianNorms", "Lemma31", "first_order_perturbation_error", "jacobian_norms",
    "lemma_3_1", "lemma_5_7", "lemma_5_8", "lemma_5_10", "lemma_5_11", "mse_loss_scale", "renyi2_entropy",
    "renyi2_mutual_information", "robustness_bounds_metrics", "section5_bounds", "theorem_5_9", "theorem_5_12",
    "unit_rows",
]

#: Probe rows (the first of the robustness probe) on which the callback computes Lemma 3.1's Jacobians: all of
#: them (≈ 0.3 s for 1,000 MNIST images on the 784-200-200-10 MLP, one CPU thread), so ``gauss_newton_trace`` is
#: that of the sharpness callback's probe and objective.
JACOBIAN_SIZE = PROBE_SIZE

_UNIT_TOL = 1e-9  # |‖z_i‖ − 1|, |K_ii − 1| and |K_ij| − 1 allowed by the unit-norm checks
_ACTIVATIONS = (nn.ReLU, nn.Tanh, nn.Softplus, nn.Identity)
_FULL_ELEMENTS = 1 << 23  # float64 entries per chunk of full parameter Jacobians (64 MB)


def _ratio(rhs: float, lhs: float) -> float:
    if lhs > 0:
        return rhs / lhs
    return 1.0 if rhs == 0 else math.inf


@dataclass(frozen=True)
class Bound:
    """One checked inequality of Tan & Huang (2023), book Part II: ``lhs ≤ rhs ≤ rhs_paper``.

    ``rhs`` is the sharpest right side checked here, ``rhs_paper`` the paper's (reconstructed) form, which implies
    the same statement with more slack; ``slack`` = rhs / lhs (1.0 for 0 / 0, inf for x / 0)."""

    lhs: float
    rhs: float
    rhs_paper: float

    @property
    def slack(self) -> float:
        return _ratio(self.rhs, self.lhs)


# --------------------------------------------------------------------------- Lemma 3.1 (Section 3.1)


def mse_loss_scale(num_samples: int, num_classes: int, reduction: str = "mean") -> float:
    """c with the book's MSE objective L = c · Σ_i ‖f(x_i) − y_i‖² (Part II, Tan & Huang 2023, Section 3.1).

    ``grokutils.losses.objective`` is ``F.mse_loss(logits, one_hot, reduction)``: 'mean' averages over the n · C
    entries, so c = 1 / (n · C); 'sum' gives c = 1. (Ma & Ying's and the paper's L = 1/(2n) Σ ... is c = 1/(2n).)"""
    for name, value in (("num_samples", num_samples), ("num_classes", num_classes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}.")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}.")
    return 1.0 / (num_samples * num_classes) if reduction == "mean" else 1.0


def _mlp_layers(model) -> list[nn.Module]:
    """Linear / activation modules of the book's MLP (or an nn.Sequential of them), Flatten allowed first."""
    if isinstance(model, MLP):
        modules = [*model.body, model.head]
    elif isinstance(model, nn.Sequential):
        modules = list(model)
    else:
        raise ValueError(f"Lemma 3.1 needs the book's MLP or an nn.Sequential of Linear layers and activations, "
                         f"got {type(model).__name__}.")
    if modules and isinstance(modules[0], nn.Flatten):
        modules = modules[1:]
    bad = [type(m).__name__ for m in modules if not isinstance(m, (nn.Linear, *_ACTIVATIONS))]
    if bad or not modules or not isinstance(modules[0], nn.Linear):
        raise ValueError(f"Lemma 3.1 needs [Flatten,] Linear, then Linear layers and elementwise activations "
                         f"({', '.join(a.__name__ for a in _ACTIVATIONS)}); got {[type(m).__name__ for m in modules]}.")
    return modules


def _params(modules) -> list[dict[str, torch.Tensor]]:
    return [{k: v.detach().to(torch.float64) for k, v in (("weight", m.weight), ("bias", m.bias)) if v is not None}
            for m in modules if isinstance(m, nn.Linear)]


def _forward(modules, params, x, shifts=None, inputs=None):
    """f(x) of one flattened float64 sample with the given Linear parameters; ``shifts`` are added to the
    pre-activations h_l (∂f/∂shift_l = ∂f/∂h_l); ``inputs`` collects the input a_{l−1} of every Linear."""
    h, j = x, 0
    for module in modules:
        if isinstance(module, nn.Linear):
            if inputs is not None:
                inputs.append(h)
            h = h @ params[j]["weight"].T + params[j].get("bias", 0.0)
            h = h + shifts[j] if shifts is not None else h
            j += 1
        else:
            h = module(h)
    return h


@dataclass(frozen=True)
class JacobianNorms:
    """Per-sample squared Frobenius norms (float64, shape (n,)) of Part II's Lemma 3.1 (Tan & Huang 2023):
    ``input`` ‖∇ₓf(x_i)‖²_F, ``first_layer`` ‖∇_{W₁}f(x_i)‖²_F, ``parameters`` ‖J_θ f(x_i)‖²_F (all parameters),
    ``x`` ‖x_i‖² (flattened input); Jacobians over all C outputs."""

    input: torch.Tensor
    first_layer: torch.Tensor
    parameters: torch.Tensor
    x: torch.Tensor


def _check_chunk(chunk) -> None:
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be an integer >= 1, got {chunk!r}.")


def _check_images(modules, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 2 or x.shape[0] == 0:
        given = f"dtype {x.dtype}, shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a non-empty floating batch (N, ...), got {given}.")
    flat = finite_float64(x.flatten(1), "x", "robustness-bound")
    if flat.shape[1] != modules[0].in_features:
        raise ValueError(f"x flattens to {flat.shape[1]} features; the first Linear takes {modules[0].in_features}.")
    return flat


def jacobian_norms(model, x: torch.Tensor, method: str = "layers", chunk: int = 256) -> JacobianNorms:
    """Exact per-sample Jacobian norms of an MLP for Lemma 3.1 (Tan & Huang 2023; book Part II), in float64.

    ``method='layers'``: ``vmap(jacrev)`` of f with respect to x and to every pre-activation h_l, then the
    Linear-layer identity ∇_{W_l} f_k = (∂f_k/∂h_l) a_{l−1}ᵀ, ∇_{b_l} f_k = ∂f_k/∂h_l, so
    ‖J_θ f‖²_F = Σ_l ‖∂f/∂h_l‖²_F (‖a_{l−1}‖² + 1) — exact and C × (d_in + widths) numbers per sample.
    ``method='full'``: ``vmap(jacrev)`` with respect to every parameter (C × P numbers per sample, in chunks),
    the brute-force reference. ``x``: a floating batch (N, ...) that flattens to the first layer's input."""
    modules = _mlp_layers(model)
    flat, params = _check_images(modules, x), _params(modules)
    if method not in ("layers", "full"):
        raise ValueError(f"method must be 'layers' or 'full', got {method!r}.")
    _check_chunk(chunk)
    with torch.enable_grad():
        if method == "full":
            width = sum(p.numel() for layer in params for p in layer.values()) * modules[-1].out_features
            chunk = max(1, min(chunk, _FULL_ELEMENTS // width))
        parts = [(_layer_norms if method == "layers" else _full_norms)(modules, params, rows)
                 for rows in flat.split(chunk)]
    input_sq, first_sq, theta_sq = (torch.cat(p) for p in zip(*parts))
    return JacobianNorms(input_sq, first_sq, theta_sq, flat.pow(2).sum(1))


def _layer_norms(modules, params, x):
    shifts = tuple(torch.zeros_like(p["weight"][:, 0]) for p in params)
    j_x, j_h = vmap(jacrev(lambda xi, s: _forward(modules, params, xi, s), argnums=(0, 1)), in_dims=(0, None))(
        x, shifts)
    inputs: list[torch.Tensor] = []
    _forward(modules, params, x, inputs=inputs)  # batched forward: the input a_{l−1} of every Linear
    h_sq = [j.pow(2).sum((1, 2)) for j in j_h]
    theta = sum(g * (a.pow(2).sum(1) + ("bias" in p)) for g, a, p in zip(h_sq, inputs, params))
    return j_x.pow(2).sum((1, 2)), h_sq[0] * x.pow(2).sum(1), theta


def _full_norms(modules, params, x):
    j_x, j_p = vmap(jacrev(lambda xi, p: _forward(modules, p, xi), argnums=(0, 1)), in_dims=(0, None))(x, params)
    per_param = [[j.pow(2).flatten(1).sum(1) for j in layer.values()] for layer in j_p]
    return j_x.pow(2).sum((1, 2)), per_param[0][0], sum(sum(layer) for layer in per_param)


@dataclass(frozen=True)
class Lemma31:
    """Lemma 3.1 of Tan & Huang (2023) (after Ma & Ying 2021) on one batch; book Part II. See :func:`lemma_3_1`."""

    lhs: float  # mean_i ‖x_i‖² ‖∇ₓf(x_i)‖²_F
    rhs: float  # ‖W₁‖₂² · mean_i ‖∇_{W₁}f(x_i)‖²_F
    sharpness_rhs: float  # ‖W₁‖₂² · tr H_GN / (2cn) = ‖W₁‖₂² · mean_i ‖J_θ f(x_i)‖²_F
    gauss_newton_trace: float  # tr H_GN = 2c Σ_i ‖J_θ f(x_i)‖²_F
    input_sensitivity: float  # mean_i ‖∇ₓf(x_i)‖²_F
    first_layer_norm: float  # ‖W₁‖₂
    loss_scale: float  # c
    loss: float | None  # c Σ_i ‖f(x_i) − onehot(y_i)‖² (the objective; 0 at interpolation), None without labels

    @property
    def slack(self) -> float:
        return _ratio(self.rhs, self.lhs)

    @property
    def sharpness_slack(self) -> float:
        return _ratio(self.sharpness_rhs, self.lhs)


def lemma_3_1(model, x: torch.Tensor, y: torch.Tensor | None = None, loss_scale: float | None = None,
              method: str = "layers") -> Lemma31:
    """Lemma 3.1 of Tan & Huang (2023), after Ma & Ying (2021), on an MLP and a batch (book Part II).

    With h₁ = W₁x + b₁, per output f_k: ∇_{W₁} f_k = (∂f_k/∂h₁) xᵀ and ∇ₓ f_k = W₁ᵀ ∂f_k/∂h₁, hence per sample
    ‖x‖² ‖∇ₓf(x)‖²_F ≤ ‖W₁‖₂² ‖∇_{W₁}f(x)‖²_F ≤ ‖W₁‖₂² ‖J_θ f(x)‖²_F (Frobenius norms over the C outputs).
    For L = c Σ_i ‖f(x_i) − y_i‖², tr ∇²_θ L = 2c Σ_i ‖J_θ f(x_i)‖²_F + 2c Σ_{i,k} r_ik tr ∇²_θ f_k(x_i)
    (r = f − y); the second (residual) term vanishes at an interpolating solution, so there

        (1/n) Σ_i ‖x_i‖² ‖∇ₓf(x_i)‖²_F  ≤  ‖W₁‖₂² · tr ∇²_θ L / (2cn)        (checked: lhs ≤ rhs ≤ sharpness_rhs).

    Reconstruction (assumption): the paper's formula is lost; with its L = 1/(2n) Σ ... (c = 1/(2n)) this reads
    E‖x‖²‖∇ₓf‖² ≤ ‖W₁‖₂² tr H, Ma & Ying's form, here for vector outputs. For a piecewise-linear (ReLU) MLP every
    parameter enters f piecewise linearly, so tr ∇²_θ f_k = 0 and tr H = tr H_GN at any θ (almost everywhere).
    ``loss_scale`` c defaults to the book's 'mean' MSE, 1/(n·C) (:func:`mse_loss_scale`); ``y`` (class indices)
    adds the objective's value ``loss``. ``method``: see :func:`jacobian_norms`.
    """
    modules = _mlp_layers(model)
    norms = jacobian_norms(model, x, method)
    n, num_classes = len(norms.x), modules[-1].out_features
    c = mse_loss_scale(n, num_classes) if loss_scale is None else loss_scale
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c <= 0:
        raise ValueError(f"loss_scale must be a finite number > 0, got {loss_scale!r}.")
    w1 = float(torch.linalg.matrix_norm(modules[0].weight.detach().to(torch.float64), ord=2))
    theta_sum = float(norms.parameters.sum())
    loss = None if y is None else _mse_value(modules, x, y, c)
    return Lemma31(lhs=float((norms.x * norms.input).mean()), rhs=w1 ** 2 * float(norms.first_layer.mean()),
                   sharpness_rhs=w1 ** 2 * theta_sum / n, gauss_newton_trace=2 * c * theta_sum,
                   input_sensitivity=float(norms.input.mean()), first_layer_norm=w1, loss_scale=float(c), loss=loss)


def _mse_value(modules, x, y, c) -> float:
    flat = _check_images(modules, x)
    out = _forward(modules, _params(modules), flat)
    if not isinstance(y, torch.Tensor) or y.shape != (len(flat),) or y.is_floating_point() \
            or int(y.min()) < 0 or int(y.max()) >= out.shape[1]:
        raise ValueError(f"y must be {len(flat)} class indices in [0, {out.shape[1]}), got "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}.")
    return c * float((out - torch.eye(out.shape[1], dtype=torch.float64, device=out.device)[y.to(out.device)])
                     .pow(2).sum())


def first_order_perturbation_error(model, x: torch.Tensor, sigma: float, chunk: int = 64) -> float:
    """First-order prediction σ² · mean_i ‖∇_z f(z_i)‖²_F of the perturbation error (Tan & Huang 2023, Figure 2
    a,b; book Part II).

    For ε ~ N(0, σ² I), E_ε ‖f(z + ε) − f(z)‖² = σ² ‖∇_z f(z)‖²_F + O(σ⁴) (exact for f linear in z), so this is
    the small-σ limit of :func:`~grokutils.metrics.robustness.perturbation_error`, to overlay on it. z is the
    image, or the token embeddings for token inputs (``model.embed`` / ``forward_from_embeddings``). MLPs use
    :func:`jacobian_norms`; other models an exact ``vmap(jacrev)`` on a float64 copy of the model."""
    sigma = _check_sigma(sigma)
    _check_chunk(chunk)
    if isinstance(x, torch.Tensor) and x.is_floating_point() and _is_mlp(model):
        return sigma ** 2 * float(jacobian_norms(model, x).input.mean())
    return _generic_first_order(model, x, sigma, chunk)


def _is_mlp(model) -> bool:
    try:
        _mlp_layers(model)
    except ValueError:
        return False
    return True


def _generic_first_order(model, x, sigma, chunk) -> float:
    double = copy.deepcopy(model).to(torch.float64).requires_grad_(False)
    z, f, _ = _input_space(double, x.to(torch.float64) if x.is_floating_point() else x)
    z = z.detach()

    def single(zi):
        return f(zi.unsqueeze(0)).flatten()

    with torch.enable_grad():
        total = sum(float(vmap(jacrev(single))(rows).pow(2).sum()) for rows in z.split(chunk))
    return sigma ** 2 * total / len(z)


# --------------------------------------------------------------------------- Section 5.2 (α = 2)


def unit_rows(z: torch.Tensor, name: str = "z") -> torch.Tensor:
    """Rows of an (n, d) representation scaled to unit L2 norm, in float64 (Tan & Huang 2023, Section 5;
    book Part II): the Z whose Gram matrix K = Z Zᵀ has unit diagonal. A zero row raises ValueError."""
    z = finite_float64(z, name, "robustness-bound")
    if z.ndim != 2 or z.shape[0] == 0 or z.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D (n × d) representation, got shape {tuple(z.shape)}.")
    norms = z.norm(dim=1, keepdim=True)
    if not bool((norms > 0).all()):
        raise ValueError(f"{name} has {int((norms == 0).sum())} zero row(s); unit rows (unit-diagonal K) need none.")
    return z / norms


def _check_pair(z, z_prime, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    pair = [finite_float64(v, label, "robustness-bound") for v, label in ((z, name), (z_prime, name + "'"))]
    for v, label in zip(pair, (name, name + "'")):
        if v.ndim != 2 or v.shape[0] == 0 or not bool(((v.norm(dim=1) - 1).abs() <= _UNIT_TOL).all()):
            raise ValueError(f"{label} must be an (n, d) matrix of unit rows (see unit_rows), got shape "
                             f"{tuple(v.shape)} with row norms off 1 by more than {_UNIT_TOL:g}.")
    if pair[0].shape != pair[1].shape:
        raise ValueError(f"{name} and {name}' must have the same shape, got {[tuple(v.shape) for v in pair]}.")
    return pair[0], pair[1]


def _check_gram(k, name: str) -> torch.Tensor:
    k = finite_float64(k, name, "robustness-bound")
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.shape[0] == 0:
        raise ValueError(f"{name} must be a square n × n Gram matrix, got shape {tuple(k.shape)}.")
    if not (bool(((k - k.T).abs() <= _UNIT_TOL).all()) and bool(((k.diagonal() - 1).abs() <= _UNIT_TOL).all())
            and bool((k.abs() <= 1 + _UNIT_TOL).all())):
        asym, diag, top = (float(v.abs().max()) for v in (k - k.T, k.diagonal() - 1, k))
        raise ValueError(f"{name} must be symmetric with unit diagonal and entries in [−1, 1] (a Gram matrix of unit "
                         f"rows), within {_UNIT_TOL:g}; got max |K − Kᵀ| {asym:.3g}, max |K_ii − 1| {diag:.3g}, "
                         f"max |K_ij| {top:.3g}.")
    return k


def _log_fro_sq(k: torch.Tensor) -> float:
    return 2.0 * math.log(float(torch.linalg.matrix_norm(k)))


def renyi2_entropy(gram: torch.Tensor) -> float:
    """Proposition 5.5 of Tan & Huang (2023) (after Tan et al. 2023), book Part II: for an n × n K with unit
    diagonal, H₂(K) = −log tr((K/n)²) = −log(‖K‖²_F / n²) (Rényi order 2 of K/n; tr (K/n)² = ‖K‖²_F/n² for
    symmetric K). Exact identity; equals ``matrix_renyi_entropy(K, 2)``."""
    k = _check_gram(gram, "gram")
    return 2.0 * math.log(k.shape[0]) - _log_fro_sq(k)


def renyi2_mutual_information(gram_a: torch.Tensor, gram_b: torch.Tensor) -> float:
    """Proposition 5.6 of Tan & Huang (2023) (after Tan et al. 2023), book Part II: for unit-diagonal K₁, K₂,
    I₂(K₁; K₂) = H₂(K₁) + H₂(K₂) − H₂(K₁∘K₂) = log(n² ‖K₁∘K₂‖²_F / (‖K₁‖²_F ‖K₂‖²_F)) (K₁∘K₂ has unit
    diagonal too). Exact identity; equals ``matrix_mutual_information(K₁, K₂, 2)``."""
    a, b = _check_gram(gram_a, "gram_a"), _check_gram(gram_b, "gram_b")
    if a.shape != b.shape:
        raise ValueError(f"gram_a and gram_b must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}.")
    return 2.0 * math.log(a.shape[0]) + _log_fro_sq(a * b) - _log_fro_sq(a) - _log_fro_sq(b)


def _four(a, b, a_prime, b_prime) -> list[torch.Tensor]:
    values = [finite_float64(v, name, "robustness-bound") for v, name in
              ((a, "a"), (b, "b"), (a_prime, "a'"), (b_prime, "b'"))]
    if len({v.shape for v in values}) != 1:
        raise ValueError(f"a, b, a', b' must have one shape, got {[tuple(v.shape) for v in values]}.")
    return values


def lemma_5_7(a, b, a_prime, b_prime) -> tuple[torch.Tensor, torch.Tensor]:
    """Lemma 5.7 of Tan & Huang (2023), book Part II: for unit vectors a, b, a', b' (last dimension; batched),
    |⟨a, b⟩ − ⟨a', b'⟩| ≤ ‖a − a'‖ + ‖b − b'‖. Returns (lhs, rhs) as float64 tensors. Proof:
    ⟨a,b⟩ − ⟨a',b'⟩ = ⟨a − a', b⟩ + ⟨a', b − b'⟩ and Cauchy–Schwarz. Equality e.g. at a = b = b' = e₁, a' = −e₁."""
    vectors = _four(a, b, a_prime, b_prime)
    if vectors[0].ndim == 0 or not all(bool(((v.norm(dim=-1) - 1).abs() <= _UNIT_TOL).all()) for v in vectors):
        raise ValueError(f"a, b, a', b' must be vectors of unit norm (within {_UNIT_TOL:g}), got shape "
                         f"{tuple(vectors[0].shape)}.")
    a, b, ap, bp = vectors
    return ((a * b).sum(-1) - (ap * bp).sum(-1)).abs(), (a - ap).norm(dim=-1) + (b - bp).norm(dim=-1)


def lemma_5_8(z: torch.Tensor, z_prime: torch.Tensor) -> Bound:
    """Lemma 5.8 of Tan & Huang (2023), book Part II: Z, Z' (n × d) with unit rows, K = Z Zᵀ, K' = Z' Z'ᵀ:

        ‖K − K'‖_F ≤ (‖Z‖₂ + ‖Z'‖₂) ‖Z − Z'‖_F  (rhs)  ≤  2√n ‖Z − Z'‖_F  (rhs_paper).

    rhs: K − K' = Z (Z − Z')ᵀ + (Z − Z') Z'ᵀ and ‖AB‖_F ≤ ‖A‖₂ ‖B‖_F; ‖Z‖₂ ≤ ‖Z‖_F = √n gives rhs_paper.
    Reconstruction (assumption): the paper's right side is lost; "from Lemma 5.7" gives |K_ij − K'_ij| ≤ u_i + u_j
    (u_i = ‖z_i − z'_i‖) and Σ_ij (u_i + u_j)² ≤ 4n Σ u_i², i.e. 2√n ‖Z − Z'‖_F, taken as the paper's form.
    (The paper's Z is d × n with unit columns and K = ZᵀZ: the same statement.)"""
    z, zp = _check_pair(z, z_prime, "Z")
    delta = float(torch.linalg.matrix_norm(z - zp))
    spectral = float(torch.linalg.matrix_norm(z, ord=2) + torch.linalg.matrix_norm(zp, ord=2))
    lhs = float(torch.linalg.matrix_norm(z @ z.T - zp @ zp.T))
    return Bound(lhs, spectral * delta, 2.0 * math.sqrt(z.shape[0]) * delta)


def lemma_5_10(a, b, a_prime, b_prime) -> tuple[torch.Tensor, torch.Tensor]:
    """Lemma 5.10 of Tan & Huang (2023), book Part II: for numbers (or same-shape tensors, elementwise) with
    |a|, |b|, |a'|, |b'| ≤ 1: |ab − a'b'| ≤ |a − a'| + |b − b'|, from ab − a'b' = a(b − b') + b'(a − a').
    Returns (lhs, rhs) as float64 tensors. The paper says "less or equal than 1"; absolute values are needed
    (a = b = a' = −10, b' = −9 breaks it), so |·| ≤ 1 is required here (assumption)."""
    values = _four(a, b, a_prime, b_prime)
    if not all(bool((v.abs() <= 1 + _UNIT_TOL).all()) for v in values):
        largest = max(float(v.abs().max()) for v in values)
        raise ValueError(f"a, b, a', b' must have absolute values <= 1, got largest {largest}.")
    a, b, ap, bp = values
    return (a * b - ap * bp).abs(), (a - ap).abs() + (b - bp).abs()


def lemma_5_11(k1, k1_prime, k2, k2_prime) -> Bound:
    """Lemma 5.11 of Tan & Huang (2023), book Part II: for Gram matrices of unit rows (entries in [−1, 1]),

        ‖K₁∘K₂ − K₁'∘K₂'‖_F ≤ ‖K₁ − K₁'‖_F + ‖K₂ − K₂'‖_F,

    Lemma 5.10 entrywise, then the triangle inequality of ‖·‖_F. Reconstruction (assumption): the paper's
    statement may already substitute Lemma 5.8 (2√n(‖Z₁ − Z₁'‖_F + ‖Z₂ − Z₂'‖_F)); :func:`theorem_5_12` does."""
    grams = [_check_gram(k, name) for k, name in ((k1, "K1"), (k1_prime, "K1'"), (k2, "K2"), (k2_prime, "K2'"))]
    if len({k.shape for k in grams}) != 1:
        raise ValueError(f"K1, K1', K2, K2' must have one shape, got {[tuple(k.shape) for k in grams]}.")
    a, ap, b, bp = grams
    rhs = float(torch.linalg.matrix_norm(a - ap) + torch.linalg.matrix_norm(b - bp))
    return Bound(float(torch.linalg.matrix_norm(a * b - ap * bp)), rhs, rhs)


def _entropy_step(u: float, n: int) -> float:
    """2 log(1 + u/√n): bound on |H₂(K') − H₂(K)| = 2 |log‖K'‖_F − log‖K‖_F| when ‖K' − K‖_F ≤ u, as
    ‖K‖_F, ‖K'‖_F ≥ √n (unit diagonal) and |‖K'‖_F − ‖K‖_F| ≤ u."""
    return 2.0 * math.log1p(u / math.sqrt(n))


def theorem_5_9(out_clean: torch.Tensor, out_perturbed: torch.Tensor) -> Bound:
    """Theorem 5.9 of Tan & Huang (2023), book Part II: ED at α = 2 is bounded by the output representation's
    perturbation. Z, Z' (n × d, unit rows; clean and perturbed), δ = ‖Z' − Z‖_F, s = ‖Z‖₂ + ‖Z'‖₂:

        |H₂(Z'Z'ᵀ) − H₂(ZZᵀ)| ≤ 2 log(1 + ‖K' − K‖_F/√n) ≤ 2 log(1 + s δ/√n)  (rhs)  ≤ 2 log(1 + 2δ)  (rhs_paper)

    (≤ 4δ). Prop 5.5 turns |ED| into 2|log‖K'‖_F − log‖K‖_F|; unit diagonals give ‖K‖_F ≥ √n; then Lemma 5.8.
    Reconstruction (assumption): the paper's right side is lost; this is the bound its argument yields."""
    z, zp = _check_pair(out_clean, out_perturbed, "Z")
    n, k, kp = z.shape[0], z @ z.T, zp @ zp.T
    lhs = abs(renyi2_entropy(kp) - renyi2_entropy(k))
    eight = lemma_5_8(z, zp)
    return Bound(lhs, _entropy_step(eight.rhs, n), _entropy_step(eight.rhs_paper, n))


def theorem_5_12(first_clean, first_perturbed, out_clean, out_perturbed) -> Bound:
    """Theorem 5.12 of Tan & Huang (2023), book Part II: MID at α = 2 is bounded by the perturbations of the
    first-layer (Z₁) and output (Z₂) representations (unit rows, n × d_j). With u_j = ‖K_j' − K_j‖_F, e(u) =
    2 log(1 + u/√n) and Prop 5.6 (I₂ = 2 log n + log‖K₁∘K₂‖²_F − log‖K₁‖²_F − log‖K₂‖²_F):

        |I₂(K₁';K₂') − I₂(K₁;K₂)| ≤ e(u₁ + u₂) + e(u₁) + e(u₂)                  (Lemma 5.11 for K₁∘K₂)

    with u_j ≤ s_j δ_j (rhs; s_j = ‖Z_j‖₂ + ‖Z_j'‖₂, δ_j = ‖Z_j' − Z_j‖_F) or ≤ 2√n δ_j (rhs_paper, ≤ 8(δ₁ + δ₂)).
    Reconstruction (assumption): the paper's right side is lost; this is the bound its argument yields."""
    z1, z1p = _check_pair(first_clean, first_perturbed, "Z1")
    z2, z2p = _check_pair(out_clean, out_perturbed, "Z2")
    if z1.shape[0] != z2.shape[0]:
        raise ValueError(f"Z1 and Z2 must have the same rows n, got {z1.shape[0]} and {z2.shape[0]}.")
    n = z1.shape[0]
    grams = [z @ z.T for z in (z1, z1p, z2, z2p)]
    lhs = abs(renyi2_mutual_information(grams[1], grams[3]) - renyi2_mutual_information(grams[0], grams[2]))
    b1, b2 = lemma_5_8(z1, z1p), lemma_5_8(z2, z2p)

    def chain(u1: float, u2: float) -> float:
        return _entropy_step(u1 + u2, n) + _entropy_step(u1, n) + _entropy_step(u2, n)

    return Bound(lhs, chain(b1.rhs, b2.rhs), chain(b1.rhs_paper, b2.rhs_paper))


def _tightest(lhs: torch.Tensor, rhs: torch.Tensor) -> Bound:
    """The off-diagonal entry where an entrywise bound is tightest (largest lhs / rhs), among entries with rhs
    above round-off (1e-12; diagonals of unit-row Grams differ by round-off only); the largest sides if none."""
    off = ~torch.eye(len(lhs), dtype=torch.bool, device=lhs.device)
    valid = off & (rhs > 1e-12)
    if not bool(valid.any()):
        top = float(rhs[off].max()) if len(lhs) > 1 else 0.0
        return Bound(float(lhs[off].max()) if len(lhs) > 1 else 0.0, top, top)
    ratio = torch.where(valid, lhs / torch.where(valid, rhs, 1.0), -1.0)
    i = int(ratio.flatten().argmax())
    return Bound(float(lhs.flatten()[i]), float(rhs.flatten()[i]), float(rhs.flatten()[i]))


def section5_bounds(first_clean, first_perturbed, out_clean, out_perturbed) -> dict[str, Bound]:
    """Every Section 5.2 bound of Tan & Huang (2023) (α = 2) on one batch; book Part II.

    The four (n, d) representations (first-layer and network outputs, on clean and perturbed inputs, rows
    matched) are L2-normalised row by row (:func:`unit_rows`; a zero row raises). Keys: ``lemma_5_7_first``,
    ``lemma_5_7_out`` and ``lemma_5_10`` (the tightest Gram entry), ``lemma_5_8_first``, ``lemma_5_8_out``,
    ``lemma_5_11``, ``theorem_5_9`` (|ED|, output) and ``theorem_5_12`` (|MID|), each a :class:`Bound`."""
    z1, z1p, z2, z2p = (unit_rows(z, name) for z, name in ((first_clean, "first_clean"), (first_perturbed,
                        "first_perturbed"), (out_clean, "out_clean"), (out_perturbed, "out_perturbed")))
    if len({z1.shape, z1p.shape}) != 1 or len({z2.shape, z2p.shape}) != 1 or z1.shape[0] != z2.shape[0]:
        raise ValueError(f"clean and perturbed representations must match and share n rows, got "
                         f"{[tuple(z.shape) for z in (z1, z1p, z2, z2p)]}.")
    k1, k1p, k2, k2p = (z @ z.T for z in (z1, z1p, z2, z2p))
    bounds = {}
    for name, z, zp, k, kp in (("first", z1, z1p, k1, k1p), ("out", z2, z2p, k2, k2p)):
        u = (z - zp).norm(dim=1)
        bounds[f"lemma_5_7_{name}"] = _tightest((k - kp).abs(), u[:, None] + u[None, :])
        bounds[f"lemma_5_8_{name}"] = lemma_5_8(z, zp)
    bounds["lemma_5_10"] = _tightest((k1 * k2 - k1p * k2p).abs(), (k1 - k1p).abs() + (k2 - k2p).abs())
    bounds["lemma_5_11"] = lemma_5_11(k1, k1p, k2, k2p)
    bounds["theorem_5_9"] = theorem_5_9(z2, z2p)
    bounds["theorem_5_12"] = theorem_5_12(z1, z1p, z2, z2p)
    return bounds


# --------------------------------------------------------------------------- callback


def _section5_rows(model, x, sigma) -> dict[str, float]:
    z, f, g = _input_space(model, x)
    if g is None:
        raise ValueError(f"{type(model).__name__} has no first_layer (first_layer_from_embeddings for tokens); "
                         "Theorems 5.9 and 5.12 need the first-layer representation.")
    noisy = _add_noise(z, sigma, torch.Generator().manual_seed(NOISE_SEED))
    reps = [_outputs(h, inputs, name) for inputs in (z, noisy)
            for h, name in ((g, "first-layer outputs"), (f, "network outputs"))]
    sums = {key: [] for key in ("theorem59", "theorem512")}
    for rows in torch.arange(len(z)).split(BATCH_SIZE):
        batch = [r[rows] for r in reps]
        keep = torch.stack([b.norm(dim=1) > 0 for b in batch]).all(0)  # a zero row has no unit direction
        if int(keep.sum()) < 2:
            continue
        first, out, first_p, out_p = (b[keep] for b in batch)
        sums["theorem59"].append(theorem_5_9(unit_rows(out), unit_rows(out_p)))
        sums["theorem512"].append(theorem_5_12(unit_rows(first), unit_rows(first_p), unit_rows(out), unit_rows(out_p)))
    if not sums["theorem59"]:
        raise ValueError(f"Theorems 5.9 and 5.12 need a batch of at least 2 non-zero rows, got {len(z)} probe rows.")
    row = {}
    for key, bounds in sums.items():
        lhs, rhs, paper = (math.fsum(getattr(b, side) for b in bounds) / len(bounds)
                           for side in ("lhs", "rhs", "rhs_paper"))
        row.update({f"{key}_lhs": lhs, f"{key}_rhs": rhs, f"{key}_rhs_paper": paper, f"{key}_slack": _ratio(rhs, lhs)})
    return row


def robustness_bounds_metrics(context) -> dict:
    """Training-loop callback: numerical checks of Tan & Huang (2023)'s bounds on the robustness probe (Part II).

    On the probe of :func:`~grokutils.metrics.robustness.robustness_metrics` (same indices, σ, noise seed and
    batches of 200): ``theorem59_*`` (|ED| at α = 2) and ``theorem512_*`` (|MID| at α = 2), each ``_lhs``,
    ``_rhs``, ``_rhs_paper`` averaged over batches, and ``_slack`` = mean rhs / mean lhs. For an MLP on images
    also, on the first :data:`JACOBIAN_SIZE` probe rows: ``lemma31_lhs``, ``lemma31_rhs``, ``lemma31_slack``,
    ``lemma31_sharpness_rhs``, ``lemma31_sharpness_slack``, ``perturbation_first_order`` (σ² E‖∇ₓf‖²_F) and,
    for an MSE run, ``gauss_newton_trace`` (tr H_GN of the 'mean' MSE objective, comparable with ``sharpness``;
    equal to the Hessian trace for a ReLU MLP). The theorems' lhs are |ED| and |MID| at α = 2 per batch, not the
    signed α = 1 ``ed`` / ``mid`` of the robustness callback; a row that is zero in any representation is left out.
    """
    model, data, config = context.model, context.data, context.config
    index = probe_indices(len(data.x_train), PROBE_SIZE, PROBE_SEED).to(data.x_train.device)
    x = data.x_train[index]
    sigma = SIGMA_IMAGE if x.is_floating_point() else SIGMA_EMBEDDING
    with torch.no_grad():
        row = _section5_rows(model, x, sigma)
    if not (x.is_floating_point() and _is_mlp(model)):
        return row
    lemma = lemma_3_1(model, x[:JACOBIAN_SIZE])
    row.update({"lemma31_lhs": lemma.lhs, "lemma31_rhs": lemma.rhs, "lemma31_slack": lemma.slack,
                "lemma31_sharpness_rhs": lemma.sharpness_rhs, "lemma31_sharpness_slack": lemma.sharpness_slack,
                "perturbation_first_order": sigma ** 2 * lemma.input_sensitivity})
    if config.loss == "mse":
        row["gauss_newton_trace"] = lemma.gauss_newton_trace
    return row
