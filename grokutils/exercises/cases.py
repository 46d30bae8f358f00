"""The inputs of the exercise checks of Parts I–IV, and the values that known mistakes give on them.

Every input is built from a seeded ``torch.Generator`` (the global random state is never touched), small enough
to print in a verdict. A "mistake" is a deliberately wrong formula, written here plainly, whose value on a case
lets :mod:`grokutils.exercises.checks` name the likely error in a reader's answer.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from grokutils import forecast
from grokutils.exercises.verdict import guarded

UNBALANCED = "unbalanced: class sizes 12, 5, 3, d = 6"
BALANCED = "balanced: 3 classes × 10 samples, d = 4"
#: What a failing common case tests (Parts I and IV).
HINTS = {
    "labels": "The classes are the distinct values in `labels` (`labels.unique()`), not range(K).",
    "wide": "d > N is allowed.",
    "collapsed": "Every sample sits at its class mean: the within-class spread is 0 (up to round-off), and so is the "
                 "value.",
    "float32": "`features` may come as float32: compute in float64 (`features.double()`).",
}


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _clusters(seed: int, sizes: tuple, d: int, values: tuple | None = None, spread: float = 0.6):
    """Features of classes of the given sizes around random means (float64), labels shuffled."""
    g = generator(seed)
    means = 2.0 * torch.randn(len(sizes), d, generator=g, dtype=torch.float64)
    y = torch.cat([torch.full((n,), c, dtype=torch.int64) for c, n in enumerate(sizes)])
    y = y[torch.randperm(len(y), generator=g)]
    h = means[y] + spread * torch.randn(len(y), d, generator=g, dtype=torch.float64)
    return h, (y if values is None else torch.tensor(values)[y])


def collapse_inputs() -> list[tuple]:
    """(key, name, features, labels, base case, invariance) of the Part I and IV checks."""
    h1, y1 = _clusters(0, (10, 10, 10), 4)
    h2, y2 = _clusters(1, (12, 5, 3), 6)
    h3, y3 = _clusters(2, (3, 3), 10)
    h4, y4 = _clusters(3, (6, 6, 6, 6), 3)
    h5, y5 = _clusters(4, (5, 7, 4), 3, values=(2, 5, 9))
    hc, yc = _clusters(5, (4, 4, 4), 3, spread=0.0)
    perm = torch.randperm(len(y2), generator=generator(6))
    pairs = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    return [
        ("balanced", BALANCED, h1, y1, None, ""),
        ("four", "4 classes × 6 samples, d = 3", h4, y4, None, ""),
        ("unbalanced", UNBALANCED, h2, y2, None, ""),
        ("wide", "d > N: 2 classes × 3 samples, d = 10", h3, y3, None, ""),
        ("labels", "labels 2, 5 and 9 (not 0..K − 1)", h5, y5, None, ""),
        ("scaled", f"{UNBALANCED}, features × 1000", 1000 * h2, y2, UNBALANCED, "scaling the features by 1000"),
        ("translated", f"{UNBALANCED}, + 5 on every coordinate", h2 + 5, y2, UNBALANCED,
         "translating the features"),
        ("permuted", f"{UNBALANCED}, samples permuted", h2[perm], y2[perm], UNBALANCED,
         "the order of the samples"),
        ("collapsed", "collapsed: 3 classes × 4 samples, each at its class mean", hc, yc, None, ""),
        ("zero", "every feature 0 (6 samples, 3 classes, d = 3)", torch.zeros(6, 3, dtype=torch.float64),
         torch.tensor([0, 1, 2, 0, 1, 2]), None, ""),
        ("identical", "every feature equal to (0.5, 2), 2 classes × 4 samples", torch.tensor([[0.5, 2.0]] * 8,
         dtype=torch.float64), torch.tensor([0, 1] * 4), None, ""),
        ("coincide", "two classes whose means coincide at 0", pairs, torch.tensor([0, 0, 1, 1]), None, ""),
        ("float32", f"float32 features ({BALANCED})", h1.float(), y1, None, ""),
    ]


def _stats(h, y):
    """(float64 features, class index of each sample, class sizes, class means)."""
    h = h.double()
    _, inv = torch.unique(y, return_inverse=True)
    n = torch.bincount(inv).double()
    means = torch.zeros(len(n), h.shape[1], dtype=torch.float64).index_add_(0, inv, h) / n[:, None]
    return h, inv, n, means


@guarded
def rnc1_mistakes(h, y) -> tuple:
    h, inv, n, mu = _stats(h, y)
    squares = ((h - mu[inv]) ** 2).sum(1)
    within, s = float(squares.mean()), float(h.norm(dim=1).mean())
    per_class = torch.zeros(len(n), dtype=torch.float64).index_add_(0, inv, squares)
    return (
        (within, "you returned tr Σ_W without dividing by s² (s = the mean feature norm (1/N) Σ‖h_i‖)."),
        (within / float((h**2).sum(1).mean()), "you divided by the mean squared norm (1/N) Σ‖h_i‖²; s² is the square "
                                               "of the mean norm, ((1/N) Σ‖h_i‖)²."),
        (within / s, "you divided by s, not by s²."),
        (float((per_class / n).mean()) / s**2, "you averaged the class variances with equal weights (1/K) Σ_c; RNC1 "
                                               "weights each class by its size: (1/N) Σ_i ‖h_i − μ_{y_i}‖²."),
        (float((per_class / (n - 1) * n / n.sum()).sum()) / s**2,
         "you used unbiased class variances (1/(n_c − 1), torch.var's default); RNC1 divides by n_c."),
        (float(((h - h.mean(0)) ** 2).sum(1).mean()) / s**2,
         "you measured the spread around the global mean (the total variance); RNC1 measures it around each sample's "
         "class mean μ_{y_i}."),
    )


@guarded
def nc1_mistakes(h, y) -> tuple:
    h, inv, n, mu = _stats(h, y)
    within = float(((h - mu[inv]) ** 2).sum(1).mean())
    spread = ((mu - h.mean(0)) ** 2).sum(1)
    return (
        (float((n / n.sum() * spread).sum()) / within,
         "you returned tr Σ_B / tr Σ_W; NC1 is tr Σ_W / tr Σ_B (small when the classes have collapsed)."),
        (within / float(spread.mean()), "you weighted the classes equally in tr Σ_B ((1/K) Σ_c); the authors' NC1 "
                                        "weights class c by its share n_c/N."),
        (within / float((n / n.sum() * ((mu - mu.mean(0)) ** 2).sum(1)).sum()),
         "you took the global mean μ_G as the mean of the class means; μ_G is the mean of all N samples."),
        (within / float((n / n.sum() * (mu**2).sum(1)).sum()),
         "you did not centre the class means: tr Σ_B = Σ_c (n_c/N) ‖μ_c − μ_G‖²."),
        (float(torch.trace(((h - mu[inv]).T @ (h - mu[inv]) / len(h)) @ torch.linalg.pinv(
            (mu - h.mean(0)).T @ (mu - h.mean(0)) / len(n), hermitian=True))) / len(n),
         "that is Papyan et al.'s NC1, (1/K) tr(Σ_W Σ_B⁺); the authors' NC1 is the ratio of traces tr Σ_W / tr Σ_B."),
    )


def ncc_mistakes(averaged: bool):
    """The mistakes of Part IV's NCC in its sum form (``averaged=False``) or its averaged form."""
    def variant(h, y, mean_v=averaged, average=averaged, unordered=False, half=True, squared=True):
        h, inv, n, mu = _stats(h, y)
        v = torch.zeros(len(n), dtype=torch.float64).index_add_(0, inv, ((h - mu[inv]) ** 2).sum(1))
        v = v / n if mean_v else v
        dist = ((mu[:, None] - mu[None]) ** 2).sum(-1)
        dist = dist if squared else dist.sqrt()
        i, j = torch.triu_indices(len(n), len(n), 1) if unordered else torch.nonzero(~torch.eye(len(n), dtype=bool)).T
        terms = (v[i] + v[j]) / ((2 if half else 1) * dist[i, j])
        return float(terms.mean() if average else terms.sum())

    def mistakes(h, y) -> tuple:
        common = ((variant(h, y, unordered=True), "you used the unordered pairs c < c' only; the pairs c ≠ c' are "
                                                  "ordered, each pair counts twice."),
                  (variant(h, y, squared=False), "you divided by ‖μ_c − μ_c'‖, not by its square."))
        if averaged:
            return ((variant(h, y, average=False), "you summed the terms over the ordered class pairs instead of "
                                                   "averaging over them (K(K − 1) times the reference)."),
                    (variant(h, y, mean_v=False, average=False), "that is the paper's sum form (`ncc`, Definition "
                                                                 "3.1); the averaged form uses V̄_c and the mean."),
                    (variant(h, y, mean_v=False), "you summed V_c over the class; the averaged form uses "
                                                  "V̄_c = (1/n_c) Σ_{x∈D_c} ‖φ(x) − μ_c‖²."), *common)
        return ((variant(h, y, mean_v=True), "you averaged V_c over the class (V̄_c, the authors' code); Definition "
                                             "3.1 sums: V_c = Σ_{x∈D_c} ‖φ(x) − μ_c‖²."),
                (variant(h, y, mean_v=True, average=True), "that is the authors' averaged form (`ncc_mean`); "
                                                           "Definition 3.1 sums V_c over the class and the pairs."),
                (variant(h, y, average=True), "you averaged over the ordered class pairs; the sum form sums."), *common)
    return guarded(mistakes)


# ------------------------------------------------------------------------------------------ Part III

RANK_HINT = ("The covariance has zero eigenvalues (computed as round-off, possibly slightly negative), and 0·log 0 is "
             "NaN in floating point: clamp the eigenvalues at 0 and put the ε inside the logarithm, log(p_i + 1e-12).")


def spectral_inputs() -> list[tuple]:
    """(name, features, base case, invariance, hint) of the spectral entropy's check (Part III)."""
    g = generator(20)
    z1 = torch.randn(64, 6, generator=g, dtype=torch.float64) @ torch.randn(6, 6, generator=g, dtype=torch.float64)
    z2 = torch.randn(40, 12, generator=g, dtype=torch.float64) * torch.logspace(0, -2, 12, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, generator=g, dtype=torch.float64))
    rank_one = torch.randn(30, 1, generator=g, dtype=torch.float64) * torch.randn(5, generator=g, dtype=torch.float64)
    first = "64 samples in R^6, correlated coordinates"
    return [
        (first, z1, None, "", ""),
        ("40 samples in R^12, variances from 1 to 10⁻⁴", z2, None, "", ""),
        (f"{first}, + 100 on every coordinate", z1 + 100, first, "translating the features",
         "H̃ is a function of the covariance: centre the features (z − z̄) before forming it."),
        (f"{first}, × 0.001", z1 * 1e-3, first, "scaling the features",
         "p_i = λ_i / Σ_j λ_j does not change when the features are scaled."),
        (f"{first}, rotated (z Q, Q orthogonal)", z1 @ rotation, first, "rotating the features",
         "H̃ depends only on the eigenvalues of the covariance, which a rotation keeps."),
        ("rank one: 30 samples z_i = t_i·u in R^5", rank_one, None, "", RANK_HINT),
        ("d > n: 5 samples in R^8", torch.randn(5, 8, generator=g, dtype=torch.float64), None, "", RANK_HINT),
        ("d = 1: 20 samples of one feature", torch.randn(20, 1, generator=g, dtype=torch.float64), None, "",
         "For d = 1, log d = 0 and the normalised entropy is 0/0; the convention is H̃ = 1.0 (one eigenvalue is "
         "trivially isotropic)."),
        (f"float32 features ({first})", z1.float(), None, "", HINTS["float32"]),
    ]


@guarded
def entropy_mistakes(z) -> tuple:
    def variant(centre=True, spectrum="eig", norm="d"):
        x = z.double() - z.double().mean(0) if centre else z.double()
        cov = x.T @ x / len(x)
        lam = {"eig": lambda: torch.linalg.eigvalsh(cov).clamp(min=0), "sv": lambda: torch.linalg.svdvals(x),
               "diag": lambda: cov.diagonal()}[spectrum]()
        p = lam / lam.sum()
        return -float((p * torch.log(p + 1e-12)).sum()) / math.log(x.shape[1] if norm == "d" else x.shape[0])
    return (
        (variant(centre=False), "you did not centre the features: Σ = (1/n) Σ (z_i − z̄)(z_i − z̄)ᵀ is the covariance, "
                                "not the second moment (1/n) Σ z_i z_iᵀ."),
        (variant(spectrum="sv"), "you used the singular values σ_i of the centred features; the covariance's "
                                 "eigenvalues are σ_i²/n."),
        (variant(spectrum="diag"), "you used the diagonal of Σ (the variance of each coordinate), not its "
                                   "eigenvalues."),
        (variant(norm="n"), "you divided by log n (the number of samples); H̃ divides by log d (the feature "
                            "dimension)."),
    )


def onset_inputs() -> list[tuple]:
    """(name, steps, entropy, keyword arguments, hint) of the collapse onset's check (Part III)."""
    steps = [0, 50, 100, 200, 300, 400, 450, 500, 550, 600, 700, 800, 900, 1000, 1100, 1200]
    falling = [0.9, 0.905, 0.898, 0.902, 0.9, 0.899, 0.8945, 0.89, 0.8855, 0.881, 0.8765, 0.8705, 0.8635, 0.8545,
               0.8425, 0.8265]  # windows of 4, 5 and 6 evaluations first fall by more than 0.02 at 1000, 900, 700
    flat = [round(0.9 + 0.004 * math.sin(i), 6) for i in range(len(steps))]
    return [
        ("H̃ falls from step 450 on, slowly then faster; unevenly spaced steps (δ = 0.02, window = 5)", steps,
         falling, {}, ""),
        ("a flat, noisy curve that never falls by more than δ", steps, flat, {},
         "Where H̃ never falls by more than δ over a window, there is no onset: return None."),
        ("3 evaluations, fewer than the window of 5", [0, 10, 20], [0.9, 0.5, 0.1], {},
         "With fewer evaluations than `window` there is no window to compare: return None (a negative index wraps "
         "around in Python)."),
        ("a drop of exactly δ, then a larger one (δ = 0.25, window = 2)", [10, 20, 30, 40], [1.0, 0.75, 0.75, 0.25],
         {"delta": 0.25, "window": 2}, "The rule is strict: a drop of exactly δ does not count."),
        ("H̃ rises, then falls (δ = 0.2, window = 3)", list(range(0, 1000, 100)),
         [0.5, 0.625, 0.75, 0.875, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5], {"delta": 0.2, "window": 3},
         "The onset is a fall of H̃, not a rise."),
        ("the first case as numpy arrays", np.array(steps), np.array(falling), {},
         "`steps` and `entropy` may be any sequences: lists or numpy arrays."),
    ]


def _onset(steps, h, delta, window, span=None, strict=True, fall=True, give="step"):
    span, h = window - 1 if span is None else span, [float(v) for v in h]
    for i in range(span, len(h)):
        drop = h[i - span] - h[i] if fall else h[i] - h[i - span]
        if drop > delta or (not strict and drop == delta):
            return int({"step": steps[i], "index": i, "start": steps[i - span]}[give])
    return None


def onset_mistakes(steps, h, delta=forecast.ONSET_DELTA, window=forecast.ONSET_WINDOW) -> tuple:
    def variant(**kwargs):
        return _onset(steps, h, delta, window, **kwargs)
    found = []
    if (delta, window) != (forecast.ONSET_DELTA, forecast.ONSET_WINDOW):
        found.append((_onset(steps, h, forecast.ONSET_DELTA, forecast.ONSET_WINDOW),
                      "you ignored the `delta` and `window` arguments (your answer is that of the defaults)."))
    found += [
        (variant(span=window), "your window spans window + 1 evaluations, H̃[i − window] − H̃[i]; the rule compares "
                               "H̃[i − window + 1] with H̃[i]."),
        (variant(strict=False), "a drop of exactly δ counts in your rule; the rule is strict: "
                                "H̃[i − window + 1] − H̃[i] > δ."),
        (variant(fall=False), "wrong sign: you detected a rise of H̃; the collapse onset is a fall."),
        (variant(give="index"), "you returned the evaluation index i; return its step, steps[i]."),
        (variant(give="start"), "you returned the window's first step, steps[i − window + 1]; the onset is steps[i], "
                                "the first step at which the fall can be known."),
    ]
    if window > 2:
        found.append((variant(span=window - 2), "your window spans window − 1 evaluations, H̃[i − window + 2] − H̃[i]; "
                                                "the rule compares H̃[i − window + 1] with H̃[i]."))
    if variant() is None:
        found += [(-1, "return None where there is no onset, not −1."),
                  (0, "return None where there is no onset, not 0 (0 is a step).")]
    return tuple(found)


def as_step(raw) -> tuple:
    """(the onset as an int or None, None), or (None, what is wrong with the answer's type)."""
    if raw is None:
        return None, None
    if isinstance(raw, torch.Tensor) and raw.numel() == 1 and not raw.is_floating_point():
        raw = raw.item()
    if isinstance(raw, (int, np.integer)) and not isinstance(raw, bool):
        return int(raw), None
    if isinstance(raw, (float, np.floating)) and float(raw).is_integer():
        return int(raw), None
    return None, f"returned {raw!r:.80} (a {type(raw).__name__}); return the onset's step (an int) or None."


# ------------------------------------------------------------------------------------------ Part IV


def _head(seed: int, n: int, d: int, classes: int, bias: bool = True, scale: float = 1.0):
    g = generator(seed)
    h = torch.randn(n, d, generator=g, dtype=torch.float64)
    w = scale * torch.randn(classes, d, generator=g, dtype=torch.float64)
    b = torch.randn(classes, generator=g, dtype=torch.float64) if bias else None
    return h, torch.randint(0, classes, (n,), generator=g), w, b


def flatness_inputs() -> list[tuple]:
    """(name, features, labels, weight, bias, base case, invariance, hint) of κ's check (Part IV)."""
    h1, y1, w1, b1 = _head(30, 40, 5, 3)
    h2, y2, w2, _ = _head(31, 30, 4, 6, bias=False)
    hs, ys, ws, bs = _head(32, 20, 4, 3, scale=300.0)
    perm = torch.randperm(40, generator=generator(33))
    first = "N = 40, d = 5, C = 3, with a bias"
    return [
        (first, h1, y1, w1, b1, None, "", ""),
        ("N = 30, d = 4, C = 6 (C > d), bias=None", h2, y2, w2, None, None, "",
         "With bias=None the logits are W h_i."),
        (f"{first}, h → 10·h and W → W/10", 10 * h1, y1, w1 / 10, b1, first,
         "the layer-wise rescaling h → c·h, W → W/c (the logits do not change)",
         "⟨w_s, w_s'⟩ absorbs 1/c² and the ‖h_i‖² in Tr H_{s,s'} absorbs c²."),
        (f"{first}, samples permuted", h1[perm], y1[perm], w1, b1, first, "the order of the samples", ""),
        ("a saturated softmax: logits of size ≈ 600 (N = 20, d = 4, C = 3)", hs, ys, ws, bs, None, "",
         "exp of a logit above 709 overflows float64 (inf/inf = NaN): compute p with torch.softmax, which subtracts "
         "the largest logit first."),
        (f"float32 inputs ({first})", h1.float(), y1, w1.float(), b1.float(), None, "", HINTS["float32"]),
    ]


@guarded
def kappa_mistakes(h, w, b) -> tuple:
    h, w = h.double(), w.double()

    def variant(norms=True, bias=True, what="kappa"):
        p = (h @ w.T + (b.double() if bias and b is not None else 0.0)).softmax(1)
        weights = (h**2).sum(1) if norms else torch.ones(len(h), dtype=torch.float64)
        t = ((torch.diag_embed(p) - p[:, :, None] * p[:, None, :]) * weights[:, None, None]).mean(0)
        g = w @ w.T
        return float({"kappa": (g * t).sum(), "diag": (g.diagonal() * t.diagonal()).sum(), "trace": t.trace(),
                      "bound": (w * w).sum() * t.trace()}[what])
    found = [
        (variant(norms=False), "you left out ‖h_i‖²: block (s, s') of the Hessian is (1/N) Σ_i (p_is δ_ss' − "
                               "p_is p_is') h_i h_iᵀ, whose trace carries ‖h_i‖²."),
        (variant(what="diag"), "you kept only the diagonal blocks s = s'; κ sums ⟨w_s, w_s'⟩ Tr H_{s,s'} over every "
                               "pair (s, s')."),
        (variant(what="trace"), "you returned Tr H, the trace of the whole last-layer Hessian; κ weights block "
                                "(s, s') by ⟨w_s, w_s'⟩."),
        (variant(what="bound"), "you returned ‖W‖²_F · Tr H, the upper bound of Lemma A.2 (`flatness_bound`), not κ."),
    ]
    if b is not None:
        found.append((variant(bias=False), "you ignored the bias: p_i = softmax(W h_i + b)."))
    return tuple(found)
