"""Numerical checks of the theory of Part IV: Han, Adilova, Petzka, Kleesiek & Kamp (2025), "Flatness is
Necessary, Neural Collapse is Not" (Proposition 5.2 = A.4, Lemmas A.1 and A.2, Appendix D).

Notation: features φ_i (N × d), labels y_i ∈ {0..k−1}, last layer W (k × d, rows w_j) and bias b,
p_i = softmax(W φ_i + b), cross-entropy averaged over samples; H is its Hessian w.r.t. W (bias held
fixed), κ the relative flatness of Definition 3.2, κ = Σ_{s,s'} ⟨w_s, w_s'⟩ Tr H_{s,s'} (computed by
:mod:`grokutils.metrics.flatness`). Everything is float64 on the CPU.

What the checks show (``tests/test_metrics_flatness_theory.py``):

* Proposition 5.2 is a bound, never an equality. Under exact NC1–NC4 with μ_g = 0 the proof's own
  softmax gives κ exactly, κ = λ² k M⁴ e (2 + (k−2) e) / (1 + (k−1) e)², e = exp(−λM²k/(k−1)), so
  κ / bound = (2 + (k−2) e) / k² ∈ [2/k², 1/k]: k = 2 gives 1/2, k = 10 between 1/50 and 1/10. The slack
  has three factors: Lemma A.2 (exactly 1/(k−1) under NC; the sharper λ_max(WWᵀ)·Tr H is tight there),
  the proof's Tr H ≤ M²(k−1)k e/(1+(k−1)e)² ((2+(k−2)e)/k) and its last step k−1 ≤ k ((k−1)/k).
* The proof uses ‖φ(x_c)‖² = M², true only when the global mean μ_g is 0 (NC2 fixes ‖μ_c − μ_g‖ = M,
  not ‖μ_c‖). κ is not translation invariant in φ: with μ_g ⟂ the simplex, κ grows by 1 + ‖μ_g‖²/M²
  and the stated bound fails once ‖μ_g‖²/M² > k²/(2 + (k−2)e) − 1 (k = 2: ‖μ_g‖ > M). ReLU features
  are non-negative, so their simplex cannot be centred at 0. :func:`proposition52_kappa` gives the
  exact value with the offset.
* NC2's Gram matrix forces Σ_c (μ_c − μ_g) = 0, so μ_g is the mean of the class means (the global
  feature mean only for balanced classes); Proposition 5.2 also needs C = k outputs and λ > 0.
* Lemma A.1 needs NC4 for every h ∈ ℝ^d: on the training features alone it fails (tested).
* The spec's transcription of the bound equals the paper's (both in Prop. 5.2 and A.4).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F

from grokutils.metrics.flatness import (_hessian_trace_closed_form, _kappa_closed_form, _last_layer_inputs,
                                        _softmax_and_complement, relative_flatness, relative_flatness_closed_form)
from grokutils.metrics.probe import probe_indices

__all__ = [
    "NCConfiguration",
    "flatness_theory_metrics",
    "lemma_a1_check",
    "lemma_a2_check",
    "neural_collapse_configuration",
    "proposition52_bound",
    "proposition52_grid",
    "proposition52_kappa",
    "proposition_a4_check",
    "representativeness",
    "representativeness_terms",
]

#: Training (and test) samples of the callback's fixed probes, and their seed (as Part II's sharpness).
PROBE_SIZE, PROBE_SEED = 1000, 0
#: Appendix D's KDE: Gaussian bandwidth, per-sample weight; Monte-Carlo draws per training point and seed.
BANDWIDTH, SAMPLE_WEIGHT, REP_SAMPLES, REP_SEED = 1.0, 0.02, 16, 0
#: Most float64 numbers one chunk of perturbed features may hold in :func:`representativeness_terms`.
_CHUNK_ELEMENTS = 2_000_000
_WEIGHTINGS = ("normalized", "feature_norm", "literal")


# ---------------------------------------------------------------------------------- Proposition 5.2


def _check_klm(k, M, lam) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k must be an integer ≥ 2 (number of classes), got {k!r}.")
    for name, v in (("M", M), ("lam", lam)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a finite positive number, got {v!r}.")


class NCConfiguration(NamedTuple):
    """An exact neural-collapse configuration (Part IV, Assumptions 5.1 / A.3), float64 tensors.

    ``features`` (k·n, d) with ``labels`` (class c repeated n times), ``weight`` (k, d), ``bias`` (k,),
    ``class_means`` (k, d) and ``global_mean`` (d,) = the mean of the class means."""

    features: torch.Tensor
    labels: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    class_means: torch.Tensor
    global_mean: torch.Tensor


def neural_collapse_configuration(k: int, M: float, lam: float, d: int | None = None, samples_per_class: int = 3,
                                  seed: int = 0, global_mean_norm: float = 0.0,
                                  bias_constant: float = 0.0) -> NCConfiguration:
    """Features, labels and last layer satisfying NC1–NC4 exactly (Part IV, Han et al. 2025, Assumptions 5.1).

    (NC1) φ(x) = μ_c for every x ∈ D_c (``samples_per_class`` copies of each mean);
    (NC2) ‖μ_c − μ_g‖₂ = M and (μ_j − μ_g)ᵀ(μ_c − μ_g) = −M²/(k−1) for j ≠ c: the rows of
    √(k/(k−1)) (I_k − 11ᵀ/k), scaled by M and rotated into ℝ^d by a random orthonormal frame (``seed``);
    (NC3) w_j = λ(μ_j − μ_g); (NC4) argmax_j w_jᵀh + b_j = argmin_j ‖h − μ_j‖ for every h ∈ ℝ^d, which holds
    with the bias of Lemma A.1, b_j = d − λ(μ_j − μ_g)ᵀμ_g (d = ``bias_constant``). ``global_mean_norm``
    puts μ_g at that distance from 0, orthogonal to the simplex (needs d ≥ k; default 0, the case the
    proof of Proposition 5.2 silently assumes). ``d`` defaults to k; d ≥ k − 1 is needed.
    """
    _check_klm(k, M, lam)
    d = k if d is None else d
    if not (isinstance(samples_per_class, int) and samples_per_class >= 1):
        raise ValueError(f"samples_per_class must be an integer ≥ 1, got {samples_per_class!r}.")
    if not (math.isfinite(global_mean_norm) and global_mean_norm >= 0):
        raise ValueError(f"global_mean_norm must be finite and ≥ 0, got {global_mean_norm!r}.")
    need = k if global_mean_norm > 0 else k - 1
    if not isinstance(d, int) or d < need:
        raise ValueError(f"d must be an integer ≥ {need} for k = {k} (global_mean_norm={global_mean_norm}), got {d!r}.")
    f64 = torch.float64
    centring = torch.eye(k, dtype=f64) - 1.0 / k
    etf = math.sqrt(k / (k - 1)) * centring  # unit rows, pairwise inner product −1/(k−1), rows sum to 0
    _, vecs = torch.linalg.eigh(centring)  # eigenvalue 0 (the ones vector) first, then 1 (k−1 times)
    coords = etf @ vecs[:, 1:]  # (k, k−1): the simplex in an orthonormal basis of 1^⊥
    gen = torch.Generator().manual_seed(seed)
    frame, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=f64))
    centred = M * coords @ frame[:, : k - 1].T
    mu_g = global_mean_norm * frame[:, k - 1] if global_mean_norm > 0 else torch.zeros(d, dtype=f64)
    means = mu_g + centred
    weight = lam * centred
    bias = bias_constant - lam * centred @ mu_g
    labels = torch.arange(k).repeat_interleave(samples_per_class)
    return NCConfiguration(means[labels].clone(), labels, weight, bias, means, mu_g)


def _margin_terms(k: int, M: float, lam: float) -> tuple[float, float]:
    """t = λδ = λM²k/(k−1) (the logit margin of the proof) and e = exp(−t)."""
    t = lam * M * M * k / (k - 1)
    return t, math.exp(-t)


def proposition52_bound(k: int, M: float, lam: float, log: bool = False) -> float:
    """Right side of Proposition 5.2 (= A.4) of Han et al. (2025), Part IV:

        κ_φ(w) ≤ λ² k³ M⁴ · e^{−λM²·k/(k−1)} / (1 + (k−1) e^{−λM²·k/(k−1)})²,

    as the paper prints it (the spec transcribes it identically). ``log=True`` returns its logarithm,
    2 ln λ + 3 ln k + 4 ln M − λM²k/(k−1) − 2 ln(1 + (k−1)e^{−λM²k/(k−1)}), finite where the value
    underflows (λM²k/(k−1) ≳ 745). Asymptotically λ²k³M⁴ e^{−λM²k/(k−1)}: exponential decay in λ.
    """
    _check_klm(k, M, lam)
    t, e = _margin_terms(k, M, lam)
    if log:
        return 2 * math.log(lam) + 3 * math.log(k) + 4 * math.log(M) - t - 2 * math.log1p((k - 1) * e)
    return lam**2 * k**3 * M**4 * e / (1 + (k - 1) * e) ** 2


def proposition52_kappa(k: int, M: float, lam: float, global_mean_norm: float = 0.0, log: bool = False) -> float:
    """Exact κ_φ(w) of an NC1–NC4 configuration (:func:`neural_collapse_configuration`), Part IV, Prop. 5.2.

    With the proof's softmax (ŷ_c = 1/(1+(k−1)e), ŷ_j = e/(1+(k−1)e), e = e^{−λM²k/(k−1)}),
    ‖w_s − w_t‖² = 2λ²M²k/(k−1) (s ≠ t) and ‖φ‖² = M² + ‖μ_g‖² (μ_g ⟂ the simplex, balanced classes):

        κ = (M² + ‖μ_g‖²) · λ² k M² · e (2 + (k−2) e) / (1 + (k−1) e)²,

    so κ / bound = (1 + ‖μ_g‖²/M²)(2 + (k−2)e)/k². ``log=True`` returns ln κ (finite when κ underflows).
    """
    _check_klm(k, M, lam)
    if not (math.isfinite(global_mean_norm) and global_mean_norm >= 0):
        raise ValueError(f"global_mean_norm must be finite and ≥ 0, got {global_mean_norm!r}.")
    t, e = _margin_terms(k, M, lam)
    sq = M * M + global_mean_norm**2
    if log:
        return (math.log(sq) + 2 * math.log(lam) + math.log(k) + 2 * math.log(M) - t + math.log(2 + (k - 2) * e)
                - 2 * math.log1p((k - 1) * e))
    return sq * lam**2 * k * M**2 * e * (2 + (k - 2) * e) / (1 + (k - 1) * e) ** 2


def proposition52_grid(ks, Ms, lams, samples_per_class: int = 2, seed: int = 0, global_mean_norm: float = 0.0,
                       autograd_max_params: int = 1000) -> list[dict]:
    """Proposition 5.2 of Han et al. (2025), Part IV, on every (k, M, λ) of a grid: one dict per point.

    Builds :func:`neural_collapse_configuration` (d = k) and records ``kappa_autograd``
    (:func:`~grokutils.metrics.flatness.relative_flatness`, the autograd Hessian; NaN when k·d exceeds
    ``autograd_max_params``), ``kappa_closed_form`` (the cancellation-free closed form; 0 once e^{−margin}
    underflows), ``kappa_exact`` and ``log_kappa`` (:func:`proposition52_kappa`), ``bound`` and
    ``log_bound`` (:func:`proposition52_bound`), ``ratio`` = κ/bound from the logs, ``ratio_closed_form``
    (NaN where the bound underflows), ``lemma_a2_bound`` = ‖w‖²Tr H, ``margin`` = λM²k/(k−1), and
    ``holds`` (κ ≤ bound in logs and in float64, relative tolerance 1e-12).
    """
    rows = []
    for k in ks:
        for M in Ms:
            for lam in lams:
                cfg = neural_collapse_configuration(k, M, lam, samples_per_class=samples_per_class, seed=seed,
                                                    global_mean_norm=global_mean_norm)
                args = (cfg.features, cfg.labels, cfg.weight, cfg.bias)
                auto = relative_flatness(*args) if cfg.weight.numel() <= autograd_max_params else math.nan
                closed = relative_flatness_closed_form(*args)
                bound, log_bound = proposition52_bound(k, M, lam), proposition52_bound(k, M, lam, log=True)
                log_kappa = proposition52_kappa(k, M, lam, global_mean_norm, log=True)
                rows.append({
                    "k": k, "M": M, "lam": lam, "margin": _margin_terms(k, M, lam)[0],
                    "kappa_autograd": auto, "kappa_closed_form": closed,
                    "kappa_exact": math.exp(log_kappa), "log_kappa": log_kappa,
                    "bound": bound, "log_bound": log_bound, "ratio": math.exp(log_kappa - log_bound),
                    "ratio_closed_form": closed / bound if bound > 0 else math.nan,
                    "lemma_a2_bound": lemma_a2_check(*args)["rhs"],
                    "holds": log_kappa <= log_bound + 1e-12 and closed <= bound * (1 + 1e-12),
                })
    return rows


# ------------------------------------------------------------------------------ Lemmas A.1 and A.2


def lemma_a2_check(features, labels, weight, bias=None, rtol: float = 1e-12) -> dict:
    """Lemma A.2 of Han et al. (2025), Part IV: κ_φ(w) ≤ ‖w‖² Tr(H(w)), with the proof's middle step

        κ = Σ_{s,s'} ⟨w_s, w_s'⟩ Tr H_{s,s'} ≤ (Σ_s ‖w_s‖ √Tr H_{s,s})² ≤ (Σ_s ‖w_s‖²)(Σ_s Tr H_{s,s}).

    Both steps are Cauchy–Schwarz; the first needs |Tr H_ss'| ≤ √(Tr H_ss Tr H_s's'), i.e. the matrix
    T_ss' = Tr H_ss' positive semi-definite, true for cross-entropy (any loss convex in the logits), the
    loss assumed here. Returns ``lhs`` κ (closed form), ``intermediate``, ``rhs`` ‖w‖²_F·Tr H, ``slack``
    = rhs − lhs, ``ratio`` = lhs/rhs, ``spectral_bound`` λ_max(WWᵀ)·Tr H (sharper: κ = Tr(GT) with
    G = WWᵀ), ``trace_h``, ``weight_norm_sq`` and ``holds`` (both steps, relative tolerance ``rtol``).
    Equality κ = rhs: W = 0, all φ = 0, or k = 2 with w₂ = −w₁ (then G and T are rank one and aligned;
    for k ≥ 3 T has rank ≥ 2 because every p_ic > 0, so the inequality is strict).
    """
    h, _, w, b = _last_layer_inputs(features, labels, weight, bias)
    p, q = _softmax_and_complement(h, w, b)
    diag_t = (p * q * (h * h).sum(1, keepdim=True)).mean(0)  # Tr H_{s,s}
    kappa = _kappa_closed_form(h, w, b)
    intermediate = float((w.norm(dim=1) * diag_t.sqrt()).sum()) ** 2
    trace_h, weight_sq = float(diag_t.sum()), float((w * w).sum())
    rhs = weight_sq * trace_h
    spectral = float(torch.linalg.eigvalsh(w @ w.T)[-1].clamp_min(0)) * trace_h
    return {"lhs": kappa, "intermediate": intermediate, "rhs": rhs, "slack": rhs - kappa,
            "ratio": kappa / rhs if rhs > 0 else math.nan, "spectral_bound": spectral, "trace_h": trace_h,
            "weight_norm_sq": weight_sq,
            "holds": kappa <= intermediate * (1 + rtol) + 1e-300 and intermediate <= rhs * (1 + rtol) + 1e-300}


def _nc_geometry(features, labels, weight, bias):
    """Inputs, class means μ_c, μ_g = mean of the class means, centred means and the NC3 fit λ̂."""
    h, y, w, b = _last_layer_inputs(features, labels, weight, bias)
    k = w.shape[0]
    counts = torch.bincount(y, minlength=k)
    if bool((counts == 0).any()):
        raise ValueError(f"every one of the k = {k} classes (rows of weight) needs samples: NC is stated for C = k.")
    means = torch.zeros(k, h.shape[1], dtype=h.dtype).index_add_(0, y, h) / counts[:, None]
    mu_g = means.mean(0)
    centred = means - mu_g
    denom = float((centred * centred).sum())
    if denom == 0:
        raise ValueError("all class means coincide: the NC geometry (M = 0) is undefined.")
    lam = float((w * centred).sum()) / denom  # least-squares λ in w_j ≈ λ(μ_j − μ_g)
    return h, y, w, b, counts, means, mu_g, centred, lam


def _nc4_agreement(points, w, b, means) -> float:
    """Fraction of points where argmax_j (w_jᵀh + b_j) = argmin_j ‖h − μ_j‖ (NC4)."""
    classifier = (points @ w.T + b).argmax(1)
    nearest = torch.cdist(points, means, compute_mode="donot_use_mm_for_euclid_dist").argmin(1)
    return float((classifier == nearest).double().mean())


def lemma_a1_check(features, labels, weight, bias=None, num_probes: int = 1000, seed: int = 0,
                   rtol: float = 1e-9) -> dict:
    """Lemma A.1 of Han et al. (2025), Part IV: under NC1–NC4 there is a constant d with

        b_j + λ(μ_j − μ_g)ᵀ μ_g = d   for every class j.

    Uses μ_c the class means, μ_g their mean, λ̂ the least-squares fit of NC3 (w_j = λ(μ_j − μ_g)).
    Returns ``constants`` (the k values), ``lhs`` = their spread max − min, ``rhs`` = 0, ``slack`` = −lhs,
    ``relative_spread`` = spread / (λ̂ M²) (M² the mean ‖μ_j − μ_g‖², λ̂M² the logit scale), ``lam``,
    ``nc3_residual`` = ‖W − λ̂(μ − μ_g)‖_F / ‖W‖_F, NC4 agreement on the training features
    (``nc4_train``) and on ``num_probes`` Gaussian points around μ_g with per-coordinate standard deviation
    M/√(k−1) (``nc4_probe``), and ``holds`` (relative spread ≤ ``rtol``). The lemma is true when NC4
    holds for every h ∈ ℝ^d: the arg-max regions of λ(μ_j − μ_g)ᵀh + b_j are the Voronoi cells of the μ_j
    iff b_j = const − λ‖μ_j‖²/2, and ‖μ_j‖² = M² + ‖μ_g‖² + 2(μ_j − μ_g)ᵀμ_g by NC2. With NC4 only on the
    training features (the k means) any small change of b keeps NC4 there and breaks the constant.
    """
    h, _, w, b, _, means, mu_g, centred, lam = _nc_geometry(features, labels, weight, bias)
    k = w.shape[0]
    constants = b + lam * centred @ mu_g
    spread = float(constants.max() - constants.min())
    m2 = float((centred * centred).sum(1).mean())
    scale = abs(lam) * m2
    gen = torch.Generator().manual_seed(seed)
    probes = mu_g + math.sqrt(m2 / (k - 1)) * torch.randn(num_probes, h.shape[1], generator=gen, dtype=h.dtype)
    relative = spread / scale if scale > 0 else math.inf
    return {"constants": constants, "lhs": spread, "rhs": 0.0, "slack": -spread, "relative_spread": relative,
            "lam": lam, "nc3_residual": float((w - lam * centred).norm() / w.norm()) if w.norm() > 0 else math.nan,
            "nc4_train": _nc4_agreement(h, w, b, means), "nc4_probe": _nc4_agreement(probes, w, b, means),
            "holds": relative <= rtol}


def proposition_a4_check(features, labels, weight, bias=None, tol: float = 1e-9) -> dict:
    """Proposition A.4 (= 5.2) of Han et al. (2025), Part IV, on given features and last layer:

        κ_φ(w) ≤ λ² k³ M⁴ e^{−λM²k/(k−1)} / (1 + (k−1) e^{−λM²k/(k−1)})²,

    with k = C (rows of W, every class present), μ_g the mean of the class means, M² the mean of
    ‖μ_c − μ_g‖² and λ the least-squares fit of NC3. Returns ``lhs`` κ (closed form), ``rhs`` the bound,
    ``slack``, ``ratio``, their logs (``log_lhs``, ``log_rhs``), ``k``, ``M``, ``lam``, ``holds``; the proof's
    intermediate quantities ``trace_h`` vs ``trace_h_proof_bound`` = M²(k−1)k e/(1+(k−1)e)² and
    ``weight_norm_sq`` vs ``lam2_k_M2`` = λ²kM²; and the assumptions with their deviations:
    ``nc1`` = max ‖φ_i − μ_{y_i}‖/M,
    ``nc2_norm`` = max |‖μ_c − μ_g‖ − M|/M, ``nc2_etf`` = max |cos ∠(μ_c − μ_g, μ_j − μ_g) + 1/(k−1)|,
    ``nc3`` (relative residual), ``nc4_train`` (agreement), ``lemma_a1`` (relative spread), ``balanced``,
    ``feature_norm_ratio`` = mean ‖φ‖²/M² (the proof takes it = 1, i.e. μ_g = 0) and ``assumptions_hold``
    (all deviations ≤ ``tol``, λ > 0, balanced, feature_norm_ratio ≤ 1 + tol). When they fail the bound
    is evaluated anyway with the fitted k, M, λ and need not hold.
    """
    h, y, w, b, counts, means, mu_g, centred, lam = _nc_geometry(features, labels, weight, bias)
    k = w.shape[0]
    norms = centred.norm(dim=1)
    M = float(norms.pow(2).mean().sqrt())
    unit = centred / norms.clamp_min(1e-300)[:, None]
    off = ~torch.eye(k, dtype=torch.bool)
    a1 = lemma_a1_check(h, y, w, b, num_probes=1)
    kappa = _kappa_closed_form(h, w, b)
    row = {"k": k, "M": M, "lam": lam, "lhs": kappa, "trace_h": _hessian_trace_closed_form(h, w, b),
           "weight_norm_sq": float((w * w).sum()), "lam2_k_M2": lam * lam * k * M * M,
           "nc1": float((h - means[y]).norm(dim=1).max()) / M,
           "nc2_norm": float((norms - M).abs().max()) / M,
           "nc2_etf": float(((unit @ unit.T)[off] + 1.0 / (k - 1)).abs().max()),
           "nc3": a1["nc3_residual"], "nc4_train": a1["nc4_train"], "lemma_a1": a1["relative_spread"],
           "balanced": bool((counts == counts[0]).all()),
           "feature_norm_ratio": float((h * h).sum(1).mean()) / (M * M)}
    if lam > 0:
        t, e = _margin_terms(k, M, lam)
        row["rhs"] = proposition52_bound(k, M, lam)
        row["log_rhs"] = proposition52_bound(k, M, lam, log=True)
        row["trace_h_proof_bound"] = M * M * (k - 1) * k * e / (1 + (k - 1) * e) ** 2
    else:
        row["rhs"] = row["log_rhs"] = row["trace_h_proof_bound"] = math.nan
    row["log_lhs"] = math.log(kappa) if kappa > 0 else -math.inf
    row["slack"] = row["rhs"] - kappa
    row["ratio"] = math.exp(row["log_lhs"] - row["log_rhs"]) if lam > 0 else math.nan
    row["holds"] = lam > 0 and row["log_lhs"] <= row["log_rhs"] + 1e-12
    deviations = [row[key] for key in ("nc1", "nc2_norm", "nc2_etf", "nc3", "lemma_a1")]
    row["assumptions_hold"] = (lam > 0 and row["balanced"] and row["nc4_train"] == 1.0
                               and all(v <= tol for v in deviations) and row["feature_norm_ratio"] <= 1 + tol)
    return row


# ------------------------------------------------------------------------- Appendix D: representativeness


def representativeness_terms(features_train, labels_train, features_test, labels_test, weight, bias=None,
                             bandwidth: float = BANDWIDTH, sample_weight: float = SAMPLE_WEIGHT,
                             num_samples: int = 32, seed: int = 0, weighting: str = "normalized") -> dict:
    """Representativeness of Han et al. (2025), Appendix D (Part IV), after Petzka et al. (2021):

        Rep = L_test − Σ_i ω_i E_{ξ∼N(0, bandwidth² I_d)} ℓ(W(φ_i + ξ) + b, y_i),

    the cross-entropy on the test features minus the expected training loss under the Gaussian KDE
    centred on the training features (Appendix D: "a Gaussian kernel with a bandwidth of 1.0, and assign
    each training sample a weight of 0.02"), estimated with ``num_samples`` draws per training point
    (seeded: the same ξ at every call). Signed, as in Petzka et al.'s code (no absolute value).

    Ambiguity of the weight 0.02, ``weighting``: a KDE's sample weights are normalised to sum to 1 by
    every KDE library (KDEpy, used by Petzka et al.'s code; scikit-learn; SciPy), so equal weights of
    0.02 give ω_i = 1/N and the number cancels: ``"normalized"`` (default, our choice — the only reading
    in which the KDE is a probability density for every N). ``"feature_norm"``: ω_i ∝ 0.02·‖φ_i‖, what
    Petzka et al.'s code passes as KDE weights (``getWeights``, δ‖φ(x_i)‖; normalised, so 0.02 cancels
    again). ``"literal"``: ω_i = 0.02 unnormalised (a measure of mass 0.02·N, a density only for N = 50).
    Petzka et al.'s code (``interpolatingness.py``: KDEpy ``NaiveKDE(bw=1.)``, the bandwidth Appendix D reports)
    moreover evaluates the kernel at the test points (deterministic, with ℓ(f(φ_i), y_test)) instead of
    sampling around the training points; we follow the spec's description, which samples.

    Returns ``representativeness``, its Monte-Carlo standard error ``se`` (stratified: √(Σ ω_i² s_i²/S)),
    ``test_loss``, ``kde_loss``, ``train_loss`` (unperturbed). Cost O(N·S·d·k), chunked.
    """
    h, y, w, b = _last_layer_inputs(features_train, labels_train, weight, bias)
    ht, yt, _, _ = _last_layer_inputs(features_test, labels_test, weight, bias)
    if not (isinstance(bandwidth, (int, float)) and math.isfinite(bandwidth) and bandwidth >= 0):
        raise ValueError(f"bandwidth must be a finite number ≥ 0, got {bandwidth!r}.")
    if not (isinstance(sample_weight, (int, float)) and math.isfinite(sample_weight) and sample_weight > 0):
        raise ValueError(f"sample_weight must be a finite positive number, got {sample_weight!r}.")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 2:
        raise ValueError(f"num_samples must be an integer ≥ 2 (for a standard error), got {num_samples!r}.")
    if weighting not in _WEIGHTINGS:
        raise ValueError(f"weighting must be one of {_WEIGHTINGS}, got {weighting!r}.")
    n, d = h.shape
    if weighting == "normalized":
        omega = torch.full((n,), 1.0 / n, dtype=h.dtype)
    elif weighting == "feature_norm":
        raw = sample_weight * h.norm(dim=1)
        omega = raw / raw.sum() if float(raw.sum()) > 0 else torch.full((n,), 1.0 / n, dtype=h.dtype)
    else:
        omega = torch.full((n,), float(sample_weight), dtype=h.dtype)
    gen = torch.Generator().manual_seed(seed)
    chunk = max(1, _CHUNK_ELEMENTS // (num_samples * d))
    losses = torch.empty(n, num_samples, dtype=h.dtype)
    for start in range(0, n, chunk):
        hc, yc = h[start:start + chunk], y[start:start + chunk]
        noise = torch.randn(len(hc), num_samples, d, generator=gen, dtype=h.dtype)
        logits = (hc[:, None, :] + bandwidth * noise) @ w.T + b
        losses[start:start + chunk] = F.cross_entropy(logits.reshape(-1, w.shape[0]),
                                                      yc.repeat_interleave(num_samples),
                                                      reduction="none").reshape(-1, num_samples)
    kde_loss = float((omega * losses.mean(1)).sum())
    se = float((omega.pow(2) * losses.var(1) / num_samples).sum().sqrt())
    test_loss = float(F.cross_entropy(ht @ w.T + b, yt))
    return {"representativeness": test_loss - kde_loss, "se": se, "test_loss": test_loss, "kde_loss": kde_loss,
            "train_loss": float(F.cross_entropy(h @ w.T + b, y))}


def representativeness(features_train, labels_train, features_test, labels_test, weight, bias=None,
                       bandwidth: float = BANDWIDTH, sample_weight: float = SAMPLE_WEIGHT, num_samples: int = 32,
                       seed: int = 0, weighting: str = "normalized") -> float:
    """Representativeness of Han et al. (2025), Appendix D (Part IV): test loss minus the expected training
    loss under Gaussian-KDE perturbations of the training features; see :func:`representativeness_terms`."""
    return representativeness_terms(features_train, labels_train, features_test, labels_test, weight, bias,
                                    bandwidth, sample_weight, num_samples, seed, weighting)["representativeness"]


# ------------------------------------------------------------------------------------------- callback


@torch.no_grad()
def flatness_theory_metrics(context) -> dict:
    """Training-loop callback of Part IV (Han et al. 2025): Lemma A.2 and Appendix D's representativeness.

    On a fixed probe of :data:`PROBE_SIZE` training samples (:func:`~grokutils.metrics.probe.probe_indices`,
    seed :data:`PROBE_SEED`) and one of the test split, with the model's penultimate features
    ``model.features`` and last layer ``model.head`` (an ``nn.Linear``; a missing bias counts as 0), under
    cross-entropy whatever the training loss: ``lemma_a2_kappa`` κ, ``lemma_a2_intermediate``,
    ``lemma_a2_bound`` ‖w‖²_F·Tr H, ``lemma_a2_slack``, ``lemma_a2_ratio`` (:func:`lemma_a2_check`), and
    ``representativeness`` with ``representativeness_se``, ``representativeness_test_loss`` and
    ``representativeness_kde_loss`` (:func:`representativeness_terms`, bandwidth 1.0, weight 0.02 normalised,
    :data:`REP_SAMPLES` draws per point, the same draws at every call).
    """
    model, data = context.model, context.data
    head = getattr(model, "head", None)
    if not callable(getattr(model, "features", None)) or not isinstance(head, torch.nn.Linear):
        raise ValueError(f"flatness_theory_metrics needs a model with .features(x) and a linear .head; "
                         f"got {type(model).__name__}.")
    rows = {}
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        index = probe_indices(len(y), PROBE_SIZE, PROBE_SEED).to(y.device)
        rows[split] = (model.features(x[index]).double().cpu(), y[index].cpu())
    weight = head.weight.detach().double().cpu()
    bias = None if head.bias is None else head.bias.detach().double().cpu()
    a2 = lemma_a2_check(*rows["train"], weight, bias)
    rep = representativeness_terms(*rows["train"], *rows["test"], weight, bias, BANDWIDTH, SAMPLE_WEIGHT,
                                   REP_SAMPLES, REP_SEED)
    return {"lemma_a2_kappa": a2["lhs"], "lemma_a2_intermediate": a2["intermediate"], "lemma_a2_bound": a2["rhs"],
            "lemma_a2_slack": a2["slack"], "lemma_a2_ratio": a2["ratio"],
            "representativeness": rep["representativeness"], "representativeness_se": rep["se"],
            "representativeness_test_loss": rep["test_loss"], "representativeness_kde_loss": rep["kde_loss"]}
