"""Neural-collapse metrics of Part I (Sato & Sakamoto 2025) and Part IV's NCC (Han et al. 2025).

Sato & Sakamoto, "Explaining Grokking and Information Bottleneck through Neural
Collapse Emergence" (2025) explain grokking through the collapse of the
penultimate representation ``h(x)``: within-class variation shrinks relative to
the distance between class means. This module holds the metrics Part I of the
book plots, as pure functions of a feature matrix ``features`` of shape
``(N, d)`` and integer ``labels`` of shape ``(N,)``, plus the training-loop
callback :func:`collapse_metrics`.

Notation (every function): ``N`` samples, ``K`` classes *present in labels*,
class sizes ``n_c``, class means ``mu_c``, global mean ``mu_G``. All
arithmetic is in float64; scalars come back as Python floats.

Common input rules (a :class:`ValueError` names what was given otherwise):
``features`` is a 2-D floating tensor with at least one row and only finite
values (NaN/inf are rejected, never propagated); ``labels`` is a 1-D integer
tensor of the same length. Labels need not be ``0..K-1``: the classes are the
distinct values present. ``d > N`` is allowed everywhere.
"""

from __future__ import annotations

import math

import torch

__all__ = [
    "between_class_variance",
    "class_mean_angles",
    "collapse_metrics",
    "concentration_metrics",
    "margin_error_bound",
    "nc1",
    "nc1_papyan",
    "nc1_papyan_share_weighted",
    "nc2",
    "ncc",
    "ncc_mean",
    "ncc_mismatch",
    "ncc_mismatch_sum",
    "ncc_terms",
    "population_metrics",
    "rescaled_within_class_variance",
    "rnc1",
    "simplex_angle",
    "spectral_complexity",
    "within_class_variance",
]


# --------------------------------------------------------------------------- helpers

def _check(features: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate inputs; return (float64 features, int64 labels) on the CPU/device given."""
    if not isinstance(features, torch.Tensor) or not isinstance(labels, torch.Tensor):
        raise ValueError(f"features and labels must be torch tensors; got {type(features).__name__} "
                         f"and {type(labels).__name__}.")
    if features.dim() != 2:
        raise ValueError(f"features must have shape (N, d); got shape {tuple(features.shape)}.")
    if labels.dim() != 1:
        raise ValueError(f"labels must have shape (N,); got shape {tuple(labels.shape)}.")
    if features.shape[0] != labels.shape[0]:
        raise ValueError(f"features have {features.shape[0]} rows but labels have {labels.shape[0]} entries; "
                         "they must match.")
    if features.shape[0] == 0:
        raise ValueError("features are empty (N = 0); pass at least one sample.")
    if features.shape[1] == 0:
        raise ValueError("features have d = 0 columns; pass at least one feature dimension.")
    if features.is_complex() or not (features.is_floating_point() or features.dtype in _INT_DTYPES):
        raise ValueError(f"features must be real numbers; got dtype {features.dtype}.")
    if labels.dtype not in _INT_DTYPES:
        raise ValueError(f"labels must be an integer tensor; got dtype {labels.dtype}.")
    h = features.detach().to(torch.float64)
    if not bool(torch.isfinite(h).all()):
        bad = int((~torch.isfinite(h)).sum())
        raise ValueError(f"features contain {bad} NaN or infinite value(s); all values must be finite.")
    return h, labels.detach().to(torch.int64)


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _class_stats(features, labels):
    """(h, inverse index into classes, class sizes (K,), class means (K, d), global mean (d,))."""
    h, y = _check(features, labels)
    _, inv, counts = torch.unique(y, return_inverse=True, return_counts=True)
    k = counts.shape[0]
    sums = torch.zeros(k, h.shape[1], dtype=h.dtype, device=h.device).index_add_(0, inv, h)
    n_c = counts.to(h.dtype)
    means = sums / n_c[:, None]
    return h, inv, n_c, means, h.mean(0)


def _need_two_classes(n_c: torch.Tensor, name: str) -> None:
    if n_c.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 classes in labels; got {n_c.shape[0]}.")


def _tr_within(h, inv, means) -> float:
    return float((h - means[inv]).pow(2).sum() / h.shape[0])


def _tr_between(n_c, means, mu_g) -> float:
    if n_c.shape[0] == 1:
        return 0.0  # exactly, not round-off of mu_c − mu_G
    return float(((n_c / n_c.sum()) * (means - mu_g).pow(2).sum(1)).sum())


def _between_is_zero(h, tb: float) -> bool:
    """tr Σ_B counts as zero at round-off level: tb ≤ (64·eps)² · mean ||h_i||² (scale invariant)."""
    return tb <= (64 * torch.finfo(torch.float64).eps) ** 2 * float(h.pow(2).sum(1).mean())


def _ratio(num: float, den: float) -> float:
    """num/den with the module's convention: 0 when num == 0, inf when only den == 0."""
    if num == 0.0:
        return 0.0
    if den == 0.0:
        return math.inf
    return num / den


# --------------------------------------------------------------------------- variances and NC1

def within_class_variance(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Within-class variance tr Σ_W = (1/N) Σ_i ||h_i − mu_{y_i}||².

    Sato & Sakamoto (2025), the within-class covariance Σ_W of their NC1
    definition (Sec. 2/3); book Part I. A class with one sample contributes 0.
    A single class is allowed (then this is the total variance).
    """
    h, inv, _, means, _ = _class_stats(features, labels)
    return _tr_within(h, inv, means)


def between_class_variance(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Between-class variance tr Σ_B = Σ_c (n_c/N) ||mu_c − mu_G||².

    Sato & Sakamoto (2025), the between-class covariance Σ_B of their NC1
    definition; book Part I. A single class gives 0.0 (allowed).
    """
    _, _, n_c, means, mu_g = _class_stats(features, labels)
    return _tr_between(n_c, means, mu_g)


def nc1(features: torch.Tensor, labels: torch.Tensor) -> float:
    """NC1 as in the authors' code: tr Σ_W / tr Σ_B.

    Sato & Sakamoto (2025), NC1 (trace form used in their released code);
    book Part I. Needs at least 2 classes (ValueError otherwise).
    Degenerate values: 0.0 when tr Σ_W = 0 (even if tr Σ_B = 0 too, i.e. all
    features identical: nothing to collapse); ``math.inf`` when tr Σ_W > 0 but
    all class means coincide (tr Σ_B = 0, up to round-off: tr Σ_B ≤
    (64·eps)²·mean ||h_i||²). Invariant to scaling and rotation.
    """
    h, inv, n_c, means, mu_g = _class_stats(features, labels)
    _need_two_classes(n_c, "nc1")
    tw, tb = _tr_within(h, inv, means), _tr_between(n_c, means, mu_g)
    return _ratio(tw, 0.0 if _between_is_zero(h, tb) else tb)


def _nc1_pinv(h, inv, n_c, means, mu_g, class_weights: torch.Tensor) -> float:
    """(1/K) tr(Σ_W Σ_B⁺) with Σ_B = Σ_c class_weights_c (mu_c − mu_G)(mu_c − mu_G)ᵀ; degenerate values as nc1."""
    tw = _tr_within(h, inv, means)
    tb = float((class_weights * (means - mu_g).pow(2).sum(1)).sum())
    if tw == 0.0 or _between_is_zero(h, tb):
        return _ratio(tw, 0.0 if _between_is_zero(h, tb) else tb)
    dev = h - means[inv]
    sigma_w = dev.T @ dev / h.shape[0]
    cen = means - mu_g
    sigma_b = (cen * class_weights[:, None]).T @ cen
    return float(torch.trace(sigma_w @ torch.linalg.pinv(sigma_b, hermitian=True)) / n_c.shape[0])


def nc1_papyan(features: torch.Tensor, labels: torch.Tensor) -> float:
    """NC1 of Papyan, Han & Donoho (2020): (1/K) tr(Σ_W Σ_B⁺), classes weighted equally in Σ_B.

    Papyan et al. (2020), Sec. 2 and Fig. 6: global mean mu_G = Ave_{i,c} h_{i,c} (the mean of all
    N samples), Σ_W = Ave_{i,c} (h_{i,c} − mu_c)(h_{i,c} − mu_c)ᵀ = (1/N) Σ_i (h_i − mu_{y_i})(h_i − mu_{y_i})ᵀ,
    Σ_B = Ave_c (mu_c − mu_G)(mu_c − mu_G)ᵀ = (1/K) Σ_c (mu_c − mu_G)(mu_c − mu_G)ᵀ,
    Σ_B⁺ = ``torch.linalg.pinv(Σ_B, hermitian=True)``. The covariance form of NC1 that Sato &
    Sakamoto (2025) cite alongside their trace form; book Part I. On balanced classes it equals
    :func:`nc1_papyan_share_weighted`; on unbalanced ones it differs (Σ_B here does not weight a
    class by its size). Needs at least 2 classes. Degenerate values as in :func:`nc1`: 0.0 when
    tr Σ_W = 0, ``math.inf`` when tr Σ_W > 0 and tr Σ_B = 0. Costs a d×d pseudo-inverse.
    """
    h, inv, n_c, means, mu_g = _class_stats(features, labels)
    _need_two_classes(n_c, "nc1_papyan")
    return _nc1_pinv(h, inv, n_c, means, mu_g, torch.full_like(n_c, 1.0 / n_c.shape[0]))


def nc1_papyan_share_weighted(features: torch.Tensor, labels: torch.Tensor) -> float:
    """(1/K) tr(Σ_W Σ_B⁺) with Σ_B = Σ_c (n_c/N)(mu_c − mu_G)(mu_c − mu_G)ᵀ, class c weighted by its share.

    The covariance form of Papyan et al. (2020) with the between-class covariance of Sato &
    Sakamoto (2025) (the Σ_B whose trace is :func:`between_class_variance`, used by
    :func:`nc1`); book Part I. Equal to :func:`nc1_papyan` on balanced classes. Same inputs,
    degenerate values and cost as :func:`nc1_papyan`.
    """
    h, inv, n_c, means, mu_g = _class_stats(features, labels)
    _need_two_classes(n_c, "nc1_papyan_share_weighted")
    return _nc1_pinv(h, inv, n_c, means, mu_g, n_c / n_c.sum())


def rnc1(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Relative NC1: tr Σ_W / s², s = (1/N) Σ_i ||h_i|| (mean feature norm).

    Sato & Sakamoto (2025), RNC1, the within-class variance of the rescaled
    features h/s (their scale-invariant NC1 measure); book Part I. Invariant to
    scaling features by c > 0. A single class is allowed. Degenerate value: 0.0
    when all features are zero (s = 0, hence tr Σ_W = 0).
    """
    h, inv, _, means, _ = _class_stats(features, labels)
    s = float(h.norm(dim=1).mean())
    return _ratio(_tr_within(h, inv, means), s * s)


# --------------------------------------------------------------------------- NC2, NCC, angles

def nc2(features: torch.Tensor, labels: torch.Tensor) -> float:
    """NC2 as a condition number: σ_max(M)/σ_min(M), M the K×d matrix of UNCENTERED class means.

    Sato & Sakamoto (2025), NC2 (class means become equinorm and maximally
    separated; 1 for orthogonal equinorm means); book Part I. Needs at least 2
    classes. Degenerate value: ``math.inf`` when M is rank-deficient — K > d,
    or σ_min ≤ max(K, d)·eps·σ_max (includes all means zero). Scale and
    rotation invariant.
    """
    _, _, n_c, means, _ = _class_stats(features, labels)
    _need_two_classes(n_c, "nc2")
    k, d = means.shape
    if k > d:
        return math.inf
    sv = torch.linalg.svdvals(means)
    smax, smin = float(sv[0]), float(sv[-1])
    if smax == 0.0 or smin <= max(k, d) * torch.finfo(torch.float64).eps * smax:
        return math.inf
    return smax / smin


def _ncc_wrong(features, labels) -> torch.Tensor:
    h, inv, _, means, _ = _class_stats(features, labels)
    dist = torch.cdist(h, means, compute_mode="donot_use_mm_for_euclid_dist")
    return dist.argmin(1) != inv


def ncc_mismatch(features: torch.Tensor, labels: torch.Tensor) -> float:
    """Nearest-class-centre mismatch, averaged form: fraction of samples whose
    nearest class mean (Euclidean) is not their own class mean.

    Sato & Sakamoto (2025), NCC / NC4 (the network's classifier agrees with the
    nearest-class-centre rule); book Part I. Exact ties go to the class with
    the smallest label. One class gives 0.0. Scale and rotation invariant.
    """
    return float(_ncc_wrong(features, labels).double().mean())


def ncc_mismatch_sum(features: torch.Tensor, labels: torch.Tensor) -> int:
    """Nearest-class-centre mismatch, summed form: the number of mismatched samples.

    Sato & Sakamoto (2025), NCC / NC4 summed over samples; book Part I.
    Conventions as in :func:`ncc_mismatch`. Returns an int.
    """
    return int(_ncc_wrong(features, labels).sum())


def ncc_terms(features: torch.Tensor, labels: torch.Tensor, averaged: bool = False) -> torch.Tensor:
    """Pairwise class-distance normalised variances (V_c + V_c') / (2‖μ_c − μ_c'‖²), a (K, K)
    tensor with a zero diagonal, differentiable in ``features`` (Part IV's NCC regulariser).

    Han et al. (2025), Definition 3.1 (after Galanti et al.): with ``averaged=False``,
    V_c = Σ_{i: y_i = c} ‖h_i − μ_c‖², the paper's *sum* over class c (its formula has no
    1/|D_c|); with ``averaged=True``, V_c = (1/n_c) Σ_{i: y_i = c} ‖h_i − μ_c‖², the mean
    squared distance of the authors' code (Galanti et al.'s CDNV). Computed in the dtype of
    ``features`` (no float64 cast, so the graph is kept); classes ordered by label.
    Needs 2 classes; ``ValueError`` if two class means coincide (the ratio is infinite).
    """
    if not isinstance(features, torch.Tensor) or not features.is_floating_point():
        raise ValueError("features must be a floating-point torch tensor.")
    _check(features, labels)  # validation only; the computation keeps features' graph and dtype
    _, inv, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    _need_two_classes(counts, "NCC")
    n_c = counts.to(features.dtype)
    means = torch.zeros(len(counts), features.shape[1], dtype=features.dtype,
                        device=features.device).index_add(0, inv, features) / n_c[:, None]
    var = torch.zeros(len(counts), dtype=features.dtype, device=features.device).index_add(
        0, inv, (features - means[inv]).pow(2).sum(1))
    if averaged:
        var = var / n_c
    dist2 = (means[:, None, :] - means[None, :, :]).pow(2).sum(-1)
    off = ~torch.eye(len(counts), dtype=torch.bool, device=features.device)
    if bool((dist2[off] == 0).any()):
        raise ValueError("two class means coincide: their class-distance normalised variance is infinite.")
    safe = torch.where(off, dist2, torch.ones_like(dist2))
    return torch.where(off, (var[:, None] + var[None, :]) / (2 * safe), torch.zeros_like(dist2))


def ncc(features: torch.Tensor, labels: torch.Tensor) -> float:
    """NCC of Part IV, the paper's form: Σ_{c≠c'} (V_c + V_c') / (2‖μ_c − μ_c'‖²), V_c = Σ_{x∈D_c} ‖φ(x) − μ_c‖².

    Han et al. (2025), "Flatness is Necessary, Neural Collapse is Not", Definition 3.1
    (after Galanti et al.); book Part IV. V_c is the sum of squared distances over class c,
    not their mean, and the outer sum runs over ordered pairs; float64. 0 for collapsed
    features; invariant to rotation and translation, and to scaling. Unlike
    :func:`ncc_mean` it grows with the class sizes (n_c·K(K − 1) × :func:`ncc_mean` when every
    class has n_c samples). See :func:`ncc_terms`.
    """
    h, _ = _check(features, labels)
    return float(ncc_terms(h, labels).sum())


def ncc_mean(features: torch.Tensor, labels: torch.Tensor) -> float:
    """NCC of Part IV, the averaged form of the authors' code (Han et al. 2025; book Part IV).

    (1/(K(K − 1))) Σ_{c≠c'} (V̄_c + V̄_c') / (2‖μ_c − μ_c'‖²) with V̄_c = (1/n_c) Σ_{x∈D_c} ‖φ(x) − μ_c‖²:
    the mean over ordered pairs of classes of Galanti et al.'s CDNV. Independent of the class
    sizes; see :func:`ncc` for the paper's Definition 3.1.
    """
    h, _ = _check(features, labels)
    terms = ncc_terms(h, labels, averaged=True)
    k = terms.shape[0]
    return float(terms.sum()) / (k * (k - 1))


def class_mean_angles(features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Pairwise angles (radians, float64 tensor of length K(K−1)/2) between CENTERED
    class means mu_c − mu_G, upper triangle row by row (pairs (0,1), (0,2), …).

    Sato & Sakamoto (2025), NC2 geometry: at collapse the centered means form a
    simplex equiangular tight frame, all angles = :func:`simplex_angle` (K);
    book Part I. Classes are ordered by label value. Needs at least 2 classes;
    ValueError when a centered class mean is zero (angle undefined).
    """
    _, _, n_c, means, mu_g = _class_stats(features, labels)
    _need_two_classes(n_c, "class_mean_angles")
    cen = means - mu_g
    norms = cen.norm(dim=1)
    if bool((norms == 0).any()):
        zero = torch.nonzero(norms == 0).flatten().tolist()
        raise ValueError(f"centered class mean(s) at class index {zero} are zero; their angles are undefined.")
    unit = cen / norms[:, None]
    cos = (unit @ unit.T).clamp(-1.0, 1.0)
    i, j = torch.triu_indices(cen.shape[0], cen.shape[0], offset=1)
    return torch.arccos(cos[i, j])


def simplex_angle(k: int) -> float:
    """Angle arccos(−1/(K−1)) between any two vertices of a K-class simplex ETF.

    Sato & Sakamoto (2025), NC2 limit (Papyan et al. 2020); book Part I.
    K must be an integer ≥ 2 (K = 2 gives π).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"simplex_angle needs an integer K >= 2; got {k!r}.")
    return math.acos(-1.0 / (k - 1))


# --------------------------------------------------------------------------- Theorem 3.2

def margin_error_bound(features: torch.Tensor, labels: torch.Tensor,
                       weight: torch.Tensor, bias: torch.Tensor | None = None) -> float:
    """Error bound of Theorem 3.2 (Cantelli's inequality plus a union bound).

    Sato & Sakamoto (2025), Theorem 3.2; book Part I. For the linear head
    f(h) = W h + b (``weight`` (C, d), ``bias`` (C,) or None for zeros; labels
    must lie in 0..C−1) and rescaled features g = h/s, s = mean ||h_i|| over
    all samples (bias rescaled to b/s alike), for each class k present with
    prior π_k = n_k/N and u_jk = w_k − w_j:

    * V_k = mean over class-k samples of ||g − mean_k(g)||²,
    * m̄_jk = u_jkᵀ mean_k(g) + (b_k − b_j)/s (mean margin of class k over j),
    * B_jk = ||u_jk||² V_k / (||u_jk||² V_k + m̄_jk²) if m̄_jk > 0 else 1,

    and returns Σ_k π_k Σ_{j≠k} B_jk, where j runs over all C outputs. The raw
    sum is returned, NOT clipped to 1 (it can exceed 1 when the bound is
    vacuous). It bounds the empirical probability that some margin
    f_k − f_j ≤ 0 on these samples, hence the empirical error of arg-max f
    (ties counted as errors). When m̄_jk > 0 and ||u_jk||² V_k = 0 the margin
    is a positive constant on class k and B_jk = 0 (no 0/0 arises).
    ValueError when all features are zero (s = 0) or shapes disagree.
    """
    h, y = _check(features, labels)
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2 or weight.shape[1] != h.shape[1]:
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"weight must have shape (C, d) with d = {h.shape[1]}; got {shape}.")
    c = weight.shape[0]
    if c < 2:
        raise ValueError(f"weight must have at least 2 rows (classes); got {c}.")
    w = weight.detach().to(torch.float64)
    if bias is None:
        b = torch.zeros(c, dtype=torch.float64, device=w.device)
    else:
        if not isinstance(bias, torch.Tensor) or bias.shape != (c,):
            shape = tuple(bias.shape) if isinstance(bias, torch.Tensor) else type(bias).__name__
            raise ValueError(f"bias must have shape ({c},) to match weight; got {shape}.")
        b = bias.detach().to(torch.float64)
    if not (bool(torch.isfinite(w).all()) and bool(torch.isfinite(b).all())):
        raise ValueError("weight and bias must be finite; found NaN or inf.")
    if int(y.min()) < 0 or int(y.max()) >= c:
        raise ValueError(f"labels must lie in 0..{c - 1} to index the rows of weight; "
                         f"got range {int(y.min())}..{int(y.max())}.")
    s = float(h.norm(dim=1).mean())
    if s == 0.0:
        raise ValueError("all features are zero (mean feature norm s = 0); the bound is undefined.")
    g, bs = h / s, b / s
    counts = torch.bincount(y, minlength=c).to(torch.float64)
    present = counts > 0
    means = torch.zeros(c, g.shape[1], dtype=g.dtype).index_add_(0, y, g)
    means[present] /= counts[present, None]
    var = torch.zeros(c, dtype=g.dtype).index_add_(0, y, (g - means[y]).pow(2).sum(1))
    var[present] /= counts[present]
    # u[k, j] = w_k − w_j ; ||u||² via the Gram matrix; margins m[k, j] = u_kjᵀ mean_k + (b_k − b_j)/s
    gram = w @ w.T
    sq = gram.diag()
    u2 = (sq[:, None] + sq[None, :] - 2 * gram).clamp_min(0.0)
    scores = means @ w.T + bs  # (C, C): scores[k, j] = w_j·mean_k + b_j/s
    m = scores.diag()[:, None] - scores
    num = u2 * var[:, None]
    den = num + m * m
    safe = torch.where(den > 0, den, torch.ones_like(den))
    bound_kj = torch.where(m > 0, num / safe, torch.ones_like(den))
    bound_kj.fill_diagonal_(0.0)
    pri = counts / counts.sum()
    return float((pri[present] * bound_kj[present].sum(1)).sum())


# --------------------------------------------------------------------------- callback

@torch.no_grad()
def collapse_metrics(context) -> dict:
    """Training-loop callback: RNC1, NC1, NC2 and tr Σ_W of h(x) on the training split.

    Sato & Sakamoto (2025) collapse metrics (see :func:`rnc1`, :func:`nc1`,
    :func:`nc2`, :func:`within_class_variance`); book Part I. Features are
    computed in chunks of 8192 rows under ``torch.no_grad()``.
    """
    model, x, y = context.model, context.data.x_train, context.data.y_train
    features = torch.cat([model.features(chunk) for chunk in x.split(8192)]).double()
    return {
        "rnc1": rnc1(features, y),
        "nc1": nc1(features, y),
        "nc2": nc2(features, y),
        "within_class_variance": within_class_variance(features, y),
    }


@torch.no_grad()
def population_metrics(context) -> dict:
    """Training-loop callback for Theorem 3.2 of Part I (Sato & Sakamoto 2025) on held-out data.

    Records, on the whole test split ("population" in the paper's sense), ``test_rnc1``
    (= Σ_k π_k V_k, the rescaled within-class variance the theorem needs), ``test_nc1`` and
    ``test_nc2``, and the error bound of :func:`margin_error_bound` for the model's own
    head on the test features (``margin_bound_test``) and on the training features
    (``margin_bound_train``). Book Part I, Theorem 3.2 notebook.
    """
    model, data = context.model, context.data
    weight, bias = model.head.weight, model.head.bias
    row = {}
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        features = torch.cat([model.features(chunk) for chunk in x.split(8192)]).double()
        row[f"margin_bound_{split}"] = margin_error_bound(features, y, weight, bias)
        if split == "test":
            row.update(test_rnc1=rnc1(features, y), test_nc1=nc1(features, y), test_nc2=nc2(features, y))
    return row


def rescaled_within_class_variance(features: torch.Tensor, labels: torch.Tensor, scale: float) -> float:
    """Σ_k π_k V_k with V_k the variance of class k of ``features / scale`` (Part I, Theorem 4.1).

    With ``scale`` = the mean feature norm of the same features this is RNC1; Theorem 4.1
    compares the training and held-out values under one common ``scale`` (the training s).
    """
    h, y = _check(features, labels)
    if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
        raise ValueError(f"scale must be a finite positive number, got {scale!r}.")
    _, inv, _, means, _ = _class_stats(h, y)
    return _tr_within(h, inv, means) / scale**2


def spectral_complexity(model) -> float:
    """Π_l ‖W_l‖₂ over the linear layers below the head of an MLP (ReLU, tanh and softplus are
    1-Lipschitz): the complexity C(h) of Part I, Theorem 4.1, before division by the output scale."""
    body = getattr(model, "body", None)
    if body is None:
        raise ValueError(f"spectral_complexity needs an MLP (a model with .body); got {type(model).__name__}.")
    norms = [float(torch.linalg.matrix_norm(m.weight.detach().double(), ord=2))
             for m in body if isinstance(m, torch.nn.Linear)]
    return math.prod(norms)


@torch.no_grad()
def concentration_metrics(context) -> dict:
    """Training-loop callback for Theorem 4.1 of Part I (Sato & Sakamoto 2025).

    Records the rescaled within-class variance on the training split and on the test split,
    both divided by the *training* mean feature norm s (``within_train``, ``within_test``),
    their gap ``within_gap`` = |test − train|, and ``complexity_over_scale`` = C(h)/s with
    C(h) from :func:`spectral_complexity`. Book Part I, Theorem 4.1 notebook.
    """
    model, data = context.model, context.data
    train = torch.cat([model.features(chunk) for chunk in data.x_train.split(8192)]).double()
    test = torch.cat([model.features(chunk) for chunk in data.x_test.split(8192)]).double()
    s = float(train.norm(dim=1).mean())
    if s == 0.0:
        raise ValueError("all training features are zero (s = 0): the rescaled variances are undefined.")
    within_train = rescaled_within_class_variance(train, data.y_train, s)
    within_test = rescaled_within_class_variance(test, data.y_test, s)
    return {"within_train": within_train, "within_test": within_test, "within_gap": abs(within_test - within_train),
            "complexity_over_scale": spectral_complexity(model) / s}
