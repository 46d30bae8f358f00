"""Flatness metrics of the loss landscape (Part IV).

Part IV of the book follows Han, Adilova, Petzka, Kleesiek & Kamp (2025), "Flatness is
Necessary, Neural Collapse is Not", which measures flatness of the last layer by the
*relative flatness* of Petzka et al. (2021), "Relative Flatness and Generalization":

    κ(W) = Σ_{s,s'} ⟨w_s, w_{s'}⟩ · Tr(H_{s,s'}),

where w_s is row s of the last-layer weight W (C × d) and H_{s,s'} the d × d block of
the Hessian of the mean cross-entropy loss with respect to W between rows s and s'.
For softmax cross-entropy with p_i = softmax(W h_i + b) the blocks are
H_{s,s'} = (1/N) Σ_i (p_is δ_ss' − p_is p_is') h_i h_iᵀ, which
:func:`relative_flatness_closed_form` uses; :func:`relative_flatness` builds the exact
Hessian with autograd instead (small models only).

Also here: Hutchinson's stochastic estimator of Tr(H) for any scalar loss and an exact
trace for tiny models, used to check it.

Conventions (tested in ``tests/test_metrics_flatness.py``):

* Everything is computed in float64; NaN or infinite inputs raise :class:`ValueError`.
* The Hessian is taken with respect to W only; a bias, when given, is held fixed.
* κ ≤ ‖W‖_F² · Tr(H) (:func:`flatness_bound`): with G = W Wᵀ and T_{ss'} = Tr(H_{ss'}),
  both positive semi-definite, κ = Tr(G T) ≤ λ_max(G) Tr(T) ≤ Tr(G) Tr(T).
* κ is invariant under the layer-wise rescaling h → c h, W → W / c (c > 0) and under the
  neuron-wise rescaling of Petzka et al.'s theorem: the rows w_s (output units) scaled by
  λ_s and the scaling undone in g (``output_scale`` of :func:`relative_flatness`). It is
  *not* in general invariant to a neuron-wise rescaling of the *feature* layer,
  h → h ⊙ c, W → W / c with distinct c_j (the reading in the book's Part IV spec): the
  logits are unchanged but ⟨w_s, w_s'⟩ and Tr H_ss' weight the columns differently. The quadratic form
  wᵀ H w (:func:`relative_flatness_quadratic`) is invariant to it; Figure 1 and Sections 5–6 show the trace
  form, as Definition 3.2 writes it.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from grokutils.metrics import collapse
from grokutils.metrics.checks import finite_float64

#: Largest total parameter count that :func:`exact_hessian_trace` accepts.
EXACT_TRACE_MAX_PARAMS = 5000


def _as_float64(x, name: str) -> torch.Tensor:
    return finite_float64(x, name, "flatness")


def _check_params(params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    params = list(params)
    if not params:
        raise ValueError("params is empty; pass at least one parameter tensor.")
    for k, p in enumerate(params):
        if not isinstance(p, torch.Tensor) or not p.requires_grad:
            raise ValueError(f"params[{k}] must be a tensor with requires_grad=True.")
        if not torch.isfinite(p.detach()).all():
            raise ValueError(f"params[{k}] contains NaN or infinite values.")
    return params


def _scalar_loss(loss_fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    loss = loss_fn()
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError("loss_fn() must return a scalar tensor.")
    if not torch.isfinite(loss.detach()).all():
        raise ValueError("loss_fn() returned a NaN or infinite loss.")
    return loss.reshape(())


# ----------------------------------------------------------------------------------------------
# Hessian traces of arbitrary losses
# ----------------------------------------------------------------------------------------------


def hutchinson_trace(
    loss_fn: Callable[[], torch.Tensor],
    params: Sequence[torch.Tensor],
    num_samples: int = 100,
    generator: torch.Generator | None = None,
) -> tuple[float, float]:
    """Hutchinson's estimate of Tr(∇²L) over ``params`` (Hutchinson 1989; Part IV).

    Draws Rademacher vectors v and averages vᵀ H v, each a Hessian-vector product
    (autograd with ``create_graph=True``, then the gradient of g·v). Returns
    ``(mean, standard_error)`` with SE = std(samples, ddof=1) / sqrt(num_samples).
    """
    if not isinstance(num_samples, int) or num_samples < 2:
        raise ValueError(f"num_samples must be an integer ≥ 2 (needed for a standard error), got {num_samples!r}.")
    params = _check_params(params)
    loss = _scalar_loss(loss_fn)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    samples = []
    for _ in range(num_samples):
        vs = [
            (torch.randint(0, 2, p.shape, generator=generator, device="cpu") * 2 - 1).to(p.device, p.dtype)
            for p in params
        ]
        gv = sum((g * v).sum() for g, v in zip(grads, vs))
        hvs = torch.autograd.grad(gv, params, retain_graph=True, allow_unused=True)
        val = sum((hv * v).sum().to(torch.float64) for hv, v in zip(hvs, vs) if hv is not None)
        samples.append(float(val))
    s = torch.tensor(samples, dtype=torch.float64)
    return float(s.mean()), float(s.std(unbiased=True) / math.sqrt(num_samples))


def exact_hessian_trace(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor]) -> float:
    """Exact Tr(∇²L) over ``params``: Σ_k e_kᵀ H e_k by one HVP per coordinate (tiny models only).

    The reference that :func:`hutchinson_trace` is tested against (sharpness of Part II,
    Figure 2 c-d; Hessian traces of Part IV)."""
    params = _check_params(params)
    total = sum(p.numel() for p in params)
    if total > EXACT_TRACE_MAX_PARAMS:
        raise ValueError(
            f"exact_hessian_trace needs one HVP per parameter; {total} parameters exceed the limit "
            f"of {EXACT_TRACE_MAX_PARAMS}. Use hutchinson_trace instead."
        )
    loss = _scalar_loss(loss_fn)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    trace = 0.0
    for k, (p, g) in enumerate(zip(params, grads)):
        flat_g = g.reshape(-1)
        for j in range(p.numel()):
            if not flat_g.requires_grad:
                break  # gradient independent of params: zero second derivatives
            (h,) = torch.autograd.grad(flat_g[j], p, retain_graph=True, allow_unused=True)
            if h is not None:
                trace += float(h.reshape(-1)[j].to(torch.float64))
    return trace


# ----------------------------------------------------------------------------------------------
# Last-layer Hessian and relative flatness (Petzka et al. 2021; Part IV)
# ----------------------------------------------------------------------------------------------


def _last_layer_inputs(features, labels, weight, bias):
    h = _as_float64(features, "features")
    w = _as_float64(weight, "weight")
    if h.ndim != 2:
        raise ValueError(f"features must be 2-D (N samples × d), got shape {tuple(h.shape)}.")
    if w.ndim != 2:
        raise ValueError(f"weight must be 2-D (C classes × d), got shape {tuple(w.shape)}.")
    n, d = h.shape
    c = w.shape[0]
    if n == 0:
        raise ValueError("features is empty; pass at least one sample.")
    if w.shape[1] != d:
        raise ValueError(f"weight has {w.shape[1]} columns but features have dimension {d}.")
    y = torch.as_tensor(labels).detach()
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"labels must be 1-D with {n} entries, got shape {tuple(y.shape)}.")
    if y.is_floating_point():
        raise ValueError("labels must be integer class indices.")
    y = y.to(torch.long)
    if (y < 0).any() or (y >= c).any():
        raise ValueError(f"labels must lie in [0, {c}).")
    if bias is None:
        b = torch.zeros(c, dtype=torch.float64)
    else:
        b = _as_float64(bias, "bias")
        if b.shape != (c,):
            raise ValueError(f"bias must have shape ({c},), got {tuple(b.shape)}.")
    return h, y, w, b


def _output_scale(output_scale, c: int) -> torch.Tensor:
    if output_scale is None:
        return torch.ones(c, dtype=torch.float64)
    scale = _as_float64(output_scale, "output_scale")
    if scale.shape != (c,) or not bool((scale > 0).all()):
        raise ValueError(f"output_scale must be {c} positive numbers (one per row of weight); got {scale.tolist()}.")
    return scale


def last_layer_hessian(features, labels, weight, bias=None, output_scale=None) -> torch.Tensor:
    """Exact float64 Hessian of the mean cross-entropy w.r.t. W (C × d), as a (C·d, C·d) matrix.

    Index s·d + j is entry W[s, j] (row-major), so block (s, s') is H_{s,s'} of Part IV.
    ``output_scale`` (C positive numbers, default ones) multiplies the logits row-wise,
    logits = output_scale ⊙ (W h + b): the "g" of Petzka et al.'s f = g(W φ(x)) that can absorb
    a neuron-wise rescaling of W's rows.
    """
    h, y, w, b = _last_layer_inputs(features, labels, weight, bias)
    c, d = w.shape
    scale = _output_scale(output_scale, c)

    def loss(wm: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(scale * (h @ wm.T + b), y)

    hess = torch.autograd.functional.hessian(loss, w)
    return hess.reshape(c * d, c * d)


def _kappa_from_block_traces(w: torch.Tensor, traces: torch.Tensor) -> float:
    return float((w @ w.T * traces).sum())


def relative_flatness(features, labels, weight, bias=None, output_scale=None) -> float:
    """Relative flatness κ = Σ_{s,s'} ⟨w_s, w_{s'}⟩ Tr(H_{s,s'}) (Petzka et al. 2021; Part IV, Def. 3.2).

    Uses the exact autograd Hessian of :func:`last_layer_hessian`; for small models. The sum
    runs over the rows w_s of W (one per output unit). Invariant, as Petzka et al. prove, to a
    neuron-wise rescaling of those rows compensated in g: W → diag(λ) W, b → λ ⊙ b,
    ``output_scale`` → ``output_scale`` / λ (tested), and to h → c·h, W → W/c. The autograd
    Hessian holds p_s − p_s² in floating point, so once the softmax saturates (1 − max p ≲ 1e-12)
    this value keeps only a few digits; :func:`relative_flatness_closed_form` keeps them all.
    """
    h, y, w, b = _last_layer_inputs(features, labels, weight, bias)
    c, d = w.shape
    hess = last_layer_hessian(h, y, w, b, output_scale).reshape(c, d, c, d)
    traces = torch.diagonal(hess, dim1=1, dim2=3).sum(-1)  # (C, C): Tr H_{s,s'}
    return _kappa_from_block_traces(w, traces)


def _softmax_and_complement(h, w, b) -> tuple[torch.Tensor, torch.Tensor]:
    """p = softmax(W h + b) and q = 1 − p, both (N, C), with q free of cancellation when p saturates.

    q_c = 1 − p_c is exact to rounding when p_c ≤ 1/2; only the arg-max class can exceed 1/2, and
    for it q = Σ_{j≠c} p_j = exp(logsumexp_{j≠c} z_j − logsumexp_j z_j), from the logits z.
    """
    logits = h @ w.T + b
    lse = torch.logsumexp(logits, dim=1, keepdim=True)
    p = torch.exp(logits - lse)
    top = logits.argmax(dim=1, keepdim=True)
    rest = torch.logsumexp(logits.scatter(1, top, -math.inf), dim=1, keepdim=True) - lse
    return p, (1.0 - p).scatter(1, top, torch.exp(rest))


def _kappa_closed_form(h, w, b) -> float:
    """κ = (1/N) Σ_i ‖h_i‖² · ½ Σ_{s,t} p_is p_it ‖w_s − w_t‖², a sum of non-negative terms.

    Equal to (1/N) Σ_i ‖h_i‖² (Σ_s G_ss p_is − p_iᵀ G p_i), G = W Wᵀ, because Σ_t p_it = 1; that form
    cancels catastrophically once 1 − max_s p_is falls below ~1e-12 (memorised training points).
    """
    p, _ = _softmax_and_complement(h, w, b)
    dist2 = (w[:, None, :] - w[None, :, :]).pow(2).sum(-1)  # ‖w_s − w_t‖², from differences
    per_sample = 0.5 * torch.einsum("is,st,it->i", p, dist2, p)
    return float((per_sample * (h * h).sum(1)).sum() / h.shape[0])


def _hessian_trace_closed_form(h, w, b) -> float:
    """Tr H = (1/N) Σ_i ‖h_i‖² Σ_c p_ic (1 − p_ic), with 1 − p_ic as in :func:`_softmax_and_complement`."""
    p, q = _softmax_and_complement(h, w, b)
    return float(((p * q).sum(1) * (h * h).sum(1)).sum() / h.shape[0])


def relative_flatness_closed_form(features, labels, weight, bias=None) -> float:
    """κ from the softmax cross-entropy closed form (Petzka et al. 2021; Part IV, Def. 3.2).

    Tr(H_{s,s'}) = (1/N) Σ_i (p_is δ_ss' − p_is p_is') ‖h_i‖² with p_i = softmax(W h_i + b), so
    κ = Σ_{s,s'} ⟨w_s, w_s'⟩ Tr(H_{s,s'}) = (1/N) Σ_i ‖h_i‖² · ½ Σ_{s,t} p_is p_it ‖w_s − w_t‖²,
    evaluated in that last form: every term is non-negative, so κ keeps its relative precision
    when the softmax saturates (logit gaps of 30–60 give 1 − max p < 1e-12, where
    Σ_s G_ss p_s − pᵀ G p loses all digits). Cost O(N·C² + C²·d + N·d), no Hessian is formed.
    Labels do not enter the Hessian, but are validated.
    """
    h, _, w, b = _last_layer_inputs(features, labels, weight, bias)
    return _kappa_closed_form(h, w, b)


def relative_flatness_quadratic(features, labels, weight, bias=None) -> float:
    """The quadratic form Σ_{s,s'} w_sᵀ H_{s,s'} w_{s'} = wᵀ H w, beside Definition 3.2's trace form (Part IV).

    With z_is = ⟨w_s, h_i⟩ it is (1/N) Σ_i ½ Σ_{s,t} p_is p_it (z_is − z_it)², the mean over samples of the
    variance of the (bias-free) logits under the softmax, so it depends on W and h only through the logits:
    invariant to the neuron-wise rescaling of the features h → h ⊙ c, W → W / c (c_j > 0, compensated column
    by column), which changes the trace form κ of :func:`relative_flatness_closed_form` (tested; the Part IV
    theory page shows the counterexample). Evaluated as a sum of non-negative terms, like κ.
    """
    h, _, w, b = _last_layer_inputs(features, labels, weight, bias)
    p, _ = _softmax_and_complement(h, w, b)
    z = h @ w.T
    gap2 = (z[:, :, None] - z[:, None, :]).pow(2)  # (N, C, C): (z_is − z_it)²
    return float(0.5 * torch.einsum("is,ist,it->", p, gap2, p) / h.shape[0])


def flatness_bound(features, labels, weight, bias=None) -> float:
    """‖W‖_F² · Tr(H), the ‖w‖²·Tr H flatness measure, an upper bound on κ (Part IV, Lemma A.2).

    H is the full last-layer Hessian; Tr(H) = (1/N) Σ_i ‖h_i‖² Σ_c p_ic (1 − p_ic), with
    1 − p_ic taken as Σ_{j≠c} p_ij (from a logsumexp over j ≠ c) for the arg-max class, so that
    a saturated softmax keeps its digits (Σ p − Σ p² would cancel).
    """
    h, _, w, b = _last_layer_inputs(features, labels, weight, bias)
    return float((w * w).sum()) * _hessian_trace_closed_form(h, w, b)


# --------------------------------------------------------------------------- callback

#: What :func:`flatness_metrics` records.
FLATNESS_KEYS = ("ncc", "ncc_mean", "relative_flatness", "flatness_bound", "angle_deviation")


@torch.no_grad()
def flatness_metrics(context) -> dict:
    """Training-loop callback: Part IV's measures on the whole training split (Han et al. 2025, Figure 1).

    "Flatness is Necessary, Neural Collapse is Not": ``ncc`` (Definition 3.1, the paper's sum form,
    :func:`grokutils.metrics.collapse.ncc`), ``ncc_mean`` (the authors' averaged form), ``relative_flatness``
    (Definition 3.2, :func:`relative_flatness_closed_form`), ``flatness_bound`` (‖W‖²_F · Tr H, Lemma A.2)
    and ``angle_deviation``, the mean absolute difference (radians) between the angles of the centred class
    means and the simplex angle arccos(−1/(K − 1)) (Figure 3). Features are the model's penultimate map
    (``model.features``), the last layer its ``head``; book Part IV. A run whose features or last layer are no
    longer finite (it diverged) records NaN for every key.
    """
    trained = _training_last_layer(context)
    if trained is None:
        return dict.fromkeys(FLATNESS_KEYS, math.nan)  # a run that diverged (Appendix B's large λ): nothing to measure
    features, y, weight, bias = trained
    angles = collapse.class_mean_angles(features, y)
    return {
        "ncc": collapse.ncc(features, y),
        "ncc_mean": collapse.ncc_mean(features, y),
        "relative_flatness": relative_flatness_closed_form(features, y, weight, bias),
        "flatness_bound": flatness_bound(features, y, weight, bias),
        "angle_deviation": float((angles - collapse.simplex_angle(int(torch.unique(y).numel()))).abs().mean()),
    }


#: What :func:`flatness_invariant_metrics` records.
FLATNESS_INVARIANT_KEYS = ("flatness_quadratic",)


@torch.no_grad()
def flatness_invariant_metrics(context) -> dict:
    """Training-loop callback: ``flatness_quadratic``, the quadratic form wᵀHw of the last layer on the whole training
    split (:func:`relative_flatness_quadratic`), beside Definition 3.2's trace form κ that ``flatness`` records.
    Unlike κ it is invariant to a neuron-wise rescaling of the features, so it tells a sharper function from a
    rescaled one (Part IV's theory page). NaN for a run that diverged, as :func:`flatness_metrics`."""
    trained = _training_last_layer(context)
    if trained is None:
        return dict.fromkeys(FLATNESS_INVARIANT_KEYS, math.nan)
    return {"flatness_quadratic": relative_flatness_quadratic(*trained)}


def _training_last_layer(context) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None] | None:
    """The model's penultimate features of the whole training split (float64, in chunks), the labels and its head's
    weight and bias; None when the features or the weight are no longer finite (the run diverged)."""
    model, x, y = context.model, context.data.x_train, context.data.y_train
    features = torch.cat([model.features(chunk) for chunk in x.split(8192)]).double()
    weight, bias = model.head.weight, model.head.bias
    if not (bool(torch.isfinite(features).all()) and bool(torch.isfinite(weight).all())):
        return None
    return features, y, weight, bias
