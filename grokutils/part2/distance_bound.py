"""Theorem 3.2, Corollaries 3.3 and 3.4 and Figure 3 of Tan & Huang (2023), "Grokking through a robustness
viewpoint", §3.1: a test accuracy lower bound from test→train distances and the weight norm.

The paper's inline mathematics was lost in extraction; the statements below are reconstructed from the
words, the proof sketch of Theorem A.1 and Lemma 3.1's source (Ma & Ying 2021). **Reconstructed** means:
the logic is the paper's, the exact constants are ours and are exposed as arguments.

Lemma 3.1 (per-point form). MSE loss L(θ) = (1/2n) Σᵢ ‖f(xᵢ; θ) − yᵢ‖², θ interpolating (f(xᵢ) = yᵢ, one-hot).
The first-layer identity ∂f/∂W₁ = (∂f/∂h₁) xᵀ gives ‖∇ₓf(xᵢ)‖ ≤ ‖W₁‖₂ ‖∂f(xᵢ)/∂W₁‖_F / ‖xᵢ‖, and at
interpolation tr ∇²L = (1/n) Σᵢ ‖∂f(xᵢ)/∂θ‖_F², so  maxᵢ ‖∇ₓf(xᵢ)‖ ≤ G := κ ‖W₁‖₂  with
κ = √(n · tr ∇²L) / minᵢ ‖xᵢ‖  (:func:`lemma31_scale`).

Theorem 3.2. If moreover ∇ₓf is L-Lipschitz in x, a test point x′ with a training point xᵢ at distance
δ ≤ r(θ) has ‖f(x′) − yᵢ‖₂ ≤ Gδ + Lδ²/2 ≤ m, where r(θ) is the positive root of G r + L r²/2 = m:

    r(θ) = 2m / (G + √(G² + 2Lm)),   G = κ ‖θ‖       (= m / (κ‖θ‖) when L = 0)

with ‖θ‖ = ‖W₁‖₂ (Theorem 3.2) or ‖θ‖₂ (Corollary 3.4), and m < 1/√2 (for one-hot targets ‖e‖₂ < 1/√2
⇒ argmax(y + e) = argmax y). So x′ gets xᵢ's label and the test accuracy is at least ρ(r(θ)),
ρ(r) = P(d(x′) ≤ r), d(x′) = minᵢ ‖x′ − xᵢ‖ (the "neighbouring probability"). r falls as ‖θ‖ grows: the
bound rises as the norm decays. The paper leaves implicit that the neighbour must share x′'s label;
``agree`` (nearest neighbour's label = true label) makes it explicit.

Corollary 3.3. With a norm-decay model ‖θ_t‖ and a half-normal distance model d ~ |N(0, μ²)|
(the text: "a normal distribution of variance [μ²] ... the distance is non-negative"):
accuracy_t ≥ ρ(r(θ_t)) = erf(r(θ_t) / (√2 μ)).

Corollary 3.4 (weight decay). ‖W₁‖₂ ≤ ‖W₁‖_F ≤ ‖vec θ‖₂, the norm weight decay penalises; r computed with
‖θ‖₂ in place of ‖W₁‖₂ is smaller, so the bound still holds. The book stores this ‖θ‖₂ (``weight_norm``).

**Guesses.** (1) The form of r(θ) above. (2) The margin m (lost; default 1/2, any m < 1/√2 is valid).
(3) L cannot be recovered and for ReLU networks ∇ₓf is piecewise constant, not Lipschitz across activation
boundaries; L = 0 (the default) is the optimistic in-region value. (4) κ needs tr ∇²L, which the paper
does not give for Figure 3: it is an explicit argument. (5) Figure 3: a = 1925, b = 500, μ = 1/100,
T = 10⁵ steps. μ is read as the half-normal's scale. The norm-decay *form* is lost; the default reading
is ‖θ_t‖ = a / (1 + t/b) with r_t = 1/‖θ_t‖ (every constant of r set to 1, in the paper's unknown units).
Of four simple forms (``NORM_FORMS``) 'linear' stays at 0.04-0.06, 'exponential' and 'log-linear' reach 1
before 10⁴ steps; 'hyperbolic' rises latest (0.5 at 6×10³, 0.9 at 1.6×10⁴ steps), nearest to MNIST's
grokking: it was picked to look like the figure and is no evidence for the theorem.

**Fixing κ without the test accuracy** (the book's rule: a verdict's inputs are never tuned on what it
judges). The proof's own inequality, applied between two training points of different labels at
distance δ (‖yᵢ − yⱼ‖₂ = √2 at interpolation), forces Gδ + Lδ²/2 ≥ √2. So the training set alone bounds G
from below by g_min (from δ_diff, the smallest between-class training distance) and every admissible
constant gives r ≤ r_max = 2m / (g_min + √(g_min² + 2Lm)) (:func:`largest_admissible_radius`; L = 0:
r_max = m δ_diff / √2; over every L: δ_diff √(m/√2)). We use the smallest admissible constant κ,
g_min / min_t ‖θ_t‖ (:func:`train_consistent_scale`): the most optimistic bound the training data allow at
that L, so a vacuous result is vacuous for every admissible κ (and, if ρ(r_max) ≤ chance with
``lipschitz=None``, for every L too). :func:`critical_scale` (the κ at which the empirical bound first
exceeds chance) is a diagnostic only, never a verdict input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erf

#: Figure 3's constants as read: the norm-decay model's a and b, the half-normal scale μ, the steps T.
PAPER_A, PAPER_B, PAPER_MU, PAPER_STEPS = 1925.0, 500.0, 0.01, 100_000
#: The largest margin m for which ‖f(x′) − yᵢ‖₂ ≤ m < 1/√2 fixes the argmax (one-hot targets).
MAX_MARGIN = 1.0 / math.sqrt(2.0)
DEFAULT_MARGIN = 0.5
#: ‖yᵢ − yⱼ‖₂ between two one-hot targets of different classes.
ONE_HOT_SEPARATION = math.sqrt(2.0)
#: Readings of Corollary 3.3's norm-decay model ‖θ_t‖ (a, b, T); the first is the default (a guess).
NORM_FORMS = {
    "hyperbolic": lambda t, a, b, T: a / (1.0 + t / b),
    "exponential": lambda t, a, b, T: a * np.exp(-t / b),
    "log-linear": lambda t, a, b, T: a - b * np.log10(np.maximum(t, 1.0)),
    "linear": lambda t, a, b, T: a - b * t / T,
}
CHUNK = 1024


# Input checks


def _array(function: str, name: str, value, ndim: int | None = None, nonnegative: bool = False) -> np.ndarray:
    """``value`` as a non-empty, finite float64 array (torch tensors accepted)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{function}: {name} must be an array of numbers, got {type(value).__name__}.") from None
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{function}: {name} has shape {array.shape}; expected {ndim} dimension(s).")
    if array.size == 0:
        raise ValueError(f"{function}: {name} is empty (shape {array.shape}); expected at least one value.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{function}: {name} holds NaN or infinite values; expected finite numbers.")
    if nonnegative and array.min() < 0:
        raise ValueError(f"{function}: {name} has a negative value ({array.min():g}); expected values ≥ 0.")
    return array


def _number(function: str, name: str, value, low: float = 0.0, high: float = math.inf, open_low=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{function}: {name}={value!r} is not allowed; expected a number.")
    value = float(value)
    if not (math.isfinite(value) and (value > low if open_low else value >= low) and value <= high):
        bounds = f"{'(' if open_low else '['}{low:g}, {high:g}]"
        raise ValueError(f"{function}: {name}={value!r} is not allowed; expected a finite number in {bounds}.")
    return value


def _margin(function: str, margin) -> float:
    value = _number(function, "margin", margin, open_low=True)
    if value >= MAX_MARGIN:
        raise ValueError(f"{function}: margin={margin!r} is not allowed; expected 0 < margin < 1/√2 ≈ 0.7071.")
    return value


def _classes(function: str, num_classes) -> int:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"{function}: num_classes={num_classes!r} is not allowed; expected an integer ≥ 2.")
    return int(num_classes)


def _points(function: str, name: str, value) -> np.ndarray:
    array = _array(function, name, value)
    if array.ndim < 2:
        raise ValueError(f"{function}: {name} has shape {array.shape}; expected (N, ...) with one row per "
                         "input (flattened to N × D).")
    return array.reshape(len(array), -1)


def _mask(function: str, name: str, value, length: int) -> np.ndarray:
    mask = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
    if mask.dtype != bool or mask.shape != (length,):
        raise ValueError(f"{function}: {name} must be a boolean array of shape ({length},), got dtype "
                         f"{mask.dtype} and shape {mask.shape}.")
    return mask


# Distances and the neighbouring probability ρ(r)


def nearest_train_distances(x_test, x_train, *, chunk_size: int = CHUNK, return_index: bool = False):
    """d(x′) = minᵢ ‖x′ − xᵢ‖₂ for every test input (flattened), in float64, ``chunk_size`` test rows at a
    time (memory: chunk_size × N_train numbers). The nearest index comes from the Gram expansion and the
    distance is then recomputed from the difference itself, so a duplicated point gives exactly 0.
    Returns the distances, or ``(distances, indices)`` with ``return_index``."""
    test, train = _points("nearest_train_distances", "x_test", x_test), _points("nearest_train_distances",
                                                                                 "x_train", x_train)
    if test.shape[1] != train.shape[1]:
        raise ValueError(f"nearest_train_distances: x_test has {test.shape[1]} features per input and x_train "
                         f"{train.shape[1]}; expected the same number.")
    chunk_size = int(_number("nearest_train_distances", "chunk_size", chunk_size, 1))
    train_sq = np.einsum("ij,ij->i", train, train)
    index, distances = np.empty(len(test), dtype=np.int64), np.empty(len(test))
    for start in range(0, len(test), chunk_size):
        block = test[start:start + chunk_size]
        nearest = np.argmin(train_sq[None, :] - 2.0 * block @ train.T, axis=1)
        index[start:start + len(block)] = nearest
        distances[start:start + len(block)] = np.linalg.norm(block - train[nearest], axis=1)
    return (distances, index) if return_index else distances


def between_class_distance(x_train, y_train, *, chunk_size: int = CHUNK) -> float:
    """δ_diff = min ‖xᵢ − xⱼ‖₂ over training pairs with different labels (sets :func:`train_consistent_scale`)."""
    x = _points("between_class_distance", "x_train", x_train)
    y = _array("between_class_distance", "y_train", y_train, ndim=1)
    if len(y) != len(x):
        raise ValueError(f"between_class_distance: {len(x)} inputs but {len(y)} labels; expected as many.")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("between_class_distance: y_train holds a single class; expected at least two.")
    return float(min(nearest_train_distances(x[y == c], x[y != c], chunk_size=chunk_size).min() for c in classes))


def neighbouring_probability(distances, r, *, agree=None):
    """Empirical ρ(r) = (1/N) #{x′ : d(x′) ≤ r} (§3.1), vectorised over ``r`` (same shape back; a float for a
    scalar). With ``agree`` (boolean, per test point: its nearest training point has its label), only
    agreeing points count: the fraction Theorem 3.2 actually certifies."""
    d = _array("neighbouring_probability", "distances", distances, ndim=1, nonnegative=True)
    radii = np.asarray(r, dtype=np.float64)
    if radii.size == 0 or np.isnan(radii).any() or (radii < 0).any():
        raise ValueError(f"neighbouring_probability: r={r!r} is not allowed; expected non-empty values ≥ 0 "
                         "(+inf allowed).")
    counted = d if agree is None else d[_mask("neighbouring_probability", "agree", agree, len(d))]
    rho = np.searchsorted(np.sort(counted), radii, side="right") / len(d)
    return float(rho) if rho.ndim == 0 else rho


def half_normal_probability(r, scale: float):
    """The paper's distance model (Corollary 3.3): d ~ |N(0, μ²)|, ρ(r) = P(d ≤ r) = erf(r / (√2 μ))."""
    scale = _number("half_normal_probability", "scale", scale, open_low=True)
    radii = np.asarray(r, dtype=np.float64)
    if radii.size == 0 or np.isnan(radii).any() or (radii < 0).any():
        raise ValueError(f"half_normal_probability: r={r!r} is not allowed; expected non-empty values ≥ 0.")
    rho = erf(radii / (math.sqrt(2.0) * scale))
    return float(rho) if rho.ndim == 0 else rho


def fit_half_normal_scale(distances) -> float:
    """Maximum-likelihood μ of the half-normal model on measured distances: √(mean d²)."""
    d = _array("fit_half_normal_scale", "distances", distances, ndim=1, nonnegative=True)
    return float(np.sqrt(np.mean(d * d)))


# r(θ) and its constants


def radius(weight_norms, *, scale, lipschitz: float = 0.0, margin: float = DEFAULT_MARGIN):
    """Theorem 3.2's r(θ) = 2m / (G + √(G² + 2Lm)), G = κ‖θ‖ (``scale`` κ: a number or an array like the
    norms); decreasing in ‖θ‖; +inf where G = L = 0."""
    norms = _array("radius", "weight_norms", weight_norms, nonnegative=True)
    kappa = _array("radius", "scale", scale, nonnegative=True)
    lipschitz = _number("radius", "lipschitz", lipschitz)
    margin = _margin("radius", margin)
    try:
        np.broadcast_shapes(kappa.shape, norms.shape)
    except ValueError:
        raise ValueError(f"radius: scale has shape {kappa.shape} and weight_norms {norms.shape}; expected a "
                         "number or an array of the norms' shape.") from None
    g = kappa * norms
    with np.errstate(divide="ignore"):
        return 2.0 * margin / (g + np.sqrt(g * g + 2.0 * lipschitz * margin))


def lemma31_scale(trace_hessian, num_train: int, min_input_norm: float):
    """κ = √(n · tr ∇²L) / minᵢ ‖xᵢ‖ (Lemma 3.1, loss (1/2n) Σ ‖f − y‖²; for (1/n) Σ ‖f − y‖² pass tr / 2):
    then G = κ ‖W₁‖₂ ≤ κ ‖θ‖₂ bounds every training input-gradient. A number or one per step."""
    trace = _array("lemma31_scale", "trace_hessian", trace_hessian, nonnegative=True)
    n = _number("lemma31_scale", "num_train", num_train, 1)
    norm = _number("lemma31_scale", "min_input_norm", min_input_norm, open_low=True)
    return np.sqrt(n * trace) / norm


def _gradient_floor(between_class: float, lipschitz: float) -> float:
    """g_min: the smallest G with G δ + L δ² / 2 ≥ √2 at δ = δ_diff."""
    return max((ONE_HOT_SEPARATION - lipschitz * between_class ** 2 / 2.0) / between_class, 0.0)


def largest_admissible_radius(between_class: float, *, lipschitz: float | None = 0.0,
                              margin: float = DEFAULT_MARGIN) -> float:
    """r_max = 2m / (g_min + √(g_min² + 2Lm)): no constant consistent with the training set gives a larger
    r(θ), whatever κ or the norm (L = 0: m δ_diff / √2). ``lipschitz=None``: the largest over every L ≥ 0,
    δ_diff √(m / √2), reached at L = 2√2 / δ_diff². ρ(r_max) caps the bound."""
    delta = _number("largest_admissible_radius", "between_class", between_class, open_low=True)
    margin = _margin("largest_admissible_radius", margin)
    if lipschitz is None:
        return delta * math.sqrt(margin / ONE_HOT_SEPARATION)
    lipschitz = _number("largest_admissible_radius", "lipschitz", lipschitz)
    g = _gradient_floor(delta, lipschitz)
    return math.inf if g == 0 and lipschitz == 0 else 2.0 * margin / (g + math.sqrt(g * g + 2 * lipschitz * margin))


def train_consistent_scale(between_class: float, weight_norms, *, lipschitz: float = 0.0) -> float:
    """The smallest constant κ that the training set admits at every step of ``weight_norms`` (pass the
    interpolating steps only): g_min / min_t ‖θ_t‖. The most optimistic bound; no test data used."""
    delta = _number("train_consistent_scale", "between_class", between_class, open_low=True)
    norms = _array("train_consistent_scale", "weight_norms", weight_norms, ndim=1, nonnegative=True)
    lipschitz = _number("train_consistent_scale", "lipschitz", lipschitz)
    if norms.min() == 0:
        raise ValueError("train_consistent_scale: weight_norms has a zero norm; expected positive norms.")
    return _gradient_floor(delta, lipschitz) / float(norms.min())


def critical_scale(weight_norms, distances, num_classes: int, *, lipschitz: float = 0.0,
                   margin: float = DEFAULT_MARGIN, agree=None) -> float:
    """Diagnostic: the largest κ for which the empirical bound exceeds chance (1/num_classes) at some step
    (at the smallest norm). NaN when no κ ≥ 0 does. Compare with :func:`train_consistent_scale`: if it is
    smaller, every admissible constant leaves the bound at or below chance. Never a verdict input."""
    norms = _array("critical_scale", "weight_norms", weight_norms, ndim=1, nonnegative=True)
    d = _array("critical_scale", "distances", distances, ndim=1, nonnegative=True)
    classes = _classes("critical_scale", num_classes)
    lipschitz, margin = _number("critical_scale", "lipschitz", lipschitz), _margin("critical_scale", margin)
    counted = np.sort(d if agree is None else d[_mask("critical_scale", "agree", agree, len(d))])
    needed = math.floor(len(d) / classes) + 1  # ρ(r) > 1/C needs this many points within r
    if needed > len(counted):
        return math.nan
    q, w = float(counted[needed - 1]), float(norms.min())
    slack = margin - lipschitz * q * q / 2.0
    if slack < 0:
        return math.nan
    return math.inf if q == 0 or w == 0 else slack / (w * q)


# The predicted accuracy (Theorem 3.2 / Corollary 3.3) and Figure 3


@dataclass(frozen=True)
class PredictedAccuracy:
    """The lower bound along a run: ``radius`` r(θ_t), ``empirical`` ρ̂(r_t) from the measured distances,
    ``half_normal`` the paper's model erf(r_t / (√2 μ)) with μ = ``half_normal_scale``."""

    radius: np.ndarray
    empirical: np.ndarray
    half_normal: np.ndarray
    half_normal_scale: float


def predicted_accuracy(weight_norms, distances, *, scale, lipschitz: float = 0.0, margin: float = DEFAULT_MARGIN,
                       half_normal_scale: float | None = None, agree=None) -> PredictedAccuracy:
    """Theorem 3.2 / Corollary 3.3 along a run: accuracy_t ≥ ρ(r(θ_t)) from the measured norms ‖θ_t‖, for
    the empirical ρ̂ and the half-normal model (μ fitted to ``distances`` by maximum likelihood unless
    given). Only steps where the network interpolates satisfy the theorem's hypothesis."""
    norms = _array("predicted_accuracy", "weight_norms", weight_norms, ndim=1, nonnegative=True)
    d = _array("predicted_accuracy", "distances", distances, ndim=1, nonnegative=True)
    r = radius(norms, scale=scale, lipschitz=lipschitz, margin=margin)
    mu = fit_half_normal_scale(d) if half_normal_scale is None else half_normal_scale
    return PredictedAccuracy(r, np.asarray(neighbouring_probability(d, r, agree=agree)),
                             np.asarray(half_normal_probability(r, mu)), float(mu))


@dataclass(frozen=True)
class PaperCurve:
    """Figure 3 as read: ``norms`` ‖θ_t‖ of the norm-decay model, ``radius`` r_t = 1/‖θ_t‖ (+inf once the
    model's norm reaches 0), ``accuracy`` erf(r_t / (√2 μ))."""

    steps: np.ndarray
    norms: np.ndarray
    radius: np.ndarray
    accuracy: np.ndarray
    form: str


def paper_figure3(steps=None, *, a: float = PAPER_A, b: float = PAPER_B, mu: float = PAPER_MU,
                  num_steps: int = PAPER_STEPS, form: str = "hyperbolic") -> PaperCurve:
    """Corollary 3.3's predicted curve with the paper's constants (a reading, see the module docstring):
    ‖θ_t‖ = NORM_FORMS[form](t, a, b, T), r_t = 1/‖θ_t‖, accuracy_t = erf(r_t / (√2 μ)). ``steps``
    defaults to 200 log-spaced steps in [1, T]."""
    if form not in NORM_FORMS:
        raise ValueError(f"paper_figure3: form={form!r} is not allowed; expected one of {sorted(NORM_FORMS)}.")
    a, b = _number("paper_figure3", "a", a, open_low=True), _number("paper_figure3", "b", b, open_low=True)
    mu = _number("paper_figure3", "mu", mu, open_low=True)
    total = _number("paper_figure3", "num_steps", num_steps, 1)
    t = np.unique(np.round(np.geomspace(1, total, 200))) if steps is None else _array(
        "paper_figure3", "steps", steps, ndim=1, nonnegative=True)
    norms = NORM_FORMS[form](t, a, b, total)
    r = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-300), math.inf)
    return PaperCurve(t, norms, r, erf(r / (math.sqrt(2.0) * mu)), form)


# Is the bound informative? (the Figure 3 verdict's inputs)


@dataclass(frozen=True)
class BoundSummary:
    """One run's bound against chance and the measured test accuracy, over the steps where the theorem's
    hypothesis holds. ``largest_gap`` = max(measured − bound); ``largest_violation`` = max(bound − measured)
    (> tol: not a lower bound there). ``first_*``: the first step where the bound exceeds chance / measured."""

    chance: float
    steps_used: int
    exceeds_chance: bool
    first_step_above_chance: int | None
    exceeds_measured: bool
    first_step_above_measured: int | None
    largest_gap: float
    largest_violation: float

    @property
    def vacuous(self) -> bool:
        return not self.exceeds_chance

    @property
    def valid(self) -> bool:
        return not self.exceeds_measured

    @property
    def informative(self) -> bool:
        """Valid and non-vacuous."""
        return self.valid and not self.vacuous


def summarise_bound(steps, bound, measured, num_classes: int, *, where=None, tol: float = 0.0) -> BoundSummary:
    """:class:`BoundSummary` of a predicted-accuracy series ``bound`` against the ``measured`` test accuracy
    at ``steps``, over the steps selected by ``where`` (boolean; e.g. train accuracy 1: interpolation)."""
    t = _array("summarise_bound", "steps", steps, ndim=1, nonnegative=True)
    lower = _array("summarise_bound", "bound", bound, ndim=1, nonnegative=True)
    real = _array("summarise_bound", "measured", measured, ndim=1, nonnegative=True)
    if not len(t) == len(lower) == len(real):
        raise ValueError(f"summarise_bound: steps, bound and measured have lengths {len(t)}, {len(lower)}, "
                         f"{len(real)}; expected equal lengths.")
    if lower.max() > 1 or real.max() > 1:
        raise ValueError("summarise_bound: bound and measured are accuracies; expected values in [0, 1].")
    classes = _classes("summarise_bound", num_classes)
    tol = _number("summarise_bound", "tol", tol)
    if where is not None:
        keep = _mask("summarise_bound", "where", where, len(t))
        if not keep.any():
            raise ValueError("summarise_bound: where selects no step; expected at least one.")
        t, lower, real = t[keep], lower[keep], real[keep]
    chance = 1.0 / classes
    above, invalid = lower > chance, lower > real + tol
    return BoundSummary(chance, len(t), bool(above.any()), int(t[above][0]) if above.any() else None,
                        bool(invalid.any()), int(t[invalid][0]) if invalid.any() else None,
                        float(np.max(real - lower)), float(np.max(lower - real)))


def is_vacuous(bound, num_classes: int) -> bool:
    """True when the predicted accuracy never exceeds chance, 1/num_classes."""
    lower = _array("is_vacuous", "bound", bound, nonnegative=True)
    return not bool((lower > 1.0 / _classes("is_vacuous", num_classes)).any())
