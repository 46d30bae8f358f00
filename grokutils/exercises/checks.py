"""One check per exercise of Parts I–IV: it calls the reader's function on small inputs and compares every answer
with the library's function (:mod:`grokutils.metrics`, :mod:`grokutils.forecast`); it never raises.

Each check runs random cases, invariance cases (a rescaling, a translation, a permutation of the samples that
must not change the value), degenerate cases (collapsed or zero features, a saturated softmax, a rank-one
covariance) and a float32 case, and names the likely mistake of a wrong answer; see
:mod:`grokutils.exercises.verdict` for the order of the diagnosis. The inputs are built in
:mod:`grokutils.exercises.cases`.
"""

from __future__ import annotations

import math

import torch

from grokutils import forecast
from grokutils.exercises import cases as inputs
from grokutils.exercises import robustness_cases as part2
from grokutils.exercises.verdict import (ATOL_FLOAT32, NOT_IMPLEMENTED, PASSED, RTOL_FLOAT32, WRONG, Case, Verdict,
                                         attempt, fmt, run)
from grokutils.metrics import collapse, flatness, robustness, spectral

_FLOAT32 = {"rtol": RTOL_FLOAT32, "atol": ATOL_FLOAT32}
_FEATURES = ("features", "labels")


def _collapse_cases(reference, mistakes, factors, names, hints: dict, translation: bool) -> list[Case]:
    """The cases of a metric of features and labels (Parts I and IV): ``names`` picks them by key."""
    cases = []
    for key, name, h, y, base, invariance in inputs.collapse_inputs():
        if key not in names or (key == "translated" and not translation):
            continue
        extra = _FLOAT32 if h.dtype == torch.float32 else {}
        cases.append(Case(name, (h, y), attempt(reference, h, y), factors=factors(h, y), mistakes=mistakes(h, y),
                          base=base, invariance=invariance, hint=hints.get(key, inputs.HINTS.get(key, "")), **extra))
    return cases


def check_rnc1(rnc1) -> Verdict:
    """Check the reader's ``rnc1(features, labels)`` against :func:`grokutils.metrics.collapse.rnc1`.

    Part I: Sato & Sakamoto 2025, RNC1 = tr Σ_W / s². Recognises: tr Σ_W not divided by s², division by the mean
    squared norm or by s, classes weighted equally, unbiased class variances, the spread around the global mean,
    a missing 1/N, NaN on zero features, lost scale or permutation invariance, labels not 0..K − 1."""
    hints = {"zero": "Every feature is 0, so s = 0 and tr Σ_W = 0: the convention is RNC1 = 0.0 (nothing to "
                     "collapse), not 0/0 = NaN. Return 0.0 when tr Σ_W = 0."}
    names = {"balanced", "four", "unbalanced", "wide", "labels", "scaled", "permuted", "collapsed", "zero", "float32"}
    cases = _collapse_cases(collapse.rnc1, inputs.rnc1_mistakes, lambda h, y: (
        (len(y), "N", "did you sum ‖h_i − μ_{y_i}‖² over the samples without the 1/N?"),), names, hints, False)
    return run("rnc1", rnc1, cases, _FEATURES, "grokutils.metrics.collapse.rnc1",
               sign_hint="RNC1 ≥ 0: a sum of squared distances over a squared norm.")


def check_nc1(nc1) -> Verdict:
    """Check the reader's ``nc1(features, labels)`` against :func:`grokutils.metrics.collapse.nc1`.

    Part I: Sato & Sakamoto 2025, the authors' NC1 = tr Σ_W / tr Σ_B. Recognises: the inverted ratio, classes
    weighted equally in tr Σ_B, μ_G as the mean of the class means, uncentred class means, Papyan's NC1, a factor
    N or 1/N, NaN when every feature is equal, no ``inf`` when the class means coincide, lost invariances."""
    hints = {"identical": "Every feature is the same, so tr Σ_W = 0 and tr Σ_B = 0: the convention is NC1 = 0.0 "
                          "(nothing to collapse), not 0/0 = NaN. Test tr Σ_W = 0 first.",
             "coincide": "Both class means are 0, so tr Σ_B = 0 while tr Σ_W = 1: NC1 is infinite. Return "
                         "`math.inf` (a Python float divided by 0.0 raises ZeroDivisionError)."}
    names = {"balanced", "four", "unbalanced", "wide", "labels", "scaled", "translated", "permuted", "collapsed",
             "identical", "coincide", "float32"}
    cases = _collapse_cases(collapse.nc1, inputs.nc1_mistakes, lambda h, y: (
        (len(y), "N", "did you sum ‖h_i − μ_{y_i}‖² over the samples without the 1/N (tr Σ_W is a mean)?"),
        (1 / len(y), "1/N", "did you weight tr Σ_B's classes by n_c instead of by their share n_c/N?")),
        names, hints, True)
    return run("nc1", nc1, cases, _FEATURES, "grokutils.metrics.collapse.nc1",
               sign_hint="NC1 ≥ 0: a ratio of two traces of covariances.")


def check_commutativity_penalty(commutativity_penalty) -> Verdict:
    """Check the reader's ``commutativity_penalty(model, tokens)`` against
    :func:`grokutils.metrics.robustness.commutativity_penalty`.

    Part II: Tan & Huang 2023, the abelian regulariser's penalty MSE(f(a, b), f(b, a)). Recognises: a float instead
    of a tensor, no gradient or a gradient through one order only, a sum over pairs or classes instead of the mean,
    the mean distance or absolute difference, softmax probabilities, the wrong columns swapped, a factor ½ or 2."""
    cases = []
    for name, model, tokens, base, invariance, hint, gradient in part2.penalty_inputs():
        expected = float(robustness.commutativity_penalty(model, tokens).detach())
        n, c = tokens.shape[0], model(tokens[:1]).shape[-1]
        factors = ((n * c, "N·C", "you summed over the pairs and the classes; the penalty is their mean "
                                  "(F.mse_loss's default reduction)."),
                   (c, "C", "you summed over the C classes and averaged over the pairs; average over both."),
                   (n, "N", "you summed over the N pairs; average over them."),
                   (0.5, "½", "you halved the mean squared difference."),
                   (2.0, "2", "you doubled the mean squared difference (both orders counted?)."))
        probe = part2.gradient_probe(model, tokens) if gradient else None
        cases.append(Case(name, (model, tokens), expected, factors=factors, mistakes=part2.penalty_mistakes(
            model, tokens), base=base, invariance=invariance, hint=hint, probe=probe))
    return run("commutativity_penalty", commutativity_penalty, cases, ("model", "tokens"),
               "grokutils.metrics.robustness.commutativity_penalty", convert=part2.as_penalty,
               sign_hint="The penalty is a mean of squares, ≥ 0.")


def check_perturbation_error(perturbation_error) -> Verdict:
    """Check the reader's ``perturbation_error(model, x, sigma, generator=None)`` against
    :func:`grokutils.metrics.robustness.perturbation_error`.

    Part II: Tan & Huang 2023, E ‖f(x + ε) − f(x)‖², ε ~ N(0, σ² I). Draw for draw with the same generator first;
    if that fails for no known reason, in expectation on a linear model (σ²‖W‖²_F, within 5 standard errors).
    Recognises: the norm not squared, the noise scaled by σ², √σ or not at all, an average over the outputs or a
    sum over the inputs, an ignored generator, a changed input, NaN."""
    argnames = ("model", "x", "sigma")
    cases = []
    for name, model, x, sigma, seed, hint in part2.perturbation_inputs():
        expected = robustness.perturbation_error(model, x, sigma, generator=inputs.generator(seed))
        extra = _FLOAT32 if x.dtype == torch.float32 else {}
        c = model(x[:1]).flatten(1).shape[1]
        factors = ((1 / c, "1/C", "you averaged over the C outputs too (F.mse_loss); the perturbation error sums the "
                                  "squares over the outputs and averages over the inputs."),
                   (x.shape[0], "N", "you summed over the N inputs; average over them."))
        cases.append(Case(name, (model, x, sigma), expected, {"generator": inputs.generator(seed)}, factors,
                          part2.perturbation_mistakes(model, x, sigma, seed), hint=hint, **extra))
    reference = "grokutils.metrics.robustness.perturbation_error"
    verdict = run("perturbation_error", perturbation_error, cases, argnames, reference,
                  sign_hint="The perturbation error is a mean of squared norms, ≥ 0.")
    if verdict.passed or verdict.status == NOT_IMPLEMENTED or verdict.recognised:
        return verdict
    (_, model, x, sigma, seed, _), *_ = part2.perturbation_inputs()
    first = attempt(perturbation_error, model, x, sigma, inputs.generator(seed))
    again = attempt(perturbation_error, model, x, sigma, inputs.generator(seed))
    if first is not None and again is not None and first != again:
        return Verdict("perturbation_error", WRONG, (
            f"your function ignores `generator`: two calls with generators in the same state gave {fmt(first)} and "
            f"{fmt(again)}. Draw ε with `torch.randn(x.shape, generator=generator, dtype=x.dtype)`."), verdict.details,
            verdict.inputs)
    case, tolerance = part2.expectation_case()
    expectation = run("perturbation_error", perturbation_error, [case], argnames, "σ²‖W‖²_F", tolerance=tolerance)
    if expectation.passed:
        return Verdict("perturbation_error", PASSED, (
            "your values agree in expectation (a linear model, 20,000 inputs: within 5 standard errors of σ²‖W‖²_F) "
            "but not draw for draw: the reference draws ε = σ·torch.randn(x.shape, generator=generator, "
            "dtype=x.dtype) in one call, and so would match exactly."), (f"draw for draw: {verdict.summary}",))
    return Verdict("perturbation_error", WRONG, expectation.summary, expectation.details + (
        f"draw for draw, the first case fails too: {verdict.summary}",), expectation.inputs, expectation.recognised)


def check_spectral_entropy(spectral_entropy) -> Verdict:
    """Check the reader's ``spectral_entropy(features)`` against :func:`grokutils.metrics.spectral.spectral_entropy`.

    Part III: Khanh et al. 2026, H̃ = −Σ p_i log(p_i + 1e-12) / log d. Recognises: no division by log d (natural
    or base-2 logarithm), log n instead of log d, features not centred, singular values or the diagonal of Σ
    instead of its eigenvalues, the sign, NaN on a rank-deficient covariance (0·log 0) or for d = 1, lost
    translation, scale or rotation invariance."""
    cases = []
    for name, z, base, invariance, hint in inputs.spectral_inputs():
        d = z.shape[1]
        factors = () if d == 1 else (
            (math.log(d), "log d", "you forgot to divide by log d: the normalised entropy H̃ lies in [0, 1]."),
            (math.log2(d), "log₂ d", "you used the base-2 entropy −Σ p log₂ p without dividing by log₂ d; once "
                                     "normalised, H̃ is the same in every base."))
        extra = _FLOAT32 if z.dtype == torch.float32 else {}
        cases.append(Case(name, (z,), spectral.spectral_entropy(z), factors=factors,
                          mistakes=inputs.entropy_mistakes(z), base=base, invariance=invariance, hint=hint, **extra))
    return run("spectral_entropy", spectral_entropy, cases, ("features",),
               "grokutils.metrics.spectral.spectral_entropy",
               sign_hint="H̃ = −Σ p_i log p_i / log d ≥ 0: did you drop the minus sign?")


def check_collapse_onset(collapse_onset) -> Verdict:
    """Check the reader's ``collapse_onset(steps, entropy, delta=0.02, window=5)`` against
    :func:`grokutils.forecast.collapse_onset` (exact agreement: a step or None).

    Part III: Khanh et al. 2026, the first evaluation i with H̃[i − window + 1] − H̃[i] > δ. Recognises: a window
    one evaluation too long or too short, ≥ instead of >, a rise instead of a fall, the index or the window's first
    step instead of steps[i], the arguments ignored, −1 or 0 instead of None, a curve shorter than the window."""
    cases = []
    for name, steps, h, kwargs, hint in inputs.onset_inputs():
        expected = forecast.collapse_onset(steps, h, **kwargs)
        cases.append(Case(name, (steps, h), expected, dict(kwargs), mistakes=inputs.onset_mistakes(
            steps, h, **kwargs), hint=hint))
    return run("collapse_onset", collapse_onset, cases, ("steps", "entropy"), "grokutils.forecast.collapse_onset",
               convert=inputs.as_step, compare=lambda a, b, rtol, atol: a == b and type(a) is type(b),
               tolerance="exact agreement: the same step, or None")


def check_relative_flatness(relative_flatness) -> Verdict:
    """Check the reader's ``relative_flatness(features, labels, weight, bias=None)`` against
    :func:`grokutils.metrics.flatness.relative_flatness_closed_form`.

    Part IV: Han et al. 2025 (Definition 3.2, after Petzka et al. 2021), κ = Σ_{s,s'} ⟨w_s, w_s'⟩ Tr H_{s,s'} for
    softmax cross-entropy. Recognises: the sign of p_s δ_ss' − p_s p_s', ‖h_i‖² left out, diagonal blocks only,
    Tr H or ‖W‖²_F · Tr H instead of κ, the bias ignored, a sum over samples or a mean over the C² blocks, NaN from
    a softmax that overflows, lost invariance to h → c·h, W → W/c or to the order of the samples."""
    cases = []
    for name, h, y, w, b, base, invariance, hint in inputs.flatness_inputs():
        extra = _FLOAT32 if h.dtype == torch.float32 else {}
        factors = ((h.shape[0], "N", "you summed over the samples; Tr H_{s,s'} averages over them (the loss is a "
                                     "mean)."),
                   (1 / w.shape[0] ** 2, "1/C²", "you averaged over the C² blocks (s, s'); κ sums over them."))
        cases.append(Case(name, (h, y, w, b), flatness.relative_flatness_closed_form(h, y, w, b), factors=factors,
                          mistakes=inputs.kappa_mistakes(h, w, b), base=base, invariance=invariance, hint=hint,
                          **extra))
    return run("relative_flatness", relative_flatness, cases, ("features", "labels", "weight", "bias"),
               "grokutils.metrics.flatness.relative_flatness_closed_form", sign_hint=(
                   "κ ≥ 0: W Wᵀ and the matrix of the Tr H_{s,s'} are both positive semi-definite. Check the sign "
                   "of p_is δ_ss' − p_is p_is': the Hessian of cross-entropy in the logits is diag(p) − p pᵀ."))


_NCC_NAN = "Did you include the pairs c = c' (‖μ_c − μ_c‖² = 0: a division by zero)? The sum runs over c ≠ c' only."
_NCC_NAMES = {"balanced", "four", "unbalanced", "labels", "scaled", "translated", "permuted", "collapsed", "float32"}


def check_ncc(ncc) -> Verdict:
    """Check the reader's ``ncc(features, labels)`` (the paper's sum form) against
    :func:`grokutils.metrics.collapse.ncc`.

    Part IV: Han et al. 2025, Definition 3.1, Σ_{c≠c'} (V_c + V_c') / (2‖μ_c − μ_c'‖²) with V_c summed over class
    c. Recognises: V_c averaged (the authors' form), the averaged form itself, unordered pairs, an average over
    pairs, the 2 dropped, unsquared distances, NaN from the pairs c = c', lost invariances."""
    def factors(h, y):
        k, n = len(y.unique()), len(y) / len(y.unique())
        return ((1 / n, "1/n_c", "you averaged V_c over the class (V̄_c, the authors' code); Definition 3.1 sums: "
                                 "V_c = Σ_{x∈D_c} ‖φ(x) − μ_c‖²."),
                (1 / (n * k * (k - 1)), "1/(n_c·K(K − 1))", "that is the authors' averaged form (`ncc_mean`); "
                                                            "Definition 3.1 sums V_c over the class and the pairs."),
                (0.5, "½", "you summed over the unordered pairs c < c'; Definition 3.1 sums over the ordered pairs "
                           "c ≠ c', so each pair counts twice."),
                (1 / (k * (k - 1)), "1/(K(K − 1))", "you averaged over the K(K − 1) ordered class pairs; the sum "
                                                    "form sums over them."),
                (2.0, "2", "you dropped the 2 in the denominator 2‖μ_c − μ_c'‖²."))
    cases = _collapse_cases(collapse.ncc, inputs.ncc_mistakes(averaged=False), factors, _NCC_NAMES, {}, True)
    return run("ncc", ncc, cases, _FEATURES, "grokutils.metrics.collapse.ncc",
               sign_hint="NCC ≥ 0: a sum of variances over squared distances.", nan_hint=_NCC_NAN)


def check_ncc_mean(ncc_mean) -> Verdict:
    """Check the reader's ``ncc_mean(features, labels)`` (the authors' averaged form) against
    :func:`grokutils.metrics.collapse.ncc_mean`.

    Part IV: Han et al. 2025, the authors' code, the mean over ordered pairs c ≠ c' of
    (V̄_c + V̄_c') / (2‖μ_c − μ_c'‖²). Recognises: a sum over the pairs (K(K − 1) times the reference), a sum over
    unordered pairs, the paper's sum form, V_c summed over the class, the 2 dropped, NaN, lost invariances."""
    def factors(h, y):
        k, n = len(y.unique()), len(y) / len(y.unique())
        return ((k * (k - 1), "K(K − 1)", "did you sum over the ordered class pairs instead of averaging over them?"),
                (k * (k - 1) / 2, "K(K − 1)/2", "did you sum over the unordered pairs c < c' instead of averaging?"),
                (n * k * (k - 1), "n_c·K(K − 1)", "that is the paper's sum form (`ncc`, Definition 3.1): V_c summed "
                                                  "over the class and the terms summed over the pairs."),
                (n, "n_c", "you summed V_c over the class; the averaged form uses V̄_c = (1/n_c) Σ_{x∈D_c} "
                           "‖φ(x) − μ_c‖²."),
                (2.0, "2", "you dropped the 2 in the denominator 2‖μ_c − μ_c'‖²."))
    cases = _collapse_cases(collapse.ncc_mean, inputs.ncc_mistakes(averaged=True), factors, _NCC_NAMES, {}, True)
    return run("ncc_mean", ncc_mean, cases, _FEATURES, "grokutils.metrics.collapse.ncc_mean",
               sign_hint="NCC ≥ 0: a mean of variances over squared distances.", nan_hint=_NCC_NAN)
